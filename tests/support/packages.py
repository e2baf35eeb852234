"""Exported test packages shared by every test folder, built once per session (exporting costs seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

# Long enough for a prompt past the 128-token sliding window plus 64 generated tokens, small enough that the
# KV buffers and rope caches stay tiny.
TINY_CONTEXT = 512


@pytest.fixture(scope="session")
def tiny_cpu_package(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint exported for the `cpu` target. Shared: copy it before changing anything."""
    from app.export.context import ExportOptions
    from app.export.exporter import export_model

    out = tmp_path_factory.mktemp("shared_packages") / "tiny-cpu"
    export_model(tiny_checkpoint, out, "cpu", options=ExportOptions(context_length=TINY_CONTEXT))
    return out
