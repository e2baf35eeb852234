"""The offline environment is set by the app itself, before any dependency can be imported, in every entry
point: forced over whatever the user's shell says, and first in the frozen launcher's entry script."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from app.offline_env import OFFLINE_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import json, os, sys\n"
         "sys.path.insert(0, sys.argv[1])\n"
         "import importlib; importlib.import_module(sys.argv[2])\n"
         "print(json.dumps({k: os.environ.get(k) for k in json.loads(sys.argv[3])}))\n")


def test_every_entry_module_forces_the_offline_environment() -> None:
    env = {**os.environ, **{name: "0" for name in OFFLINE_ENVIRONMENT}}  # a shell that says "telemetry on"
    for module in ("app.cli.main", "app.documents.sandbox", "app.ui.application", "app.engine.session"):
        names = json.dumps(list(OFFLINE_ENVIRONMENT))
        out = subprocess.run([sys.executable, "-I", "-c", PROBE, str(ROOT), module, names],
                             env=env, capture_output=True, text=True, timeout=120, check=True).stdout
        assert json.loads(out) == OFFLINE_ENVIRONMENT, module


def test_frozen_entry_script_imports_the_app_package_first() -> None:
    """PyInstaller runs app/__main__.py as a script; its first import must load `app` (app/__init__.py)."""
    tree = ast.parse((ROOT / "app" / "__main__.py").read_text(encoding="utf-8"))
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    first = imports[0]
    module = first.module if isinstance(first, ast.ImportFrom) else first.names[0].name
    assert module.split(".")[0] == "app", f"app/__main__.py imports {module} before the app package"
