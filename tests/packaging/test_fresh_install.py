"""A plain `pip install` of the project, without the test extras, has everything the app imports and opens a
window: a fresh virtual environment, every module of app/ imported, every third-party module any of them
imports (also inside functions) importable, a document read in the sandbox, and `enclave gui --smoke`.

Before pygments was declared, `enclave gui` in such an install failed with ModuleNotFoundError. It takes a
minute or two (PySide6 and onnxruntime unpack from pip's cache), so it is marked slow; it runs in the default
suite all the same.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.privacy.tracing import private_environment

ROOT = Path(__file__).resolve().parents[2]
# Imports that serve optional commands only, each with what needs it; nothing else may be missing.
OPTIONAL = {
    "onnxruntime_genai": "enclave bench --vs-genai (the side-by-side peer)",
    "reportlab": "python -m app.documents.bench (writes its own test PDFs)",
}
CHECK_IMPORTS = r"""
import ast, importlib, json, pkgutil, sys
from pathlib import Path
import app
root = Path(app.__file__).parent
modules = [m.name for m in pkgutil.walk_packages(app.__path__, "app.") if m.name != "app.__main__"]
for name in modules:
    importlib.import_module(name)
third_party = set()
for path in root.rglob("*.py"):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
        third_party |= {n.split(".")[0] for n in names if n.split(".")[0] not in sys.stdlib_module_names}
third_party.discard("app")
missing = []
for name in sorted(third_party):
    try:
        importlib.import_module(name)
    except ImportError as exc:
        missing.append(f"{name}: {exc}")
print(json.dumps({"modules": len(modules), "third_party": sorted(third_party), "missing": missing,
                  "app_file": app.__file__}))
"""


def _pip_cache() -> str:
    out = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else ""


def _copy_source(dest: Path) -> Path:
    """The files a source install needs, copied, so building the wheel leaves nothing in the checkout."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("app", "models", "resources"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_plain_install_imports_everything_and_opens_the_window(tiny_cpu_package: Path, tmp_path: Path) -> None:
    source = _copy_source(tmp_path / "source")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    env = private_environment(tmp_path / "home")
    cache = _pip_cache()
    if cache:
        env["PIP_CACHE_DIR"] = cache  # reuse what earlier installs downloaded
    env.pop("PYTHONPATH", None)
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source)],
                             env=env, capture_output=True, text=True, timeout=1100)
    assert install.returncode == 0, install.stderr[-3000:]
    for test_only in ("pytest", "torch", "transformers"):
        probe = subprocess.run([str(python), "-c", f"import {test_only}"], env=env, capture_output=True)
        assert probe.returncode != 0, f"{test_only} is installed without the test extras"

    checked = subprocess.run([str(python), "-c", CHECK_IMPORTS], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=300)
    assert checked.returncode == 0, checked.stderr[-3000:]
    result = json.loads(checked.stdout.strip().splitlines()[-1])
    assert str(venv) in result["app_file"], "the check imported the checkout instead of the installed copy"
    missing = [m for m in result["missing"] if m.split(":")[0] not in OPTIONAL]
    assert missing == [], f"imported by app/ but not installed by its dependencies: {missing}"
    assert result["modules"] > 100

    enclave = venv / "bin" / "enclave"
    page = tmp_path / "page.html"
    page.write_text("<html><body><h1>Depot</h1><p>The generator is serviced monthly.</p></body></html>")
    extracted = subprocess.run([str(enclave), "extract", str(page), "--json"], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=120)
    assert extracted.returncode == 0, extracted.stderr[-2000:]
    assert "serviced monthly" in extracted.stdout

    smoke = subprocess.run([str(enclave), "gui", "--smoke", str(tiny_cpu_package), "--max-tokens", "4",
                            "--screenshot", str(tmp_path / "smoke.png")], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert smoke.returncode == 0, smoke.stderr[-3000:]
    assert json.loads(smoke.stdout.strip().splitlines()[-1])["ok"]
