"""Expert tensors -> the weight layouts ORT's QMoE expects, one expert at a time, for every target and both
kinds of checkpoint (the Hub's MXFP4 experts, or floating-point ones from a fine-tune saved by transformers).

QMoE stores each expert "column major", i.e. as [N, K] = [out_features, in_features], which is the
checkpoint's own row order, so no transpose is needed for the int targets. gate_up rows are already
interleaved gate/up (even/odd), exactly what `swiglu_fusion=1` reads.

What each target stores is decided in one place, `ENCODINGS` (keyed by target; the manifest quotes it): from
MXFP4, cpu re-encodes losslessly as int8 and cuda/dml keep the bytes; from floats, every target quantises.

Each function yields per-expert chunks for `GraphBuilder.add_streamed_initializer`, so converting a layer of
gpt-oss-120b (128 experts) never holds more than one expert in a second representation. All functions are
pure: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import hashlib
from dataclasses import dataclass

import numpy as np

from app.checkpoint import mxfp4
from app.checkpoint.names import FLOAT_EXPERT_PARTS, MXFP4_PARTS, layer_names
from app.export.pages import release_pages

INT8_ZERO_POINT = 128  # QMoE's default zero point for 8-bit weights (stored = value + 128)
INT4_ZERO_POINT = 8  # ... and for 4-bit weights
# Candidate divisors of a block's absolute maximum for the int4 scale; the one with the least squared error
# wins per block. 7 maps the maximum onto +-7; larger ones trade clipping of the maximum for finer steps.
INT4_SCALE_DIVISORS = (6.0, 6.5, 7.0, 7.5, 8.0)


@dataclass(frozen=True)
class ExpertEncoding:
    """How a target stores expert weights, from each kind of source (the text goes into the manifest)."""

    from_mxfp4: str
    from_float: str


ENCODINGS: dict[str, ExpertEncoding] = {
    "cpu": ExpertEncoding("int8 block-64 (lossless MXFP4; block-32 in a layer where 64 would round)",
                          "int8 block-32 (symmetric, absmax/127)"),
    "cpu-int4": ExpertEncoding("int4 block-wise (re-quantised from MXFP4)", "int4 block-wise (quantised)"),
    "cuda": ExpertEncoding("mxfp4 (bit-exact, E8M0 scales)", "mxfp4 (quantised, E8M0 scales)"),
    "dml": ExpertEncoding("mxfp4 (4-bit, decoded in the graph)", "mxfp4 (quantised, decoded in the graph)"),
}


def swap_nibbles(blocks: np.ndarray) -> np.ndarray:
    """Exchanges the two E2M1 codes in every byte (debug mutation: wrong nibble order)."""
    return ((blocks & 0x0F) << 4) | (blocks >> 4)


@dataclass(frozen=True)
class Mxfp4Experts:
    """One projection's MXFP4 tensors for all experts: blocks [E, N, K/32, 16], scales [E, N, K/32].

    `order` lists which checkpoint expert goes to each slot (identity normally; reversed in the
    swapped-experts mutation). `swap` applies the wrong nibble order.
    """

    blocks: np.ndarray
    scales: np.ndarray
    order: tuple[int, ...]
    swap: bool = False
    is_mxfp4 = True  # mxfp4() hands out the checkpoint's own codes

    @property
    def num_experts(self) -> int:
        return len(self.order)

    @property
    def out_features(self) -> int:
        return int(self.blocks.shape[1])

    @property
    def in_features(self) -> int:
        return int(self.blocks.shape[2]) * mxfp4.BLOCK

    def mxfp4(self, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """Blocks [N, K/32, 16] and scales [N, K/32] of the expert stored in `slot` (copied from the map)."""
        index = self.order[slot]
        blocks = np.array(self.blocks[index])  # a copy, so the mapped pages can be released right away
        scales = np.array(self.scales[index])
        release_pages(self.blocks)
        release_pages(self.scales)
        if self.swap:
            blocks = swap_nibbles(blocks)
        return blocks, scales

    def values(self, slot: int) -> np.ndarray:
        """float32 [N, K] of the expert in `slot`."""
        return mxfp4.decode(*self.mxfp4(slot))


@dataclass(frozen=True)
class FloatExperts:
    """One projection's floating-point experts (transformers' layout [E, K, N], gate/up interleaved along N).

    `read(index)` returns checkpoint expert `index` as float32 [K, N]; `values` transposes it to QMoE's [N, K];
    `mxfp4` quantises it (see app.checkpoint.mxfp4.encode) for the targets that store MXFP4.
    """

    read: Callable[[int], np.ndarray]
    in_features: int
    out_features: int
    order: tuple[int, ...]
    swap: bool = False
    is_mxfp4 = False

    @property
    def num_experts(self) -> int:
        return len(self.order)

    def values(self, slot: int) -> np.ndarray:
        values = np.ascontiguousarray(self.read(self.order[slot]).T, dtype=np.float32)
        if values.shape != (self.out_features, self.in_features):
            raise ValueError(f"expert {self.order[slot]} has shape {values.shape[::-1]}, expected "
                             f"{(self.in_features, self.out_features)}")
        return values

    def mxfp4(self, slot: int) -> tuple[np.ndarray, np.ndarray]:
        blocks, scales = mxfp4.encode(self.values(slot))
        return (swap_nibbles(blocks) if self.swap else blocks), scales


ExpertSource = Mxfp4Experts | FloatExperts


def expert_sources(weights, layer: int, order: tuple[int, ...], *,  # noqa: ANN001 - a WeightSource
                   swap_nibbles: bool = False) -> tuple[ExpertSource, ExpertSource]:
    """(gate_up, down) experts of one layer, whichever way the checkpoint stores them."""
    names = layer_names(layer)
    if weights.experts_are_mxfp4:
        return tuple(Mxfp4Experts(weights.tensor_raw(names[f"{proj}_blocks"]),  # type: ignore[return-value]
                                  weights.tensor_raw(names[f"{proj}_scales"]), order, swap=swap_nibbles)
                     for proj in ("gate_up", "down"))
    sources = []
    for proj in ("gate_up", "down"):
        name = names[f"{proj}_proj"]
        k, n = weights.spec(name).shape[1:]

        def read(index: int, name: str = name) -> np.ndarray:
            return weights.tensor_f32(name, rows=slice(index, index + 1))[0]

        sources.append(FloatExperts(read, in_features=k, out_features=n, order=order, swap=swap_nibbles))
    return sources[0], sources[1]


def inputs_digest(weights, layer: int, order: tuple[int, ...], *,  # noqa: ANN001 - a WeightSource
                  swap_nibbles: bool = False) -> bytes:
    """SHA-256 of everything one layer's expert tensors are computed from: the checkpoint's expert tensors
    (name suffix, dtype, shape, bytes), the slot order and the nibble order. Every function here is pure, so
    two layers with the same digest in one export get the same bytes (app.export.layers reuses them: a
    checkpoint of repeated layers, the real-size benchmark's, then quantises each distinct layer once)."""
    names = layer_names(layer)
    parts = MXFP4_PARTS if weights.experts_are_mxfp4 else FLOAT_EXPERT_PARTS
    digest = hashlib.sha256(repr((order, swap_nibbles)).encode())
    for part in parts:
        raw = weights.tensor_raw(names[part])
        digest.update(repr((part, weights.tensor_dtype(names[part]), raw.shape)).encode())
        for expert in range(raw.shape[0]):
            digest.update(np.ascontiguousarray(raw[expert]))
        release_pages(raw)
    return digest.digest()


# --- cpu: lossless int8, block 32 or 64 ----------------------------------------------------------------------
def lossless_int8_block(sources: tuple[ExpertSource, ...], preferred: int) -> int:
    """The QMoE block size for one layer's int8 experts: `preferred` (a multiple of MXFP4's 32) where one
    power-of-two scale per `preferred` values reproduces every MXFP4 value of every source, else 32. From
    floating-point experts always 32 (their int8 is absmax-rounded; a coarser block would round more)."""
    group = preferred // mxfp4.BLOCK
    if group <= 1 or not all(isinstance(src, Mxfp4Experts) for src in sources):
        return mxfp4.BLOCK
    scales = [src.scales for src in sources if isinstance(src, Mxfp4Experts)]
    exact = all(mxfp4.int8_groups_are_exact(np.asarray(s), group) for s in scales)
    for s in scales:
        release_pages(s)
    return preferred if exact else mxfp4.BLOCK


def int8_weight_chunks(src: ExpertSource, block: int, scales_out: list[np.ndarray]) -> Iterator[np.ndarray]:
    """uint8 [N, K] per expert (value + 128) with float32 scales [N, K/block] appended to `scales_out`.

    From MXFP4 the value is the doubled E2M1 integer shifted by its block's exponent above the smallest in its
    `block` and the scale that smallest power of two (app.checkpoint.mxfp4.mxfp4_to_int8_blocks): every MXFP4
    value exactly, given `lossless_int8_block` chose `block`. From floats it is symmetric int8 (absmax/127)."""
    for slot in range(src.num_experts):
        if not src.is_mxfp4:
            q, block_scales = quantize_int8(src.values(slot), block)
            scales_out.append(block_scales)
            yield q.reshape(src.out_features, src.in_features)
            continue
        blocks, scales = src.mxfp4(slot)
        values, block_scales = mxfp4.mxfp4_to_int8_blocks(blocks, scales, block // mxfp4.BLOCK)
        scales_out.append(block_scales)
        yield (values.reshape(src.out_features, src.in_features).astype(np.int16) + INT8_ZERO_POINT).astype(np.uint8)


# --- cpu-int4: lossy symmetric int4, configurable block ------------------------------------------------------
def quantize_int4(values: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int4 block quantisation along the last axis of float32 [N, K].

    Returns packed uint8 [N, K/2] (low nibble = even k, QMoE/MatMulNBits order; stored = q + 8) and float32
    scales [N, K/block]. Per block, the scale is absmax/d for the d in INT4_SCALE_DIVISORS with the least
    squared error (q clipped to -8..7).
    """
    n, k = values.shape
    if k % block:
        raise ValueError(f"in_features {k} is not a multiple of the int4 block size {block}")
    grouped = values.reshape(n, k // block, block)
    absmax = np.abs(grouped).max(axis=-1)
    best_err = np.full(absmax.shape, np.inf, dtype=np.float32)
    best_scale = np.zeros(absmax.shape, dtype=np.float32)
    for divisor in INT4_SCALE_DIVISORS:
        scale = (absmax / np.float32(divisor)).astype(np.float32)
        safe = np.where(scale == 0, np.float32(1.0), scale)
        q = np.clip(np.rint(grouped / safe[..., None]), -8, 7)
        err = ((q * scale[..., None] - grouped) ** 2).sum(axis=-1)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best_scale = np.where(better, scale, best_scale)
    safe = np.where(best_scale == 0, np.float32(1.0), best_scale)
    q = (np.clip(np.rint(grouped / safe[..., None]), -8, 7).astype(np.int8) + INT4_ZERO_POINT).astype(np.uint8)
    q = q.reshape(n, k)
    packed = (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8)
    return packed, best_scale


def _int4_luts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the MXFP4 fast path: per (divisor, block max magnitude m, E2M1 code) the int4 value, its squared
    error in units of the MXFP4 scale, and per (divisor, m) the int4 scale in units of the MXFP4 scale.

    Computed with the same float32 operations as `quantize_int4` (scale = absmax / d, q = rint(v / scale)),
    so both paths round alike; a power-of-two MXFP4 scale factors out of every step exactly."""
    values = mxfp4.FP4_VALUES.astype(np.float32)
    magnitudes = values[:8]
    divisors = np.asarray(INT4_SCALE_DIVISORS, dtype=np.float32)
    unit = (magnitudes[None, :] / divisors[:, None]).astype(np.float32)  # [D, 8] int4 scale / MXFP4 scale
    safe = np.where(unit == 0, np.float32(1.0), unit)
    q = np.clip(np.rint(values[None, None, :] / safe[:, :, None]), -8, 7).astype(np.float32)  # [D, 8, 16]
    err = ((q * unit[:, :, None] - values[None, None, :]) ** 2).astype(np.float32)
    return q.astype(np.int8), err, unit


_INT4_Q, _INT4_ERR, _INT4_UNIT = _int4_luts()


def quantize_int4_mxfp4(blocks: np.ndarray, scales: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """`quantize_int4(mxfp4.decode(blocks, scales), block)` without decoding, for blocks that split MXFP4's
    32-value blocks (16 or 32): inside one, every value is an E2M1 code times the same power of two, so the
    best divisor, the int4 values and their error all come from small tables indexed by the codes. ~10x faster.

    blocks uint8 [N, K/32, 16], scales uint8 [N, K/32] -> (packed uint8 [N, K/2], float32 scales [N, K/block]).
    """
    if mxfp4.BLOCK % block:
        raise ValueError(f"the MXFP4 fast path needs a block size dividing {mxfp4.BLOCK}, not {block}")
    n = blocks.shape[0]
    codes = mxfp4.unpack_nibbles(blocks).reshape(n, -1, block)  # [N, B, block]
    n_blocks = codes.shape[1]
    magnitude = codes & 7
    block_max = magnitude.max(axis=-1)  # [N, B] index of the largest |E2M1| in each block
    counts = np.bincount((np.arange(n * n_blocks).reshape(n, n_blocks, 1) * 16 + codes).ravel(),
                         minlength=n * n_blocks * 16).reshape(n, n_blocks, 16).astype(np.float32)
    best = np.zeros((n, n_blocks), dtype=np.intp)
    best_err = np.full((n, n_blocks), np.inf, dtype=np.float32)
    for d in range(len(INT4_SCALE_DIVISORS)):
        err = np.einsum("nbc,nbc->nb", counts, _INT4_ERR[d][block_max])
        better = err < best_err
        best = np.where(better, d, best)
        best_err = np.where(better, err, best_err)
    q = _INT4_Q[best[..., None], block_max[..., None], codes]  # int8 [N, B, block]
    stored = (q.astype(np.int16) + INT4_ZERO_POINT).astype(np.uint8).reshape(n, -1)
    packed = (stored[:, 0::2] | (stored[:, 1::2] << 4)).astype(np.uint8)
    exponents = np.repeat(scales.astype(np.int32) - 127, mxfp4.BLOCK // block, axis=1)
    int4_scales = np.ldexp(_INT4_UNIT[best, block_max], exponents).astype(np.float32)
    return packed, int4_scales


def quantize_int8(values: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 block quantisation of float32 [N, K] along K (used for a MatMulNBits lm_head).

    Returns uint8 [N, K/block, block] (stored = q + 128, MatMulNBits' default zero point) and float32 scales
    [N, K/block] = absmax / 127."""
    n, k = values.shape
    if k % block:
        raise ValueError(f"in_features {k} is not a multiple of the int8 block size {block}")
    grouped = values.reshape(n, k // block, block)
    scales = (np.abs(grouped).max(axis=-1) / np.float32(127.0)).astype(np.float32)
    safe = np.where(scales == 0, np.float32(1.0), scales)
    q = np.clip(np.rint(grouped / safe[..., None]), -127, 127).astype(np.int16) + INT8_ZERO_POINT
    return q.astype(np.uint8), scales


def dequantize_int4(packed: np.ndarray, scales: np.ndarray, block: int) -> np.ndarray:
    """Inverse of `quantize_int4` (used to measure its error)."""
    n = packed.shape[0]
    q = np.empty((n, packed.shape[1] * 2), dtype=np.int16)
    q[:, 0::2] = packed & 0x0F
    q[:, 1::2] = packed >> 4
    q -= INT4_ZERO_POINT
    return (q.reshape(n, -1, block) * scales[..., None]).reshape(n, -1).astype(np.float32)


def int4_weight_chunks(src: ExpertSource, block: int, scales_out: list[np.ndarray]) -> Iterator[np.ndarray]:
    """Packed uint8 [N, K/2] per expert, quantised from the expert's values (from MXFP4 codes through the
    table path when the block divides 32); appends the float32 scales [N, K/block] to `scales_out`."""
    for slot in range(src.num_experts):
        if src.is_mxfp4 and mxfp4.BLOCK % block == 0:
            packed, block_scales = quantize_int4_mxfp4(*src.mxfp4(slot), block)
        else:
            packed, block_scales = quantize_int4(src.values(slot), block)
        scales_out.append(block_scales)
        yield packed


# --- cuda: MXFP4 kept bit-exact ------------------------------------------------------------------------------
def fp4_weight_chunks(src: ExpertSource, scales_out: list[np.ndarray]) -> Iterator[np.ndarray]:
    """uint8 [K, N/2] per expert: the E2M1 codes, transposed to the column-major layout ORT's CUDA MoE GEMM
    reads (what `pack_fp4_weights_for_cuda_moe_gemm` produces): byte [k, j] holds output rows 2j (low nibble)
    and 2j+1 (high nibble) of input column k. Appends the E8M0 scale bytes [N, K/32] to `scales_out`. From
    MXFP4 only nibbles move and no value changes; from floats the codes are app.checkpoint.mxfp4.encode's."""
    for slot in range(src.num_experts):
        blocks, scales = src.mxfp4(slot)
        scales_out.append(scales)
        codes = mxfp4.unpack_nibbles(blocks).reshape(src.out_features, src.in_features)  # [N, K]
        codes_kn = np.ascontiguousarray(codes.T)
        yield (codes_kn[:, 0::2] | (codes_kn[:, 1::2] << 4)).astype(np.uint8)


def reorder(array: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """Per-expert tensors (biases) in slot order."""
    return np.asarray(array)[list(order)]
