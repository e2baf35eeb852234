"""What the frozen bundle leaves out: the files PyInstaller's hooks bring that the app never loads.

`prune_bundle` removes the BUNDLE_DROPS entries and then only the libraries that nothing kept still links,
read from the real ELF files of the installed PySide6 (the same DT_NEEDED lists PyInstaller follows).
The full build and its size budget are checked by `packaging/linux/check-frozen.sh` in `.ci/run`.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bundle_contents", ROOT / "packaging" / "bundle_contents.py")
contents = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(contents)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads ELF files of the Linux wheel")


def _readelf_needed(path: str) -> set[str]:
    """DT_NEEDED of one ELF file, read by binutils (not by the code under test)."""
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    return {line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line}


def _pyside_entries() -> list[tuple[str, str, str]]:
    """TOC entries as PyInstaller would make them for PySide6's Qt libraries and a few plugins."""
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    entries = []
    for rel in ("plugins/platforms/libqxcb.so", "plugins/platforms/libqeglfs.so",
                "plugins/platforms/libqoffscreen.so", "plugins/egldeviceintegrations/libqeglfs-kms-integration.so"):
        if (qt / rel).is_file():
            entries.append((f"PySide6/Qt/{rel}", str(qt / rel), "BINARY"))
    for lib in sorted((qt / "lib").glob("libQt6*.so.6")) + sorted((qt / "lib").glob("libicu*.so.*")):
        entries.append((lib.name, str(lib), "BINARY"))
    return entries


def test_drops_plugin_and_the_libraries_only_it_needs() -> None:
    entries = _pyside_entries()
    names = {Path(dest).name for dest, _, _ in entries}
    assert {"libqxcb.so", "libqeglfs.so", "libQt6EglFSDeviceIntegration.so.6", "libQt6XcbQpa.so.6"} <= names
    kept, _, dropped = contents.prune_bundle(entries, [], _readelf_needed)
    kept_names = {Path(dest).name for dest, _, _ in kept}
    dropped_names = {Path(dest).name for dest, _, _ in dropped}
    assert "libqeglfs.so" in dropped_names
    # Only eglfs links its device-integration library: it goes too.
    assert "libQt6EglFSDeviceIntegration.so.6" in dropped_names
    # Kept plugins keep everything they link, directly or through other kept libraries.
    assert {"libqxcb.so", "libqoffscreen.so", "libQt6XcbQpa.so.6", "libQt6Gui.so.6", "libQt6Core.so.6"} <= kept_names
    for dest, src, _ in kept:
        for name in _readelf_needed(src):
            assert name not in dropped_names, f"{dest} links {name}, which was dropped"


def test_a_library_that_something_kept_links_is_not_dropped() -> None:
    entries = _pyside_entries()
    # Drop the offscreen plugin alone: libQt6Gui (which it links) is needed by xcb too, so it stays.
    kept, _, dropped = contents.prune_bundle(entries, [], _readelf_needed, drops=("*/libqoffscreen.so",))
    assert [Path(d).name for d, _, _ in dropped] == ["libqoffscreen.so"]
    assert len(kept) == len(entries) - 1


@pytest.mark.parametrize("dest", [
    "onnxruntime/capi/libonnxruntime_providers_cuda.so", "onnxruntime/capi/libonnxruntime_providers_shared.so",
    "onnxruntime/capi/onnxruntime_providers_cuda.dll", "onnxruntime/capi/DirectML.dll",
    "onnxruntime/capi/onnxruntime_providers_tensorrt.dll", "DirectML.dll",
])
def test_execution_providers_are_never_dropped(dest: str) -> None:
    # Loaded by name at run time, so no dependency scan sees who needs them: even a glob that matches keeps them.
    kept, _, dropped = contents.prune_bundle([(dest, "/nonexistent", "BINARY")], [], lambda _src: set(),
                                             drops=("*",))
    assert kept and not dropped


def test_qt_translations_are_dropped_but_those_of_the_languages_enclave_ships() -> None:
    datas = [("PySide6/Qt/translations/qtbase_de.qm", "/x/qtbase_de.qm", "DATA"),
             ("PySide6/translations/qtbase_fr.qm", "/x/qtbase_fr.qm", "DATA"),
             ("PySide6/Qt/translations/qtwebengine_de.qm", "/x/qtwebengine_de.qm", "DATA"),
             ("models/catalog.json", str(ROOT / "models" / "catalog.json"), "DATA")]
    _, kept, dropped = contents.prune_bundle([], datas, lambda _src: set())
    assert [d for d, _, _ in kept] == ["PySide6/Qt/translations/qtbase_de.qm", "models/catalog.json"]
    assert len(dropped) == 2


def test_every_language_the_window_offers_has_its_qt_strings_kept() -> None:
    from app.ui.i18n import LANGUAGES

    for code, _name in LANGUAGES:
        if code != "en":
            assert contents._matches(f"PySide6/Qt/translations/qtbase_{code}.qm", contents.KEEP_DATAS), code
