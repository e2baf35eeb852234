"""Every data file the app reads is reachable through importlib.resources and goes into the frozen bundle.

A file that works from a checkout but is missing from the installer only shows up on a user's machine, so
this checks the three places that decide it without building anything: the package layout and pyproject's
package-data (wheel / pip installs), the resource names the code asks for, and what packaging/enclave.spec
hands PyInstaller (the spec is executed with PyInstaller's build classes replaced by recorders).
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import subprocess
import sys
import tomllib
import types
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "enclave.spec"


def _load_bundle_contents() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("bundle_contents", ROOT / "packaging" / "bundle_contents.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


contents = _load_bundle_contents()


def _data_files_on_disk() -> list[Path]:
    """Non-Python files under our packages, found here independently of bundle_contents' walker."""
    found = []
    for package in ("app", "models", "resources"):
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".py", ".pyc"}:
                found.append(path.relative_to(ROOT))
    return sorted(found)


def _resource_references() -> list[tuple[Path, str, list[list[str | None]]]]:
    """(source, package, path steps) for each `resources.files("pkg")` in app/.

    Each step is the argument list of one `.joinpath(...)` or `/ ...` applied to the result, with None for an
    argument that is not a string literal.
    """
    refs = []
    for source in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _is_files_call(node)):
                continue
            arg = node.args[0] if node.args else None
            package = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
            assert package, f"{source}: pass importlib.resources.files() a literal package name"
            refs.append((source, package, _path_steps(node, parents)))
    return refs


def _is_files_call(node: ast.Call) -> bool:
    func = node.func
    return (isinstance(func, ast.Attribute) and func.attr == "files"
            and isinstance(func.value, (ast.Name, ast.Attribute))
            and (getattr(func.value, "id", None) == "resources" or getattr(func.value, "attr", None) == "resources"))


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _path_steps(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> list[list[str | None]]:
    steps = []
    while True:
        parent = parents.get(node)
        call = parents.get(parent) if parent is not None else None
        if isinstance(parent, ast.Attribute) and parent.attr == "joinpath" and isinstance(call, ast.Call):
            steps.append([_literal(a) for a in call.args])
            node = call
        elif isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div) and parent.left is node:
            steps.append([_literal(parent.right)])
            node = parent
        else:
            return steps


def test_the_app_has_data_files_to_check() -> None:
    names = {p.as_posix() for p in _data_files_on_disk()}
    assert {"models/catalog.json", "resources/styles/app.qss"} <= names


def test_walker_finds_the_same_files() -> None:
    walked = [rel for pkg in contents.APP_DATA_PACKAGES for rel in contents.package_data_files(ROOT, pkg)]
    assert sorted(walked) == _data_files_on_disk()


@pytest.mark.parametrize("rel", _data_files_on_disk(), ids=lambda p: p.as_posix())
def test_data_file_reachable_and_installed(rel: Path) -> None:
    package_dir = rel.parent
    assert (ROOT / package_dir / "__init__.py").is_file(), \
        f"{rel}: its folder is not a Python package, so importlib.resources and setuptools cannot ship it"
    package = ".".join(package_dir.parts)
    resource = resources.files(package).joinpath(rel.name)
    assert resource.is_file() and resource.read_bytes() == (ROOT / rel).read_bytes()

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    wanted = patterns.get("*", []) + patterns.get(package, [])
    assert any(fnmatch.fnmatch(rel.name, p) for p in wanted), \
        f"{rel}: no [tool.setuptools.package-data] pattern ships it in a wheel ({wanted})"


def test_resources_the_code_reads_exist_and_are_bundled() -> None:
    refs = _resource_references()
    assert {pkg for _, pkg, _ in refs} >= {"models", "quicktok"}
    for source, package, steps in refs:
        where = source.relative_to(ROOT)
        top = package.split(".")[0]
        parts = [part for step in steps for part in step]
        literal = []
        for part in parts:
            if part is None:
                break
            literal.append(part)
        if top in contents.APP_DATA_PACKAGES:
            pass  # all data files of our packages are bundled (checked above)
        elif top in contents.THIRD_PARTY_DATA:
            # Frozen, a third-party package with an extension module resolves to a MultiplexedPath, whose
            # joinpath takes a single name on Python 3.11.
            assert all(len(step) == 1 for step in steps), f"{where}: use one name per joinpath for {package!r}"
            assert literal == parts, f"{where}: name {package!r} data files literally, so the bundle can be checked"
            wanted = contents.THIRD_PARTY_DATA[top]
            assert any(fnmatch.fnmatch("/".join(parts), glob) for glob in wanted), \
                f"{where} reads {package}/{'/'.join(parts)}, which the bundle's {wanted} leaves out"
        else:
            pytest.fail(f"{where} reads data of {package!r}, which the bundle omits")
        target = resources.files(package).joinpath(*literal) if literal else resources.files(package)
        if len(literal) == len(parts) and parts:
            assert target.is_file(), f"{where} reads {package}/{'/'.join(literal)}: not found"
        else:
            assert target.is_dir(), f"{where} reads under {package}/{'/'.join(literal)}: no such folder"


class _Recorder:
    """Stands in for one of PyInstaller's build classes and remembers what the spec passed it."""

    calls: dict[str, list[tuple[tuple, dict]]] = {}

    def __init__(self, *args, **kwargs) -> None:
        type(self).calls.setdefault(type(self).__name__, []).append((args, kwargs))
        self.pure, self.scripts, self.binaries, self.datas = [], [], [], []


@pytest.fixture()
def executed_spec(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    asked: dict[str, list[str]] = {"data": [], "libs": [], "submodules": []}

    def record(kind: str, result: list):
        def hook(package: str, *args, **kwargs):
            asked[kind].append(package)
            asked.setdefault(f"{kind}:{package}", []).append(kwargs)
            return list(result)
        return hook

    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_data_files = record("data", [("/site/quicktok/data/o200k.vocab", "quicktok/data")])
    hooks.collect_dynamic_libs = record("libs", [])
    hooks.collect_submodules = record("submodules", [])
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)

    classes = {name: type(name, (_Recorder,), {"calls": {}}) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    namespace = {"__name__": "__main__", "__file__": str(SPEC), "SPECPATH": str(SPEC.parent), **classes}
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    return {"asked": asked, **{name: cls.calls.get(name, []) for name, cls in classes.items()}}


def test_spec_bundles_every_data_file(executed_spec) -> None:
    (args, kwargs), = executed_spec["Analysis"]
    assert args[0] == [str(ROOT / "app" / "__main__.py")]
    datas = {(Path(src).resolve(), Path(dest)) for src, dest in kwargs["datas"]}
    for rel in _data_files_on_disk():
        assert ((ROOT / rel).resolve(), rel.parent) in datas, f"{rel} is not in the spec's datas"
    assert (Path("/site/quicktok/data/o200k.vocab").resolve(), Path("quicktok/data")) in datas


def test_spec_collects_runtime_libraries_and_lazy_imports(executed_spec) -> None:
    asked = executed_spec["asked"]
    assert "quicktok" in asked["data"]
    assert asked["data:quicktok"] == [{"includes": list(contents.THIRD_PARTY_DATA["quicktok"])}]
    assert "onnxruntime" in asked["libs"]
    assert {"app", "models", "resources", "tokenizers"} <= set(asked["submodules"])
    (_, kwargs), = executed_spec["Analysis"]
    assert {"torch", "transformers", "tiktoken", "openai_harmony", "pytest"} <= set(kwargs["excludes"])


def test_spec_makes_windowed_app_and_console_cli(executed_spec) -> None:
    launchers = {kw["name"]: kw["console"] for _, kw in executed_spec["EXE"]}
    if sys.platform == "win32":
        assert launchers == {"enclave": False, "enclave-cli": True}
    else:  # enclave-cli is a link to enclave: one copy of the Python archive, not two
        assert launchers == {"enclave": False}
    assert contents.launchers("win32") == [("enclave", False), ("enclave-cli", True)]
    (_, collect_kwargs), = executed_spec["COLLECT"]
    assert collect_kwargs["name"] == "enclave"  # onedir: dist/enclave/


def test_installer_scripts_point_at_the_onedir_build() -> None:
    build_msi = (ROOT / "packaging" / "windows" / "build-msi.sh").read_text(encoding="utf-8")
    assert "enclave.exe" in build_msi and "enclave-cli.exe" in build_msi and "wixl-heat" in build_msi
    wxs = (ROOT / "packaging" / "windows" / "enclave.wxs").read_text(encoding="utf-8")
    assert 'Target="[INSTALLDIR]enclave.exe"' in wxs
    for script in ("macos/build_dmg.sh", "linux/build-deb.sh", "linux/check-frozen.sh", "windows/build-msi.sh",
                   "linux/test-clean-debian.sh", "run-from-source.sh", "install-qt-runtime-libs.sh"):
        subprocess.run(["bash", "-n", str(ROOT / "packaging" / script)], check=True)
    assert "packaging/enclave.spec" in (ROOT / "packaging" / "macos" / "build_dmg.sh").read_text(encoding="utf-8")
