"""Every third-party module the app imports when a module loads is a declared dependency in pyproject.toml.

A fresh `pip install .` has only what pyproject.toml names; a module that happens to be in the development
environment (a test dependency's dependency) works here and fails on a user's machine -- the clean Debian
root found pygments that way. Imports inside functions are optional features (benchmarks against
onnxruntime-genai, PDF fixtures with reportlab) and are not counted.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWN = {"app", "models", "resources"}


def _module_level_imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    body = list(tree.body)
    while body:
        node = body.pop()
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, (ast.Try, ast.If)):
            for block in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", []),
                          *[h.body for h in getattr(node, "handlers", [])]):
                body.extend(block)
    return found


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_module_level_imports_are_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_normalized(re.split(r"[ ;<>=!~\[]", req, maxsplit=1)[0]) for req in project["dependencies"]}
    providers = metadata.packages_distributions()
    missing = []
    for source in sorted((ROOT / "app").rglob("*.py")):
        for module in _module_level_imports(ast.parse(source.read_text(encoding="utf-8"))):
            if module in OWN or module in sys.stdlib_module_names or module == "__future__":
                continue
            dists = {_normalized(d) for d in providers.get(module, [])}
            if not dists & declared:
                missing.append(f"{source.relative_to(ROOT)} imports {module} ({sorted(dists) or 'not installed'})")
    assert not missing, "not declared in pyproject.toml dependencies: " + "; ".join(missing)
