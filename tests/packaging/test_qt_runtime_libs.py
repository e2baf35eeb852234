"""packaging/install-qt-runtime-libs.sh finds the system libraries Qt's plugins link against with ldd.

The fake PySide6 here is a real folder of real ELF files, compiled for the test: a platform plugin that links
a library which is then deleted, exactly what a fresh machine without libxcb-icccm4 looks like to ldd. The
Debian name mapping is checked against dpkg's own record of which package owns each library file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "install-qt-runtime-libs.sh"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux system libraries")


def _compile(out: Path, source: str, *args: str) -> None:
    src = out.with_suffix(".c")
    src.write_text(source, encoding="utf-8")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(out), str(src), *args], check=True)


@pytest.fixture()
def fake_pyside(tmp_path: Path) -> Path:
    """site/PySide6 with Qt/plugins/platforms/libq{xcb,offscreen}.so; xcb links libenclavemissing.so.7."""
    if shutil.which("cc") is None:
        pytest.skip("needs a C compiler to make ELF files")
    site = tmp_path / "site"
    platforms = site / "PySide6" / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    (site / "PySide6" / "__init__.py").write_text("", encoding="utf-8")
    gone = tmp_path / "libenclavemissing.so.7"
    _compile(gone, "int enclave_missing(void) { return 7; }", "-Wl,-soname,libenclavemissing.so.7")
    _compile(platforms / "libqxcb.so", "int enclave_missing(void); int f(void) { return enclave_missing(); }",
             str(gone))
    _compile(platforms / "libqoffscreen.so", "int g(void) { return 1; }")
    gone.unlink()  # now ldd says "libenclavemissing.so.7 => not found", as for a library never installed
    return site


def _run(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(["bash", str(SCRIPT), "--python", sys.executable, *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_missing_library_is_named_in_one_sentence(fake_pyside: Path) -> None:
    result = _run(fake_pyside, "--check")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "libenclavemissing.so.7" in lines[0] and lines[0].endswith(".")


def test_platforms_not_asked_for_are_not_checked(fake_pyside: Path) -> None:
    result = _run(fake_pyside, "--check", "--platforms", "offscreen")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_plugin_of_a_missing_qt_addon_is_ignored(fake_pyside: Path) -> None:
    # PySide6-Essentials ships plugins whose Qt module (libQt6Pdf...) comes only with PySide6-Addons.
    plugin = fake_pyside / "PySide6" / "Qt" / "plugins" / "imageformats"
    plugin.mkdir()
    qtlib = fake_pyside.parent / "libQt6EnclaveAddon.so.6"
    _compile(qtlib, "int addon(void) { return 6; }", "-Wl,-soname,libQt6EnclaveAddon.so.6")
    _compile(plugin / "libqaddon.so", "int addon(void); int h(void) { return addon(); }", str(qtlib))
    qtlib.unlink()
    result = _run(fake_pyside, "--check", "--platforms", "offscreen")
    assert result.returncode == 0, result.stderr


def test_unknown_argument_is_refused(fake_pyside: Path) -> None:
    result = _run(fake_pyside, "--frobnicate")
    assert result.returncode == 2 and "--frobnicate" in result.stderr


def test_installed_pyside6_has_what_offscreen_needs() -> None:
    # tests/run.sh ran the script before the suite: the Qt this suite runs has every library it links.
    result = subprocess.run(["bash", str(SCRIPT), "--python", sys.executable, "--check", "--platforms", "offscreen"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def _direct_system_needs(binaries: list[Path]) -> dict[str, str]:
    """soname -> resolved path, for the libraries these binaries link directly (readelf) that the system provides
    (ldd). Only direct needs matter: apt brings each package's own dependencies."""
    found: dict[str, str] = {}
    for binary in binaries:
        dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True).stdout
        needed = {line.split("[", 1)[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line}
        for line in subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout.splitlines():
            parts = line.split()
            if (len(parts) >= 3 and parts[0] in needed and parts[1] == "=>" and parts[2].startswith("/")
                    and "PySide6" not in parts[2]):
                found[parts[0]] = parts[2]
    return found


def test_debian_names_agree_with_dpkg() -> None:
    if shutil.which("dpkg") is None:
        pytest.skip("needs dpkg")
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    binaries = [qt / "plugins" / "platforms" / "libqxcb.so", qt / "plugins" / "platforms" / "libqoffscreen.so",
                *sorted((qt / "plugins" / "xcbglintegrations").glob("*.so")),
                *[qt / "lib" / f"libQt6{m}.so.6" for m in ("Core", "Gui", "Widgets", "DBus", "XcbQpa", "OpenGL")]]
    sonames = _direct_system_needs([b for b in binaries if b.is_file()])
    checked = 0
    for soname, path in sorted(sonames.items()):
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
        if owner.returncode != 0:
            continue
        package = owner.stdout.split(":", 1)[0]
        candidates = subprocess.run(
            ["bash", "-c", f'source <(sed -n "/^deb_candidates()/,/^}}/p" "{SCRIPT}"); deb_candidates {soname}'],
            capture_output=True, text=True, check=True).stdout.split()
        assert package in candidates, f"{soname} is in {package}, but the script would look for {candidates}"
        checked += 1
    assert checked >= 10, f"only {checked} libraries could be checked against dpkg"
