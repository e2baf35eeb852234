"""Exported test packages shared by every test folder, built once per session (exporting costs seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

# Long enough for a prompt past the 128-token sliding window plus 64 generated tokens, small enough that the
# KV buffers and rope caches stay tiny.
TINY_CONTEXT = 512
# Room for long prompts and replies: the privacy runs (a reply that outlasts ORT's first upload) and the
# long-prompt memory check.
LONG_CONTEXT = 8192


def export_tiny(checkpoint: Path, factory: pytest.TempPathFactory, name: str, context: int) -> Path:
    """`checkpoint` exported for the `cpu` target with a `context`-token KV cache, in a fresh folder."""
    from app.export.context import ExportOptions
    from app.export.exporter import export_model

    out = factory.mktemp("shared_packages") / name
    export_model(checkpoint, out, "cpu", options=ExportOptions(context_length=context))
    return out


@pytest.fixture(scope="session")
def tiny_cpu_package(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint exported for the `cpu` target. Shared: copy it before changing anything."""
    return export_tiny(tiny_checkpoint, tmp_path_factory, "tiny-cpu", TINY_CONTEXT)


@pytest.fixture(scope="session")
def long_cpu_package(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint with an 8k-token context. Shared: copy it before changing anything."""
    return export_tiny(tiny_checkpoint, tmp_path_factory, "tiny-cpu-8k", LONG_CONTEXT)
