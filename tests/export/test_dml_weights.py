"""float16 storage of the dml target's non-expert weights: exact for bf16 values, loud on overflow."""

from __future__ import annotations

import numpy as np
import pytest

from app.checkpoint.safetensors_io import f32_to_bf16_bits
from app.export import dml_weights


def test_bf16_values_survive_float16_storage_exactly() -> None:
    values = np.random.default_rng(0).normal(0, 0.05, 4096).astype(np.float32)
    values[np.abs(values) < 2.0 ** -17] = 2.0 ** -16  # below 2^-17 float16 is not exact (documented)
    values = np.concatenate([values, [0.0, -0.0, 2.0 ** -17, 60000.0, -1.5]]).astype(np.float32)
    bits = f32_to_bf16_bits(values).reshape(1, -1)
    (rows,) = list(dml_weights.fp16_rows("w", bits))
    widened = (bits.astype(np.uint32) << 16).view(np.float32)
    assert rows.dtype == np.float16
    assert np.array_equal(rows.astype(np.float32), widened)


def test_rows_are_streamed_in_chunks() -> None:
    bits = f32_to_bf16_bits(np.ones((10, 3), np.float32))
    assert [c.shape for c in dml_weights.fp16_rows("w", bits, rows_per_chunk=4)] == [(4, 3), (4, 3), (2, 3)]


def test_out_of_range_weight_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="layers.3.attn.qkv.weight"):
        dml_weights.to_storage_fp16("layers.3.attn.qkv.weight", np.array([1.0, 7e4], np.float32))
