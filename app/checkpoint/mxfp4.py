"""MXFP4, the 4-bit format gpt-oss stores its expert weights in (OCP Microscaling spec v1.0).

A checkpoint stores each expert matrix as `*_blocks` uint8 [..., G, 16] and `*_scales` uint8 [..., G]: every
byte holds two E2M1 codes (low nibble = first element, high nibble = second; the reference
`gpt_oss/torch/weights.py` and transformers' `integrations/mxfp4.py` agree), and each block of 32 values shares
one E8M0 exponent byte e, meaning 2^(e-127). So value = E2M1[code] * 2^(e-127).

Everything here is NumPy and chunked, so decoding one expert tensor never needs more than the output plus a
few MB of scratch. `encode` is the other direction, the way training produces these codes.
"""

from __future__ import annotations

import numpy as np

BLOCK = 32  # values per MXFP4 block (one shared exponent)
BYTES_PER_BLOCK = BLOCK // 2

# E2M1 code -> value. Bit 3 is the sign, so codes 8..15 mirror 0..7 (code 8 is -0).
FP4_VALUES = np.array(
    [+0.0, +0.5, +1.0, +1.5, +2.0, +3.0, +4.0, +6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0],
    dtype=np.float32,
)
# Twice the E2M1 value is always an integer in [-12, 12]: this is what makes the int8 re-encoding lossless.
FP4_DOUBLED = (FP4_VALUES * 2).astype(np.int8)

_SCALE_BIAS = 127
_ROWS_PER_CHUNK = 1 << 16  # blocks decoded per step: 64 Ki blocks -> 8 MB of float32 scratch


def _check(blocks: np.ndarray, scales: np.ndarray) -> None:
    if blocks.dtype != np.uint8 or scales.dtype != np.uint8:
        raise ValueError(f"MXFP4 blocks and scales must be uint8, got {blocks.dtype} and {scales.dtype}")
    if blocks.shape[-1:] != (BYTES_PER_BLOCK,) or blocks.shape[:-1] != scales.shape:
        raise ValueError(
            f"MXFP4 blocks {blocks.shape} and scales {scales.shape} do not match: expected blocks [..., G, 16] "
            "with scales [..., G]"
        )


def unpack_nibbles(blocks: np.ndarray) -> np.ndarray:
    """E2M1 codes [..., G, 32] from packed bytes [..., G, 16]: low nibble first, then high nibble."""
    codes = np.empty(blocks.shape[:-1] + (BLOCK,), dtype=np.uint8)
    codes[..., 0::2] = blocks & 0x0F
    codes[..., 1::2] = blocks >> 4
    return codes


def pack_nibbles(codes: np.ndarray) -> np.ndarray:
    """The inverse of `unpack_nibbles`: codes [..., 32·G] (values 0..15) -> bytes [..., G, 16]."""
    codes = np.asarray(codes, dtype=np.uint8)
    if codes.shape[-1] % BLOCK:
        raise ValueError(f"the last axis ({codes.shape[-1]}) must be a multiple of {BLOCK}")
    if codes.size and codes.max() > 15:
        raise ValueError("E2M1 codes must be in 0..15")
    pairs = codes.reshape(codes.shape[:-1] + (codes.shape[-1] // BLOCK, BYTES_PER_BLOCK, 2))
    return (pairs[..., 0] | (pairs[..., 1] << 4)).astype(np.uint8)


def decode(blocks: np.ndarray, scales: np.ndarray, *, swap_nibbles: bool = False) -> np.ndarray:
    """Dequantises to float32 [..., G·32], e.g. [E, N, K] for an expert tensor stored as [E, N, K/32, 16].

    The result keeps the checkpoint's row-major [out_features, in_features] order per expert (as the reference
    does); transformers transposes it to [E, K, N] afterwards. `swap_nibbles` decodes with the high nibble first,
    which is wrong: it exists so tests can prove that the nibble order matters.
    """
    _check(blocks, scales)
    prefix = scales.shape
    rows = int(np.prod(prefix, dtype=np.int64))
    flat_blocks = blocks.reshape(rows, BYTES_PER_BLOCK)
    flat_scales = scales.reshape(rows)
    out = np.empty((rows, BLOCK), dtype=np.float32)
    first, second = (4, 0) if swap_nibbles else (0, 4)
    for r0 in range(0, rows, _ROWS_PER_CHUNK):
        r1 = min(r0 + _ROWS_PER_CHUNK, rows)
        chunk = np.asarray(flat_blocks[r0:r1])
        out[r0:r1, 0::2] = FP4_VALUES[(chunk >> first) & 0x0F]
        out[r0:r1, 1::2] = FP4_VALUES[(chunk >> second) & 0x0F]
        # ldexp is exact (a power-of-two scale), matching transformers' torch.ldexp step.
        exponents = flat_scales[r0:r1].astype(np.int32) - _SCALE_BIAS
        np.ldexp(out[r0:r1], exponents[:, None], out=out[r0:r1])
    return out.reshape(prefix[:-1] + (prefix[-1] * BLOCK,))


def mxfp4_to_int8_blocks(blocks: np.ndarray, scales: np.ndarray, group: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Lossless int8 form: values int8 [..., G/group, 32·group] and float32 scales [..., G/group], one scale per
    `group` consecutive MXFP4 blocks.

    E2M1·2^(e-127) = (2·E2M1)·2^(e-m)·2^(m-128) with m the group's smallest exponent, and 2·E2M1·2^(e-m) is an
    integer, so value == int8 * scale exactly while it fits int8 (`int8_groups_are_exact`; raises otherwise).
    With group 1 the values are in [-12, 12]. This is what the `cpu` export target feeds to ORT's int8 QMoE.
    2^(e-128) is representable in float32 for every e in 0..254 (down to 2^-128, a subnormal); e = 255 is NaN
    in the OCP spec and never used by gpt-oss.
    """
    _check(blocks, scales)
    if not int8_groups_are_exact(scales, group):
        raise ValueError(f"MXFP4 exponents differ by more than {INT8_EXPONENT_SPREAD} inside a group of {group} "
                         "blocks: int8 with one scale per group would round them")
    lead = scales.shape[:-1]
    exponents = scales.astype(np.int32).reshape(lead + (-1, group))
    smallest = exponents.min(axis=-1)
    shifts = (exponents - smallest[..., None])[..., None]  # [..., G/group, group, 1]
    doubled = FP4_DOUBLED[unpack_nibbles(blocks)].reshape(lead + (-1, group, BLOCK))
    values = (doubled.astype(np.int16) << shifts).astype(np.int8).reshape(lead + (-1, group * BLOCK))
    block_scales = np.ldexp(np.float32(1.0), smallest - (_SCALE_BIAS + 1)).astype(np.float32)
    return values, block_scales


# A power-of-two int8 scale shared by several MXFP4 blocks stays lossless while no block's exponent is more than
# this above the group's smallest: 12 (the largest doubled E2M1 integer) x 2^3 = 96 <= 127, x 2^4 = 192 is not.
INT8_EXPONENT_SPREAD = 3


def int8_groups_are_exact(scales: np.ndarray, group: int) -> bool:
    """Whether `mxfp4_to_int8_blocks(..., group)` reproduces every value: the exponents of each `group`
    consecutive blocks (scales uint8 [..., G], G a multiple of `group`) lie within INT8_EXPONENT_SPREAD.

    Judged from the exponents alone (conservative: a block of zeros counts with its exponent), so the export
    can choose a QMoE block size per layer before it writes any weight."""
    if scales.shape[-1] % group:
        return False
    e = scales.astype(np.int16).reshape(scales.shape[:-1] + (scales.shape[-1] // group, group))
    return bool(np.all(e.max(axis=-1) - e.min(axis=-1) <= INT8_EXPONENT_SPREAD))


_E2M1_MAX = 6.0


ROUND_UP = "round-up"
BEST = "best"


def encode(values: np.ndarray, *, scale: str = BEST) -> tuple[np.ndarray, np.ndarray]:
    """Quantises float values [..., K] (K a multiple of 32) to MXFP4 blocks [..., K/32, 16] and E8M0 scales
    [..., K/32]: per block of 32, a power-of-two scale, and each value rounded to the nearest E2M1 value times
    it (ties to the even code), as microscaling quantisers do.

    scale=ROUND_UP takes 2^e with e = ceil(log2(max|v| / 6)), the smallest that holds the block's largest
    value: triton_kernels' default, the rule gpt-oss's own weights were quantised with. scale=BEST (the
    exporter's) takes the better, by squared error, of that and 2^(e-1), which clips the largest value to ±6
    but halves every step: weights a fine-tune moved a little off the MXFP4 grid would otherwise lose their
    block's scale whenever the largest value moved up. An all-zero block gets exponent byte 0.
    """
    if scale not in (ROUND_UP, BEST):
        raise ValueError(f"scale must be {ROUND_UP!r} or {BEST!r}, not {scale!r}")
    values = np.asarray(values, dtype=np.float32)
    if values.shape[-1] % BLOCK:
        raise ValueError(f"the last axis ({values.shape[-1]}) must be a multiple of {BLOCK}")
    grouped = values.reshape(values.shape[:-1] + (values.shape[-1] // BLOCK, BLOCK))
    magnitude = np.abs(grouped)
    amax = magnitude.max(axis=-1)
    # ceil(log2(amax / 6)) exactly: frexp gives amax/6 = m·2^x with m in [0.5, 1); a power of two has m = 0.5.
    mantissa, exponent = np.frexp(amax / np.float32(_E2M1_MAX))
    up = np.where(mantissa == 0.5, exponent - 1, exponent).astype(np.int32)
    best_codes, best_exponent, best_error = None, up, None
    for e in (up, up - 1) if scale == BEST else (up,):
        e = np.clip(e, -_SCALE_BIAS, 254 - _SCALE_BIAS)
        codes = _nearest_codes(np.ldexp(magnitude, -e[..., None]))
        error = np.square(np.ldexp(FP4_VALUES[codes], e[..., None]) - magnitude).sum(axis=-1)
        if best_codes is None:
            best_codes, best_exponent, best_error = codes, e, error
        else:
            better = error < best_error
            best_codes = np.where(better[..., None], codes, best_codes)
            best_exponent = np.where(better, e, best_exponent)
    best_exponent = np.where(amax > 0, best_exponent, -_SCALE_BIAS)
    best_codes |= ((grouped < 0) & (best_codes > 0)).astype(np.uint8) << 3
    return pack_nibbles(best_codes.reshape(values.shape)), (best_exponent + _SCALE_BIAS).astype(np.uint8)


def _nearest_codes(scaled: np.ndarray) -> np.ndarray:
    """E2M1 magnitude codes 0..7 nearest to non-negative values in units of the block scale (clipped at 6).

    The magnitudes step by 0.5 below 2 (codes 0-4), by 1 up to 4 (codes 4-6), by 2 up to 6 (codes 6-7): each
    stretch maps linearly onto its codes and rounds; np.rint rounds halves to even, the even code at every tie."""
    scaled = np.minimum(scaled, np.float32(_E2M1_MAX))
    position = np.where(scaled < 2, scaled * 2, np.where(scaled < 4, scaled + 2, scaled * np.float32(0.5) + 4))
    return np.rint(position).astype(np.uint8)
