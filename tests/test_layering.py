"""The hard boundary: nothing outside app.ui imports Qt, and app never imports torch or transformers."""

from __future__ import annotations

import subprocess
import sys

NON_UI = [
    "app.checkpoint.config", "app.cli.main", "app.model_catalog",
]


def _modules_after_import(modules: list[str]) -> set[str]:
    code = "import sys, importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules) + \
        "print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_non_ui_packages_do_not_import_qt_or_torch() -> None:
    import pkgutil

    import app

    modules = list(NON_UI)
    for info in pkgutil.walk_packages(app.__path__, "app."):
        if info.name.startswith(("app.ui", "app.cli.gui")) or info.name == "app.__main__":
            continue
        modules.append(info.name)
    loaded = _modules_after_import(sorted(set(modules)))
    forbidden = {m for m in loaded if m.split(".")[0] in {"PySide6", "torch", "transformers"}}
    assert not forbidden, f"non-UI code imported {sorted(forbidden)[:5]}"


def test_catalog_lists_both_models() -> None:
    from app.model_catalog import load_catalog

    ids = {m.id for m in load_catalog()}
    assert ids == {"gpt-oss-20b", "gpt-oss-120b"}
    for m in load_catalog():
        assert {t.target for t in m.targets} == {"cpu", "cpu-int4", "cuda", "dml"}


def test_export_and_package_do_not_import_the_engine() -> None:
    """Data flows checkpoint -> export -> package -> engine: the exporter and the package format (with the target
    records both sides read) never need the engine, and the package format never needs the exporter."""
    exporter = _modules_after_import(["app.export.exporter"])
    assert not sorted(m for m in exporter if m.startswith("app.engine")), "app.export imports app.engine"
    package = _modules_after_import(["app.package", "app.package.targets", "app.progress"])
    assert not sorted(m for m in package if m.startswith(("app.engine", "app.export")))


def test_the_memory_advice_counts_the_kv_cache_without_the_engine() -> None:
    """The catalog's advice and the conversion's target count the KV cache by the engine's own rule
    (app.package.kv_spec) before any engine runs: neither the engine nor ONNX Runtime is imported for it."""
    advice = _modules_after_import(["app.package.footprint", "app.package.kv_spec", "app.model_folder"])
    assert not sorted(m for m in advice if m.startswith(("app.engine", "app.export", "onnxruntime")))
