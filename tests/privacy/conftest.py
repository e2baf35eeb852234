"""A tiny package with room for a long reply: the traced runs must outlast ONNX Runtime's first upload."""

from __future__ import annotations

from pathlib import Path

import pytest

PRIVACY_CONTEXT = 2048


@pytest.fixture(scope="session")
def roomy_cpu_package(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app.export.context import ExportOptions
    from app.export.exporter import export_model

    out = tmp_path_factory.mktemp("privacy_packages") / "tiny-cpu-2k"
    export_model(tiny_checkpoint, out, "cpu", options=ExportOptions(context_length=PRIVACY_CONTEXT))
    return out
