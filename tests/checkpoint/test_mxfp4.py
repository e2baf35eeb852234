"""MXFP4 decoding on toy arrays, checked against values worked out by hand from the OCP MX spec."""

from __future__ import annotations

import numpy as np
import pytest

from app.checkpoint import mxfp4


def _one_block(first_bytes: list[int], exponent: int) -> tuple[np.ndarray, np.ndarray]:
    blocks = np.zeros((1, 16), dtype=np.uint8)
    blocks[0, : len(first_bytes)] = first_bytes
    return blocks, np.array([exponent], dtype=np.uint8)


def test_low_nibble_is_the_first_element_and_scale_is_two_to_e_minus_127() -> None:
    # 0x21: low nibble 1 (+0.5) comes first, high nibble 2 (+1.0) second.
    # 0xF8: low nibble 8 (-0.0), high nibble 15 (-6.0). 0x7E: 14 (-4.0) then 7 (+6.0).
    blocks, scales = _one_block([0x21, 0xF8, 0x7E], exponent=129)  # 2^(129-127) = 4
    out = mxfp4.decode(blocks, scales)
    assert out.shape == (32,)
    assert out[:6].tolist() == [2.0, 4.0, -0.0, -24.0, -16.0, 24.0]
    assert np.signbit(out[2])  # code 8 is negative zero
    assert not out[6:].any()


def test_swapped_nibble_order_gives_different_values() -> None:
    blocks, scales = _one_block([0x21], exponent=127)
    assert mxfp4.decode(blocks, scales, swap_nibbles=True)[:2].tolist() == [1.0, 0.5]


def test_every_code_maps_to_the_e2m1_table() -> None:
    # Bytes 0x10*hi + lo for all 16 codes in the low nibble, exponent 127 (scale 1).
    codes = np.arange(16, dtype=np.uint8)
    blocks = codes.reshape(1, 16)  # high nibbles all zero
    out = mxfp4.decode(blocks, np.array([127], dtype=np.uint8))
    expected = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6]
    assert out[0::2].tolist() == expected
    assert out[1::2].tolist() == [0.0] * 16


def test_decode_keeps_leading_axes_and_concatenates_blocks() -> None:
    # [E=2, N=3, G=2, 16] -> [2, 3, 64]; block g covers columns 32g..32g+31, each with its own scale.
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 256, size=(2, 3, 2, 16), dtype=np.uint8)
    scales = rng.integers(120, 135, size=(2, 3, 2), dtype=np.uint8)
    out = mxfp4.decode(blocks, scales)
    assert out.shape == (2, 3, 64)
    table = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6]
    e, n, g, j = 1, 2, 1, 5  # an arbitrary element, computed by hand-rolled Python
    byte = int(blocks[e, n, g, j])
    scale = 2.0 ** (int(scales[e, n, g]) - 127)
    assert out[e, n, 32 * g + 2 * j] == table[byte & 15] * scale
    assert out[e, n, 32 * g + 2 * j + 1] == table[byte >> 4] * scale


def test_decode_chunks_give_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    blocks = rng.integers(0, 256, size=(4, 5, 3, 16), dtype=np.uint8)
    scales = rng.integers(110, 140, size=(4, 5, 3), dtype=np.uint8)
    whole = mxfp4.decode(blocks, scales)
    monkeypatch.setattr(mxfp4, "_ROWS_PER_CHUNK", 7)
    assert np.array_equal(mxfp4.decode(blocks, scales), whole)


def test_int8_blocks_are_a_lossless_reencoding() -> None:
    rng = np.random.default_rng(2)
    blocks = rng.integers(0, 256, size=(2, 4, 3, 16), dtype=np.uint8)
    # Exponents across the whole range float32 can decode: 6·2^(252-127) is finite, 0.5·2^-127 a subnormal.
    scales = rng.integers(0, 253, size=(2, 4, 3), dtype=np.uint8)
    scales[0, 0, 0], scales[1, 3, 2] = 0, 252
    values, block_scales = mxfp4.mxfp4_to_int8_blocks(blocks, scales)
    assert values.dtype == np.int8 and values.shape == (2, 4, 3, 32)
    assert block_scales.dtype == np.float32 and block_scales.shape == (2, 4, 3)
    assert values.min() >= -12 and values.max() <= 12
    # Hand check of one element: byte 0x7E -> codes 14, 7 -> E2M1 -4, +6 -> int8 -8, +12; scale 2^(e-128).
    blocks[0, 1, 2, 0] = 0x7E
    values, block_scales = mxfp4.mxfp4_to_int8_blocks(blocks, scales)
    assert values[0, 1, 2, :2].tolist() == [-8, 12]
    assert block_scales[0, 1, 2] == 2.0 ** (int(scales[0, 1, 2]) - 128)
    # And exactly the decoded values, everywhere (float64 product is exact for these magnitudes).
    rebuilt = values.astype(np.float64) * block_scales[..., None].astype(np.float64)
    assert np.array_equal(rebuilt.reshape(2, 4, 96), mxfp4.decode(blocks, scales).astype(np.float64))


def test_pack_nibbles_inverts_unpack() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 16, size=(3, 64), dtype=np.uint8)
    blocks = mxfp4.pack_nibbles(codes)
    assert blocks.shape == (3, 2, 16)
    assert blocks[0, 0, 0] == codes[0, 0] | (codes[0, 1] << 4)
    assert np.array_equal(mxfp4.unpack_nibbles(blocks).reshape(3, 64), codes)


def test_mismatched_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="do not match"):
        mxfp4.decode(np.zeros((2, 16), np.uint8), np.zeros((3,), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        mxfp4.decode(np.zeros((2, 16), np.int8), np.zeros((2,), np.uint8))


# --- encode: floats -> MXFP4, the way gpt-oss's training kernels round ----------------------------------------
def test_encode_picks_the_block_scale_with_the_smaller_error() -> None:
    # max |v| = 5 -> 2^0 holds it (5/6 < 1); 2^-1 would clip it to 3 (error 4 against 1): the scale is 2^0 (byte 127)
    # and 5 rounds to 4 (a tie between 4 and 6).
    values = np.zeros(32, dtype=np.float32)
    values[:4] = [5.0, -0.3, 1.75, 0.75]
    blocks, scales = mxfp4.encode(values)
    assert scales.tolist() == [127]
    decoded = mxfp4.decode(blocks, scales)
    # 0.3 -> 0.5 (nearest); 1.75 ties between 1.5 (code 3) and 2 (code 4): the even code wins; 0.75 -> 1.
    assert decoded[:4].tolist() == [4.0, -0.5, 2.0, 1.0]
    # All 6.5: 2^1 gives 3.25 -> 3 -> 6, and so does 2^0 with clipping at 6; the tie keeps the larger scale.
    blocks, scales = mxfp4.encode(np.full(32, 6.5, dtype=np.float32))
    assert scales.tolist() == [128] and mxfp4.decode(blocks, scales).tolist() == [6.0] * 32


def test_a_value_nudged_past_the_grid_keeps_its_blocks_scale() -> None:
    """A fine-tune moves MXFP4 weights a little: the block's largest value 6 becomes 6.05. Rounding the scale up
    would double every step of the block; clipping that one value costs far less."""
    values = np.array([6.05, 0.5, -1.5, 3.0] * 8, dtype=np.float32)
    blocks, scales = mxfp4.encode(values)
    assert scales.tolist() == [127]
    assert mxfp4.decode(blocks, scales).tolist() == [6.0, 0.5, -1.5, 3.0] * 8


def test_encode_of_decoded_values_gives_the_same_values() -> None:
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 256, size=(6, 4, 16), dtype=np.uint8)
    scales = rng.integers(100, 150, size=(6, 4), dtype=np.uint8)
    values = mxfp4.decode(blocks, scales)
    np.testing.assert_array_equal(mxfp4.decode(*mxfp4.encode(values)), values)


def test_encode_picks_the_nearest_e2m1_value_for_gaussian_weights() -> None:
    rng = np.random.default_rng(1)
    values = rng.standard_normal((64, 256)).astype(np.float32)
    blocks, scales = mxfp4.encode(values)
    decoded = mxfp4.decode(blocks, scales)
    scale = np.repeat(np.ldexp(1.0, scales.astype(int) - 127), 32, axis=1)
    grid = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6])
    best = np.abs(np.abs(values / scale)[..., None] - grid).min(axis=-1)  # brute force over the grid
    np.testing.assert_allclose(np.abs(np.abs(decoded) - np.abs(values)) / scale, best, atol=1e-6)
    assert np.all(np.sign(decoded) * np.sign(values) >= 0)
    assert 0.08 < np.sqrt(np.mean((decoded - values) ** 2)) < 0.15  # ~12% RMS error for N(0, 1) weights


def test_encode_gives_all_zero_blocks_exponent_zero() -> None:
    blocks, scales = mxfp4.encode(np.zeros((2, 32), dtype=np.float32))
    assert scales.tolist() == [[0], [0]] and not blocks.any()


def test_round_up_is_the_training_rule() -> None:
    """With the training kernels' rule the largest value is never clipped, even when clipping would cost less."""
    values = np.array([6.05, 0.5, -1.5, 3.0] * 8, dtype=np.float32)
    blocks, scales = mxfp4.encode(values, scale=mxfp4.ROUND_UP)
    assert scales.tolist() == [128]  # 6.05 needs 2^1; then 0.5/2 = 0.25 ties to 0
    assert mxfp4.decode(blocks, scales).tolist() == [6.0, 0.0, -2.0, 3.0] * 8  # -0.75 and 0.25 tie to even
    with pytest.raises(ValueError, match="scale must be"):
        mxfp4.encode(values, scale="nearest")
