"""Engine fixtures: the tiny checkpoint exported once per session (cpu target) and a loaded model on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.session import LoadedModel, load_model
from app.export.context import ExportOptions
from app.export.exporter import export_model

# Long enough for a prompt past the 128-token sliding window plus 64 generated tokens, small enough that the
# KV buffers and rope caches stay tiny.
TINY_CONTEXT = 512


@pytest.fixture(scope="session")
def tiny_package(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint exported for the cpu target (do not modify; copy it)."""
    out = tmp_path_factory.mktemp("engine_packages") / "tiny-cpu"
    export_model(tiny_checkpoint, out, "cpu", options=ExportOptions(context_length=TINY_CONTEXT))
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_package: Path) -> LoadedModel:
    return load_model(tiny_package, threads=2)
