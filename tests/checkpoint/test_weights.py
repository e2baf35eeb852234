"""Reading a checkpoint: names, shapes and values, checked against the `safetensors` package itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.checkpoint import mxfp4
from app.checkpoint.names import EMBED, LM_HEAD, expected_tensors
from app.checkpoint.random_checkpoint import PRESETS
from app.checkpoint.weights import Checkpoint, CheckpointError


def test_open_reads_config_and_every_expected_tensor(tiny_checkpoint: Path) -> None:
    checkpoint = Checkpoint.open(tiny_checkpoint)
    assert checkpoint.config == PRESETS["tiny"]
    assert checkpoint.names == list(expected_tensors(PRESETS["tiny"]))
    assert len(checkpoint.shard_files) >= 3
    assert checkpoint.spec("model.layers.1.mlp.experts.down_proj_blocks").shape == (8, 128, 4, 16)
    assert checkpoint.file_of(EMBED) != checkpoint.file_of(LM_HEAD)


def test_values_match_the_safetensors_package(tiny_checkpoint: Path) -> None:
    torch = pytest.importorskip("torch")
    from safetensors import safe_open

    checkpoint = Checkpoint.open(tiny_checkpoint)
    for name in ("model.layers.2.self_attn.sinks", "model.layers.0.self_attn.q_proj.weight", EMBED,
                 "model.layers.1.mlp.experts.gate_up_proj_blocks", "model.layers.1.mlp.experts.gate_up_proj_scales"):
        with safe_open(checkpoint.file_of(name), framework="pt") as handle:
            expected = handle.get_tensor(name)
        if expected.dtype == torch.bfloat16:
            assert np.array_equal(checkpoint.tensor_f32(name), expected.float().numpy()), name
            assert checkpoint.tensor_raw(name).dtype == np.uint16
            assert np.array_equal(checkpoint.tensor_raw(name), expected.view(torch.int16).numpy().view(np.uint16))
        else:
            assert np.array_equal(checkpoint.tensor_raw(name), expected.numpy()), name
            assert np.array_equal(checkpoint.tensor(name), expected.numpy()), name


def test_tensor_raw_is_a_read_only_map(tiny_checkpoint: Path) -> None:
    raw = Checkpoint.open(tiny_checkpoint).tensor_raw("model.layers.0.mlp.experts.down_proj_blocks")
    assert isinstance(raw, np.memmap) and not raw.flags.writeable


def test_experts_f32_decodes_blocks_with_scales(tiny_checkpoint: Path) -> None:
    checkpoint = Checkpoint.open(tiny_checkpoint)
    names = checkpoint.layer_names(1)
    decoded = checkpoint.experts_f32(1, "gate_up")
    assert decoded.shape == (8, 256, 128) and decoded.dtype == np.float32
    blocks = np.asarray(checkpoint.tensor_raw(names["gate_up_blocks"]))
    scales = np.asarray(checkpoint.tensor_raw(names["gate_up_scales"]))
    assert np.array_equal(decoded, mxfp4.decode(blocks, scales))
    assert np.array_equal(checkpoint.experts_f32(1, "gate_up", expert=5), decoded[5])


def test_unknown_tensor_is_named(tiny_checkpoint: Path) -> None:
    with pytest.raises(CheckpointError, match="model.layers.9.self_attn.sinks"):
        Checkpoint.open(tiny_checkpoint).tensor_raw("model.layers.9.self_attn.sinks")


def test_tensor_f32_reads_a_slice_of_rows(tiny_checkpoint: Path) -> None:
    checkpoint = Checkpoint.open(tiny_checkpoint)
    whole = checkpoint.tensor_f32(EMBED)
    part = checkpoint.tensor_f32(EMBED, rows=slice(1000, 1010))
    assert part.shape == (10, 128) and np.array_equal(part, whole[1000:1010])
