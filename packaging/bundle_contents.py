"""What the frozen Enclave app must carry besides Python code: one list, read by enclave.spec and by the tests.

Why not just PyInstaller's `collect_data_files`: the tests must check the bundle's data list without PyInstaller
installed and without building. This module walks the source tree the same way `collect_data_files` does (every
non-Python file inside a package, placed at the same package-relative path), so that
`importlib.resources.files("models").joinpath("catalog.json")` finds its file in the frozen app exactly as it
does in a checkout. Pure standard library; imported by path, never as a package (the folder name `packaging`
would shadow the PyPI library of that name).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from pathlib import Path

# Our own packages whose non-Python files the app reads at run time (through importlib.resources).
APP_DATA_PACKAGES: tuple[str, ...] = ("app", "models", "resources")

# Third-party packages whose data files the app reads at run time, with the files wanted (globs relative to
# the package). quicktok-v1 bundles the o200k vocabulary that app.tokenizer rebuilds gpt-oss's tokenizer from
# (`enclave make-test-model`); its other vocabularies are not needed, and Llama 3's comes under Meta's licence,
# which we do not want to take on by redistributing it.
THIRD_PARTY_DATA: dict[str, tuple[str, ...]] = {
    "quicktok": ("data/o200k*", "data/uniclass_o200k*", "data/nfc.bin*"),
}

# Packages whose shared libraries are loaded at run time by name rather than imported, so PyInstaller's import
# analysis misses them: ONNX Runtime's execution-provider libraries (providers_shared, CUDA, DirectML.dll).
DYNAMIC_LIB_PACKAGES: tuple[str, ...] = ("onnxruntime",)

# Packages imported by name at run time, which static analysis cannot see: the CLI loads its subcommands with
# importlib; `models` and `resources` are only ever named in importlib.resources.files() calls (left out of the
# archive, they would resolve as namespace packages, whose multiplexed paths behave differently); keyring finds
# its backends through entry points.
SUBMODULE_PACKAGES: tuple[str, ...] = ("app", "models", "resources", "tokenizers", "keyring.backends")

# Never in the bundle: test- and export-only heavyweights, and Qt modules the UI does not use (each is tens of
# MB of libraries). The app's layering test keeps torch/transformers out of app/, so excluding them is safe.
EXCLUDES: tuple[str, ...] = (
    "torch", "transformers", "tiktoken", "tiktoken_ext", "openai_harmony", "openai", "onnxruntime_genai",
    "pytest", "pytestqt", "_pytest", "reportlab", "tkinter", "matplotlib", "IPython", "PyInstaller",
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick", "PySide6.QtQuick",
    "PySide6.QtQml", "PySide6.Qt3DCore", "PySide6.QtMultimedia", "PySide6.QtCharts", "PySide6.QtDataVisualization",
    "PySide6.QtPdf", "PySide6.QtDesigner", "PySide6.QtSql", "PySide6.QtTest", "PySide6.QtNetwork",
    "xlsxwriter",  # python-pptx writes chart workbooks with it; reading a deck never does
    "lxml.objectify", "lxml.html.diff", "lxml.html.clean",  # bs4 and python-docx use lxml.etree only
    # huggingface_hub imports these only inside functions the app never calls: hf_xet (11 MiB) for Xet-protocol
    # transfers (app.library downloads over plain HTTPS with its own Range/SHA-256 handling; the Hub serves
    # Xet-backed files over /resolve too), pydantic (5.6 MiB) for webhook payloads and an availability probe.
    "hf_xet", "pydantic", "pydantic_core",
    "yaml._yaml",  # PyYAML's libyaml accelerator (2.7 MiB): huggingface_hub imports yaml at start, the pure-Python one serves
    "jinja2", "fsspec",  # huggingface_hub's model-card templates and HfFileSystem, neither used by app.library
    "readline",  # only pdb/cmd/code ask for it (with libreadline and libtinfo): no interactive prompt in the app
    "setuptools", "pkg_resources", "_distutils_hack", "distutils",  # build tools, collected by a hook, never imported
)

# Files that PyInstaller's hooks collect but the app never loads, as (glob on the bundle-relative path, why).
# Globs are written to match every platform's layout (Linux/macOS `PySide6/Qt/plugins/...`, Windows
# `PySide6/plugins/...`). Shared libraries that only these files needed go too (see `prune_bundle`).
BUNDLE_DROPS: tuple[tuple[str, str], ...] = (
    ("PySide6/*translations/*", "Qt's own translations, but for the languages Enclave ships (KEEP_DATAS)"),
    ("PySide6/*plugins/platformthemes/*gtk3*",
     "GTK 3 theme bridge: needs the system's GTK, and would mix it with bundled cairo/pango (Qt's own dialogs work)"),
    ("PySide6/*plugins/platforms/*eglfs*", "full-screen embedded platform (no window system)"),
    ("PySide6/*plugins/platforms/*linuxfb*", "framebuffer platform (no window system)"),
    ("PySide6/*plugins/platforms/*vnc*", "VNC server platform"),
    ("PySide6/*plugins/platforms/*vkkhrdisplay*", "Vulkan display platform (no window system)"),
    ("PySide6/*plugins/platforms/*minimalegl*", "EGL test platform"),
    ("PySide6/*plugins/platforms/*qdirect2d*", "Direct2D platform: the app uses the default qwindows"),
    ("PySide6/*plugins/egldeviceintegrations/*", "device integrations of eglfs, dropped above"),
    ("PySide6/*plugins/generic/*", "evdev/tuio raw input for eglfs/linuxfb; desktops deliver input via the window system"),
    ("PySide6/*plugins/networkinformation/*", "QtNetwork reachability: the app makes no Qt network calls"),
    ("PySide6/*plugins/tls/*", "QtNetwork TLS backends: the app makes no Qt network calls"),
    *((f"PySide6/*plugins/imageformats/*q{fmt}.*", f"{fmt} image reader: the app shows only its own PNG/SVG/ICO "
       "icons and renders no images from replies or documents") for fmt in ("webp", "tiff", "tga", "wbmp", "icns", "jpeg", "gif")),
    ("PIL/_avif.*", "Pillow's AVIF codec (with libavif): documents are read as text, images are never decoded"),
    ("PIL/_webp.*", "Pillow's WebP codec: images are never decoded"),
    ("PIL/_imagingtk.*", "Pillow's Tk bridge: no Tk in the app"),
    ("PIL/_imagingft.*", "Pillow's FreeType text rendering (with its own freetype/harfbuzz): python-pptx imports "
     "ImageFont, which defers the missing module until a font is drawn, and the app never draws one"),
    ("PIL/_imagingcms.*", "Pillow's colour management (with lcms2): images are never decoded"),
)

# Linux: binaries whose symbol tables are stripped after the build (`strip --strip-unneeded`): Python's own
# library and extension modules ship with full symbols (libpython 23 MB -> 6 MB), and so do the Rust
# extensions. Not everything: `strip` from binutils 2.40 breaks the libraries that auditwheel rewrote with
# patchelf (numpy's OpenBLAS: "ELF load command address/offset not page-aligned"), which are already small.
STRIP_GLOBS: tuple[str, ...] = (
    "libpython3*.so*", "python3*/lib-dynload/*.so", "cryptography/hazmat/bindings/_rust*.so",
    "tokenizers/tokenizers*.so",
    "numpy/_core/*.so", "numpy/random/*.so", "numpy/linalg/*.so", "numpy/fft/*.so",  # numpy's own modules, not numpy.libs
    "PIL/_imaging*.so",  # Pillow's extension modules ship unstripped (3.3 MB -> 0.8 MB); its bundled libraries stay as they are
)

# Data files kept although a BUNDLE_DROPS glob matches: Qt's own strings ("OK", "Cancel" in standard dialogs) for
# each language Enclave ships besides English (app/ui/i18n.py LANGUAGES; resources/translations holds our own).
KEEP_DATAS: tuple[str, ...] = ("PySide6/*translations/qtbase_de.qm",)

# Never dropped, whatever a glob says: ONNX Runtime's execution providers are loaded by name at run time
# (providers_shared, CUDA, TensorRT, DirectML.dll), so no dependency scan sees who needs them.
NEVER_DROP: tuple[str, ...] = ("onnxruntime/*", "DirectML*", "*onnxruntime_providers*")


def _matches(dest: str, globs: tuple[str, ...]) -> bool:
    dest = dest.replace("\\", "/")
    return any(fnmatch.fnmatch(dest, glob) for glob in globs)


def prune_bundle(binaries: list[tuple], datas: list[tuple], needed: Callable[[str], set[str]],
                 drops: tuple[str, ...] | None = None) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Removes the BUNDLE_DROPS entries, and every shared library that only they needed.

    Entries are PyInstaller TOC tuples (bundle path, source path, type code); `needed(source)` gives the file
    names a binary links against (its DT_NEEDED / import table). A library pulled in for a dropped plugin is
    kept when anything that stays links it, directly or through other libraries, so a wrong glob costs size,
    never a missing library. Returns (binaries, datas, dropped).
    """
    globs = tuple(glob for glob, _ in BUNDLE_DROPS) if drops is None else drops
    dropped_now = [e for e in binaries if _matches(e[0], globs) and not _matches(e[0], NEVER_DROP)]
    dropped_names = {e[0] for e in dropped_now}
    by_name: dict[str, list[tuple]] = {}
    for entry in binaries:
        by_name.setdefault(Path(entry[0]).name, []).append(entry)

    def closure(start: list[tuple]) -> set[str]:
        seen: set[str] = set()
        stack = list(start)
        while stack:
            entry = stack.pop()
            for name in needed(entry[1]):
                for dep in by_name.get(name, ()):
                    if dep[0] not in seen:
                        seen.add(dep[0])
                        stack.append(dep)
        return seen

    only_theirs = closure(dropped_now) - dropped_names
    roots = [e for e in binaries if e[0] not in dropped_names and e[0] not in only_theirs]
    still_needed = closure(roots)
    gone = dropped_names | {name for name in only_theirs if name not in still_needed
                            and not _matches(name, NEVER_DROP)}
    kept_binaries = [e for e in binaries if e[0] not in gone]
    gone_datas = [e for e in datas if _matches(e[0], globs) and not _matches(e[0], KEEP_DATAS)]
    kept_datas = [e for e in datas if e not in gone_datas]
    dropped = [e for e in binaries if e[0] in gone] + gone_datas
    return kept_binaries, kept_datas, dropped


def launchers(platform: str) -> list[tuple[str, bool]]:
    """(name, console) of the executables to build. Only Windows needs a second, console launcher: a
    windowed .exe has no stdout there. Elsewhere `enclave-cli` is a symbolic link to `enclave` (each
    launcher carries its own copy of the Python archive, 12 MB)."""
    if platform == "win32":
        return [("enclave", False), ("enclave-cli", True)]
    return [("enclave", False)]


_SKIP_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".so")
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


def package_data_files(root: Path, package: str) -> list[Path]:
    """Every non-Python file under `root/<package>`, sorted; relative to `root`."""
    base = Path(root) / package
    if not (base / "__init__.py").is_file():
        raise FileNotFoundError(f"{base} is not a Python package (no __init__.py).")
    found = []
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or _SKIP_DIRS.intersection(rel.parts) or path.name.startswith("."):
            continue
        if path.suffix in _SKIP_SUFFIXES:
            continue
        found.append(rel)
    return found


def app_datas(root: Path) -> list[tuple[str, str]]:
    """PyInstaller `datas` entries (source file, destination folder) for our own packages' data files."""
    root = Path(root)
    return [
        (str(root / rel), str(rel.parent))
        for package in APP_DATA_PACKAGES
        for rel in package_data_files(root, package)
    ]


def icon_path(root: Path, suffix: str) -> str | None:
    """The app icon for this platform (`.ico` Windows, `.icns` macOS) if resources/icons has one."""
    candidate = Path(root) / "resources" / "icons" / f"enclave{suffix}"
    return str(candidate) if candidate.is_file() else None


def app_version(root: Path) -> str:
    """`app.__version__`, read without importing the app (the spec runs before anything is importable)."""
    for line in (Path(root) / "app" / "__init__.py").read_text(encoding="utf-8").splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise ValueError(f"{Path(root) / 'app' / '__init__.py'} does not define __version__.")
