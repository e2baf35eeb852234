"""What the frozen Enclave app must carry besides Python code: one list, read by enclave.spec and by the tests.

Why not just PyInstaller's `collect_data_files`: the tests must check the bundle's data list without PyInstaller
installed and without building. This module walks the source tree the same way `collect_data_files` does (every
non-Python file inside a package, placed at the same package-relative path), so that
`importlib.resources.files("models").joinpath("catalog.json")` finds its file in the frozen app exactly as it
does in a checkout. Pure standard library; imported by path, never as a package (the folder name `packaging`
would shadow the PyPI library of that name).
"""

from __future__ import annotations

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
    "torch", "transformers", "tiktoken", "tiktoken_ext", "openai_harmony", "onnxruntime_genai",
    "pytest", "pytestqt", "_pytest", "reportlab", "tkinter", "matplotlib", "IPython", "PyInstaller",
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick", "PySide6.QtQuick",
    "PySide6.QtQml", "PySide6.Qt3DCore", "PySide6.QtMultimedia", "PySide6.QtCharts", "PySide6.QtDataVisualization",
    "PySide6.QtPdf", "PySide6.QtDesigner", "PySide6.QtSql", "PySide6.QtTest",
)

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
