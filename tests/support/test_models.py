"""Session-wide test checkpoints and the transformers reference model.

Building the tiny checkpoint takes a couple of seconds (two 51 MB vocabulary matrices), so it is written once per
test session and shared. Tests that must modify a checkpoint copy it first (`copy_checkpoint`). Registered for
the whole suite from tests/conftest.py. torch and transformers are test-only dependencies, imported lazily.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.checkpoint.random_checkpoint import PRESETS, write_test_model

TINY_SEED = 0


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random `tiny` gpt-oss checkpoint in the exact Hugging Face layout (do not modify; copy it)."""
    return write_test_model(tmp_path_factory.mktemp("tiny_checkpoint") / "gpt-oss-tiny", PRESETS["tiny"], seed=TINY_SEED)


def copy_checkpoint(source: Path, destination: Path) -> Path:
    """A private copy of a checkpoint folder that a test may damage."""
    return Path(shutil.copytree(source, destination))


def rewrite_safetensors_header(path: Path, edit: Callable[[dict], None]) -> None:
    """Rewrites a safetensors header in place (data bytes unchanged), as a buggy converter might."""
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    edit(header)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + length :])


def load_reference_model(folder: Path, attn_implementation: str = "eager") -> Any:
    """transformers' GptOssForCausalLM for the checkpoint, in float32 eval mode on CPU.

    transformers dequantizes the MXFP4 experts when it runs on CPU without kernels; asking for it explicitly
    (Mxfp4Config(dequantize=True)) keeps that from depending on what hardware or kernels are around. Dequantized
    into float32 parameters the expert weights are exact (E2M1 times a power of two). Eager attention is the
    implementation that applies sinks in plain torch code, and the eager expert loop is the textbook MoE (the
    default grouped_mm kernel refuses float64, which the noise-floor measurement uses).
    """
    import torch
    from transformers import GptOssForCausalLM, Mxfp4Config

    model = GptOssForCausalLM.from_pretrained(
        folder,
        dtype=torch.float32,
        quantization_config=Mxfp4Config(dequantize=True),
        attn_implementation=attn_implementation,
        experts_implementation="eager",
    )
    model.eval()
    return model
