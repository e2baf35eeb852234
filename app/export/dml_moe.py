"""gpt-oss's mixture-of-experts for the `dml` target, from operators ORT's DirectML provider implements.

DirectML has no MoE/QMoE kernel, and MatMulNBits takes one constant [N, K] matrix (no batch of experts) with
a uniform int4 grid that cannot hold MXFP4's {0, .5, 1, 1.5, 2, 3, 4, 6} losslessly. So the experts stay in
the checkpoint's own MXFP4 bytes (integer initializers: the package is no bigger than the checkpoint) and are
dequantised *inside the graph*, transiently, one layer at a time (in decode only the k experts chosen):

    value = WORD_LUT[word] * SCALE_LUT[e8m0]   (two Gathers: exact, no bit twiddling)

The packed bytes are stored as little-endian uint16 words (the same bytes, so the same file size) and WORD_LUT
is a [65536, 4] table mapping a word to the E2M1 values of its four nibbles in the checkpoint's order (low
nibble of the first byte first). One Gather thus splits and decodes four values; on ORT's CPU provider that is
1.6x faster than a [256, 2] byte table, and on a GPU it halves the index traffic. SCALE_LUT[e] = 2^(e-127).

Two execution paths, chosen per call by an `If` on the token count:
  * decode (1 token): Gather the k selected experts' packed weights by the TopK indices, decode those k and
    MatMul block by block ([G, N, 32] slabs), applying the E8M0 scales to the [G, N] block sums rather than
    to the N*K weights. Shapes are static, so the GPU never waits for the CPU.
  * prefill (many tokens): an unrolled loop over the E experts. Each finds its tokens with NonZero, gathers
    them, decodes its own weights once for all of them, and scatters its weighted output back. Peak memory is
    one dequantised expert instead of S*k of them; the price is E data-dependent shapes (a GPU->CPU sync each)
    per layer, which only prefill pays. No tensor is ever empty (see build_expert_loop_path).
Both paths read only runtime-indexed slices of the weights, so ORT's constant folding can never expand an
expert initializer to float at session start.

Routing is gpt-oss's: router logits = x W^T + b, TopK(k), softmax over the k values. The SwiGLU is the
reference's (gpt_oss/torch/model.py `swiglu`): gate clamped above at `limit`, up clamped to ±limit,
gate * sigmoid(alpha * gate) * (up + 1). The checkpoint interleaves gate (even rows) and up (odd rows); the
export permutes the rows (an exact byte copy) to [gate rows | up rows] so the graph splits instead of striding,
and stores blocks block-major ([E, G, N, ...] instead of [E, N, G, ...]) for the decode MatMul.

Measured on ORT CPU (2 threads, busy shared machine) with the two-layer `20b-layers` package: decode 0.20-0.38
s/token and a 128-token prefill 3.0-4.7 s, against 0.06-0.11 s and 0.27-0.48 s for the `cpu` target's fused
QMoE; the E2M1 Gather is ~60% of the dml decode time. The dml graph is built for GPUs, where these Gathers and
MatMuls are bandwidth-bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper

from app.checkpoint.mxfp4 import BLOCK, BYTES_PER_BLOCK, FP4_VALUES
from app.checkpoint.names import layer_names
from app.export.builder import GraphBuilder, onnx_dtype
from app.export.context import LayerContext
from app.export.experts import ExpertSource, expert_sources

# Token counts up to this use the gather-k-experts path; more use the per-expert loop (see module docstring).
GATHER_PATH_MAX_TOKENS = 1


# --- pure weight transforms (NumPy in, NumPy out) ---------------------------------------------------------------
def pair_lut(*, swap_nibbles: bool = False) -> np.ndarray:
    """float32 [256, 2]: byte -> (E2M1 of low nibble, E2M1 of high nibble), the checkpoint's element order.

    `swap_nibbles` reads the high nibble first, which is wrong: only the mutation tests use it.
    """
    byte = np.arange(256)
    first, second = (byte >> 4, byte & 0x0F) if swap_nibbles else (byte & 0x0F, byte >> 4)
    return np.stack([FP4_VALUES[first], FP4_VALUES[second]], axis=1).astype(np.float32)


def scale_lut() -> np.ndarray:
    """float32 [256]: E8M0 byte e -> 2^(e-127), computed with ldexp as transformers does (e=255 gives inf)."""
    with np.errstate(over="ignore"):  # e = 255 is NaN in the OCP spec; transformers' ldexp gives inf too
        return np.ldexp(np.float32(1.0), np.arange(256, dtype=np.int32) - 127).astype(np.float32)


def word_lut(*, swap_nibbles: bool = False) -> np.ndarray:
    """float32 [65536, 4]: little-endian uint16 word -> the E2M1 values of its first byte's two nibbles, then
    its second byte's: exactly `pair_lut` applied to the two bytes the word was made from."""
    pairs = pair_lut(swap_nibbles=swap_nibbles)
    word = np.arange(65536)
    return np.concatenate([pairs[word & 0xFF], pairs[word >> 8]], axis=1)


def as_words(blocks: np.ndarray) -> np.ndarray:
    """MXFP4 bytes [..., 16] -> the same memory as little-endian uint16 words [..., 8]."""
    return np.ascontiguousarray(blocks, dtype=np.uint8).view(np.dtype("<u2"))


def deinterleave_rows(array: np.ndarray, axis: int = 0) -> np.ndarray:
    """Reorders `axis` from the checkpoint's [g0, u0, g1, u1, ...] to [g0, g1, ... | u0, u1, ...].

    Works on one expert's blocks [2I, G, 16] and scales [2I, G], and on all experts' biases [E, 2I] (axis 1):
    rows are independent outputs, so this is an exact permutation.
    """
    if array.shape[axis] % 2:
        raise ValueError(f"gate_up tensors need an even row count on axis {axis}, got shape {array.shape}")
    even = np.take(array, np.arange(0, array.shape[axis], 2), axis=axis)
    odd = np.take(array, np.arange(1, array.shape[axis], 2), axis=axis)
    return np.concatenate([even, odd], axis=axis)


def expert_layout(blocks: np.ndarray, scales: np.ndarray, *, gate_up: bool) -> tuple[np.ndarray, np.ndarray]:
    """One expert as the graph stores it: blocks [N, G, 16] -> uint16 words [G, N, 8], scales [N, G] -> [G, N].

    Block-major ([G, N] rather than [N, G]) so the decode MatMul sees [G, N, 32] slabs and scales its [G, N]
    partial sums (see _project_columns); gate_up rows become [gate | up]. Pure and exact (byte permutations).
    """
    if gate_up:
        blocks, scales = deinterleave_rows(blocks), deinterleave_rows(scales)
    return as_words(np.swapaxes(blocks, 0, 1)), np.ascontiguousarray(np.swapaxes(scales, 0, 1))


# --- graph pieces ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _MoeNames:
    """Initializer names and sizes one layer's MoE subgraph refers to."""

    gu_blocks: str
    gu_scales: str
    gu_bias: str
    d_blocks: str
    d_scales: str
    d_bias: str
    word_lut: str
    scale_lut: str
    experts: int
    top_k: int
    hidden: int
    intermediate: int
    limit: float | None
    alpha: float
    float_type: np.dtype


def _codes(b: GraphBuilder, n: _MoeNames, proj: str, expert_idx: str, tag: str) -> tuple[str, str]:
    """(E2M1 values [m, G, N, 8, 4], block scales [m, G, N]) of the experts `expert_idx` (int64 [m])."""
    blocks, scales = (n.gu_blocks, n.gu_scales) if proj == "gate_up" else (n.d_blocks, n.d_scales)
    packed = b.op("Gather", blocks, expert_idx, axis=0, name=f"{tag}/gather_blocks")  # [m, G, N, 8] u16
    exps = b.op("Gather", scales, expert_idx, axis=0, name=f"{tag}/gather_scales")  # [m, G, N] u8
    codes = b.op("Cast", packed, to=TensorProto.INT32, name=f"{tag}/word_index")
    quads = b.op("Gather", n.word_lut, codes, axis=0, name=f"{tag}/e2m1")  # [m, G, N, 8, 4]
    exp_idx = b.op("Cast", exps, to=TensorProto.INT32, name=f"{tag}/scale_index")
    return quads, b.op("Gather", n.scale_lut, exp_idx, axis=0, name=f"{tag}/e8m0")  # [m, G, N]


def _dims(n: _MoeNames, proj: str) -> tuple[int, int]:
    """(blocks per row G, output rows N) of a projection."""
    return (n.hidden // BLOCK, 2 * n.intermediate) if proj == "gate_up" else (n.intermediate // BLOCK, n.hidden)


def _project_columns(b: GraphBuilder, n: _MoeNames, proj: str, expert_idx: str, x_cols: str, tag: str) -> str:
    """Decode form: expert r applied to its own column, x_cols [R, K, 1] -> [R, N, 1].

    The block scale is applied after the MatMul, to the [R, G, N] block partial sums, not to the [R, N, K]
    weights: one Mul over K/32 times fewer values (the weights are used once, so scaling them is pure cost).
    """
    g, rows = _dims(n, proj)
    quads, scale = _codes(b, n, proj, expert_idx, tag)
    values = b.op("Reshape", quads, b.const(f"{tag}/blocked", [-1, g, rows, BLOCK]), name=f"{tag}/values")
    x_blocks = b.op("Reshape", x_cols, b.const(f"{tag}/x_blocked", [-1, g, BLOCK, 1]), name=f"{tag}/x_blocks")
    partial = b.op("MatMul", values, x_blocks, name=f"{tag}/block_matmul")  # [R, G, N, 1]
    scale = b.op("Unsqueeze", scale, b.const(f"{tag}/axis3", [3]), name=f"{tag}/scale_col")
    partial = b.op("Mul", partial, scale, name=f"{tag}/scaled")
    return b.op("ReduceSum", partial, b.const(f"{tag}/axis_blocks", [1]), keepdims=0, name=f"{tag}/sum_blocks")


def _project_tokens(b: GraphBuilder, n: _MoeNames, proj: str, expert_idx: str, x_cols: str, tag: str) -> str:
    """Prefill form: one expert (m == 1) applied to many token columns, x_cols [K, t] -> [m, N, t].

    Here the weights are reused by every token, so they are scaled and laid out as [m, N, K] once.
    """
    g, rows = _dims(n, proj)
    quads, scale = _codes(b, n, proj, expert_idx, tag)
    scale = b.op("Unsqueeze", scale, b.const(f"{tag}/axes34", [3, 4]), name=f"{tag}/scale_axes")
    weights = b.op("Mul", quads, scale, name=f"{tag}/scaled")  # [m, G, N, 8, 4]
    weights = b.op("Reshape", weights, b.const(f"{tag}/blocked", [-1, g, rows, BLOCK]), name=f"{tag}/blocked")
    weights = b.op("Transpose", weights, perm=[0, 2, 1, 3], name=f"{tag}/rows_first")  # [m, N, G, 32]
    weights = b.op("Reshape", weights, b.const(f"{tag}/matrix", [-1, rows, g * BLOCK]), name=f"{tag}/weights")
    return b.op("MatMul", weights, x_cols, name=f"{tag}/matmul")


def _swiglu(b: GraphBuilder, n: _MoeNames, gate_up: str, tag: str) -> str:
    """gpt-oss SwiGLU on column-shaped [m, 2I, t] (rows [gate | up]) -> [m, I, t]."""
    gate, up = b.add_node("Split", [gate_up, b.const(f"{tag}/split", [n.intermediate, n.intermediate])], 2,
                          name=f"{tag}/split_gate_up", axis=1)
    ft = n.float_type
    if n.limit is not None:
        gate = b.op("Min", gate, b.const(f"{tag}/limit", n.limit, ft), name=f"{tag}/gate_clamp")
        up = b.op("Clip", up, b.const(f"{tag}/neg_limit", -n.limit, ft), b.const(f"{tag}/pos_limit", n.limit, ft),
                  name=f"{tag}/up_clamp")
    scaled = b.op("Mul", gate, b.const(f"{tag}/alpha", n.alpha, ft), name=f"{tag}/alpha_gate")
    glu = b.op("Mul", gate, b.op("Sigmoid", scaled, name=f"{tag}/sigmoid"), name=f"{tag}/glu")
    up1 = b.op("Add", up, b.const(f"{tag}/one", 1.0, ft), name=f"{tag}/up_plus_one")
    return b.op("Mul", glu, up1, name=f"{tag}/swiglu")


def _expert_mlp(b: GraphBuilder, n: _MoeNames, expert_idx: str, x_cols: str, tag: str, *, decode: bool) -> str:
    """Experts `expert_idx` [m] on column inputs -> [m, H, t] (biases included); see _project_* for shapes."""
    project = _project_columns if decode else _project_tokens
    gu = project(b, n, "gate_up", expert_idx, x_cols, f"{tag}/gate_up")  # [m, 2I, t]
    gu = b.op("Add", gu, b.op("Gather", n.gu_bias, expert_idx, axis=0, name=f"{tag}/gate_up_bias"),
              name=f"{tag}/gate_up_add_bias")
    h = _swiglu(b, n, gu, tag)  # [m, I, t]
    if not decode:
        h = b.op("Reshape", h, b.const(f"{tag}/h_cols", [n.intermediate, -1]), name=f"{tag}/h_cols")  # m == 1
    y = project(b, n, "down", expert_idx, h, f"{tag}/down")  # [m, H, t]
    return b.op("Add", y, b.op("Gather", n.d_bias, expert_idx, axis=0, name=f"{tag}/down_bias"),
                name=f"{tag}/down_add_bias")


def build_gather_path(b: GraphBuilder, n: _MoeNames, x2d: str, top_idx: str, top_w: str, tag: str) -> str:
    """All T*k (token, expert) pairs at once: dequantises T*k experts, so only for a handful of tokens."""
    k, h = n.top_k, n.hidden
    flat_idx = b.op("Reshape", top_idx, b.const(f"{tag}/flat", [-1]), name=f"{tag}/flat_experts")  # [T*k]
    x3 = b.op("Unsqueeze", x2d, b.const(f"{tag}/axis1", [1]), name=f"{tag}/x_unsqueeze")  # [T, 1, H]
    x3 = b.op("Expand", x3, b.const(f"{tag}/expand", [1, k, 1]), name=f"{tag}/x_per_slot")  # [T, k, H]
    x_cols = b.op("Reshape", x3, b.const(f"{tag}/cols", [-1, h, 1]), name=f"{tag}/x_cols")  # [T*k, H, 1]
    y = _expert_mlp(b, n, flat_idx, x_cols, tag, decode=True)  # [T*k, H, 1]
    w = b.op("Reshape", top_w, b.const(f"{tag}/w_shape", [-1, 1, 1]), name=f"{tag}/w_cols")
    y = b.op("Mul", y, w, name=f"{tag}/weighted")
    y = b.op("Reshape", y, b.const(f"{tag}/tkh", [-1, k, h]), name=f"{tag}/per_slot")
    return b.op("ReduceSum", y, b.const(f"{tag}/axes1", [1]), keepdims=0, name=f"{tag}/sum_slots")  # [T, H]


def build_expert_loop_path(b: GraphBuilder, n: _MoeNames, x2d: str, top_idx: str, top_w: str, tag: str) -> str:
    """Unrolled loop over experts; each handles only its own tokens (see module docstring).

    No tensor here is ever empty: DirectML kernels skip work on empty tensors (DmlOperator.cpp), so a
    ScatterND with no updates could leave its output unwritten instead of copying its input. Every expert
    therefore also takes a padding row (index T, zero input, routing weight 0) that is dropped at the end;
    the price is that a multi-token call decodes every expert's weights, which a prompt of more than a few
    tokens does anyway.
    """
    h, k, ft = n.hidden, n.top_k, n.float_type
    x_pad = b.op("Concat", x2d, b.add_initializer(f"{tag}.zero_row", np.zeros((1, h), ft)), axis=0,
                 name=f"{tag}/x_pad")  # [T+1, H]
    w_pad = b.op("Concat", top_w, b.add_initializer(f"{tag}.zero_weights", np.zeros((1, k), ft)), axis=0,
                 name=f"{tag}/w_pad")  # [T+1, k]
    pad_hit = b.add_initializer(f"{tag}.pad_hit", np.eye(1, k, dtype=np.bool_))  # the padding row "picks" once
    acc = b.op("ConstantOfShape", b.op("Shape", x_pad, name=f"{tag}/x_shape"),
               value=helper.make_tensor("zero", onnx_dtype(ft), [1], [0.0]), name=f"{tag}/zeros")
    one = b.const(f"{tag}/one_i64", [1])
    zero = b.const(f"{tag}/zero_i64", [0])
    row0 = b.const(f"{tag}/row0", [0])
    flat = b.const(f"{tag}/flat", [-1])
    for e in range(n.experts):
        t = f"{tag}/e{e}"
        hit = b.op("Equal", top_idx, b.const(f"{t}/id", e), name=f"{t}/hit")  # [T, k] bool
        hit = b.op("Concat", hit, pad_hit, axis=0, name=f"{t}/hit_pad")  # [T+1, k]
        where = b.op("NonZero", hit, name=f"{t}/nonzero")  # [2, n]: (token, slot) pairs, at most one per token
        tokens = b.op("Reshape", b.op("Gather", where, row0, axis=0, name=f"{t}/token_row"), flat,
                      name=f"{t}/tokens")  # [n], n >= 1 (the padding row)
        weight = b.op("GatherND", w_pad, b.op("Transpose", where, perm=[1, 0], name=f"{t}/pairs"),
                      name=f"{t}/weight")  # [n]
        # [e] as a runtime value (Min(count, 1) is always 1): a constant index would let ORT's constant folding
        # decode this expert's weights to float at session start.
        used = b.op("Min", b.op("Shape", tokens, name=f"{t}/count"), one, name=f"{t}/used")
        expert_idx = b.op("Slice", b.const(f"{t}/self", [e]), zero, used, name=f"{t}/index")  # [1]
        x_cols = b.op("Transpose", b.op("Gather", x_pad, tokens, axis=0, name=f"{t}/x"), perm=[1, 0],
                      name=f"{t}/x_cols")  # [H, n]
        y = _expert_mlp(b, n, expert_idx, x_cols, t, decode=False)  # [1, H, n]
        y = b.op("Mul", y, weight, name=f"{t}/weighted")
        y = b.op("Transpose", y, perm=[0, 2, 1], name=f"{t}/rows")  # [1, n, H]
        y = b.op("Reshape", y, b.const(f"{t}/rows_shape", [-1, h]), name=f"{t}/rows_2d")  # [n, H]
        token_idx = b.op("Unsqueeze", tokens, b.const(f"{t}/axis1", [1]), name=f"{t}/token_idx")
        summed = b.op("Add", b.op("Gather", acc, tokens, axis=0, name=f"{t}/acc_rows"), y, name=f"{t}/sum")
        acc = b.op("ScatterND", acc, token_idx, summed, name=f"{t}/scatter")
    return b.op("Slice", acc, zero, b.const(f"{tag}/drop_pad", [-1]), zero, name=f"{tag}/drop_pad_row")


@contextmanager
def _subgraph_nodes(b: GraphBuilder) -> Iterator[list[onnx.NodeProto]]:
    """Collects the nodes added inside the block into a separate list (an If branch) instead of the graph.

    Relies on GraphBuilder keeping its nodes in the public `nodes` list; initializers and constants made
    inside still go to the main graph, which If branches may read as outer-scope values.
    """
    saved = b.nodes
    b.nodes = []
    try:
        yield b.nodes
    finally:
        b.nodes = saved


def _branch(b: GraphBuilder, name: str, body: Callable[[], str], elem_type: int) -> onnx.GraphProto:
    with _subgraph_nodes(b) as nodes:
        out = body()
    return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(out, elem_type, None)])


def _write_experts(b: GraphBuilder, name: str, src: ExpertSource, shape: tuple[int, int, int], *,
                   gate_up: bool, float_type: np.dtype, scale_name: str) -> tuple[str, str]:
    """Streams one projection's experts into the data file one expert at a time (bounded export memory).

    `shape` is the MXFP4 (N, G, 16) per expert; returns (blocks, scales) initializer names. Floating-point
    experts are quantised to MXFP4 on the way (app.checkpoint.mxfp4.encode); `scale_name` names the checkpoint
    tensor the scales come from, for the error when the activation dtype cannot hold one.
    """
    if (src.out_features, src.in_features // BLOCK) != shape[:2]:
        raise ValueError(f"{name}: experts are [{src.out_features}, {src.in_features}], the config expects "
                         f"[{shape[0]}, {shape[1] * BLOCK}]")
    scales_out: list[np.ndarray] = []

    def chunks() -> Iterator[np.ndarray]:
        for slot in range(src.num_experts):
            blocks, scales = src.mxfp4(slot)
            check_scale_range(scale_name, scales, float_type)
            words, scales = expert_layout(blocks, scales, gate_up=gate_up)
            scales_out.append(scales)
            yield words

    rows, groups, _ = shape
    blocks = b.add_streamed_initializer(f"{name}.blocks", TensorProto.UINT16,
                                        [src.num_experts, groups, rows, BYTES_PER_BLOCK // 2], chunks())
    return blocks, b.add_initializer(f"{name}.scales", np.stack(scales_out))


def moe_names(b: GraphBuilder, ctx: LayerContext, layer: int) -> _MoeNames:
    """Writes one layer's expert initializers (plus the shared lookup tables) and returns their names."""
    cfg, ft = ctx.config, np.dtype(ctx.float_type)
    names = layer_names(layer)
    e, h, i = cfg.num_local_experts, cfg.hidden_size, cfg.intermediate_size
    # debug_swap_experts stores the experts in reverse order (router unchanged): a deliberate bug.
    order = tuple(range(e))[::-1] if ctx.options.debug_swap_experts else tuple(range(e))
    prefix = f"layers.{layer}.moe"
    written = {}
    sources = dict(zip(("gate_up", "down"), expert_sources(ctx.weights, layer, order)))
    for proj, rows, cols in (("gate_up", 2 * i, h), ("down", h, i)):
        written[proj] = _write_experts(b, f"{prefix}.{proj}", sources[proj], (rows, cols // BLOCK, BYTES_PER_BLOCK),
                                       gate_up=proj == "gate_up", float_type=ft,
                                       scale_name=names[f"{proj}_scales" if ctx.weights.experts_are_mxfp4
                                                        else f"{proj}_proj"])
    gu_bias = deinterleave_rows(ctx.weights.tensor_f32(names["gate_up_bias"]), axis=1)[list(order)]
    d_bias = ctx.weights.tensor_f32(names["down_bias"])[list(order)]
    luts = _shared_luts(b, ft, ctx.options.debug_swap_nibbles)
    return _MoeNames(
        gu_blocks=written["gate_up"][0], gu_scales=written["gate_up"][1],
        gu_bias=b.add_initializer(f"{prefix}.gate_up.bias", gu_bias[..., None].astype(ft)),
        d_blocks=written["down"][0], d_scales=written["down"][1],
        d_bias=b.add_initializer(f"{prefix}.down.bias", d_bias[..., None].astype(ft)),
        word_lut=luts[0], scale_lut=luts[1],
        experts=e, top_k=cfg.num_experts_per_tok, hidden=h, intermediate=i,
        limit=None if ctx.options.debug_no_swiglu_limit else cfg.swiglu_limit,
        alpha=cfg.swiglu_alpha, float_type=ft,
    )


_LUT_CACHE_ATTR = "_dml_moe_luts"


def _narrow(table: np.ndarray, ft: np.dtype) -> np.ndarray:
    """The float32 scale table in the activation dtype; entries it cannot hold become inf/0, and
    check_scale_range keeps any tensor that would use them out of the graph."""
    with np.errstate(over="ignore", under="ignore"):
        return table.astype(ft)


def _shared_luts(b: GraphBuilder, ft: np.dtype, swap_nibbles: bool) -> tuple[str, str]:
    """The two lookup tables, written once per graph and shared by every layer."""
    cached = getattr(b, _LUT_CACHE_ATTR, None)
    if cached is None:
        cached = (b.add_initializer("moe.e2m1_word_lut", word_lut(swap_nibbles=swap_nibbles).astype(ft)),
                  b.add_initializer("moe.e8m0_scale_lut", _narrow(scale_lut(), ft)))
        setattr(b, _LUT_CACHE_ATTR, cached)
    return cached


def check_scale_range(name: str, scales: np.ndarray, float_type: np.dtype) -> None:
    """Refuses E8M0 exponents whose block values the activation dtype cannot hold exactly.

    float32 holds every 2^(e-127) for e < 255 (down to a subnormal 2^-127) and 6·2^(e-127) below e = 254; in
    float16 a scale must be a normal number (2^-14 and up, so E2M1's 0.5 step stays exact) and 6·scale must
    stay under 65504.
    """
    if np.dtype(float_type) == np.float16:
        low, high = 127 - 14 + 1, 127 + 13  # 0.5·2^(e-127) >= 2^-14 and 6·2^(e-127) <= 49152
    else:
        low, high = 0, 253
    bad = (scales < low) | (scales > high)
    if bad.any():
        value = int(scales[bad].flat[0])
        raise ValueError(f"tensor {name} has block exponent {value} (scale 2^{value - 127}), which "
                         f"{np.dtype(float_type).name} activations cannot represent exactly")


def build_router(b: GraphBuilder, ctx: LayerContext, layer: int, x2d: str) -> tuple[str, str]:
    """(top-k expert indices int64 [T, k], routing weights [T, k]) as gpt-oss routes: softmax over the top k."""
    names = layer_names(layer)
    ft = np.dtype(ctx.float_type)
    w = ctx.weights.tensor_f32(names["router_weight"]).T.astype(ft)  # [H, E]
    bias = ctx.weights.tensor_f32(names["router_bias"]).astype(ft)
    prefix = f"layers.{layer}.moe.router"
    logits = b.op("Add", b.op("MatMul", x2d, b.add_initializer(f"{prefix}.weight", w), name=f"{prefix}/matmul"),
                  b.add_initializer(f"{prefix}.bias", bias), name=f"{prefix}/logits")
    values, indices = b.add_node("TopK", [logits, b.const(f"{prefix}/k", [ctx.config.num_experts_per_tok])], 2,
                                 name=f"{prefix}/topk", axis=-1, largest=1, sorted=1)
    return indices, b.op("Softmax", values, axis=-1, name=f"{prefix}/softmax")


def build_moe(b: GraphBuilder, layer: int, hidden: str, ctx: LayerContext) -> str:
    """The MoE block of one layer: `hidden` [batch, seq, H] (already normalised) -> [batch, seq, H].

    Signature as app/export/builder.py documents for every target's layer functions.
    """
    cfg = ctx.config
    prefix = f"layers.{layer}.moe"
    x2d = b.op("Reshape", hidden, b.const(f"{prefix}/flat_shape", [-1, cfg.hidden_size]), name=f"{prefix}/flatten")
    top_idx, top_w = build_router(b, ctx, layer, x2d)
    n = moe_names(b, ctx, layer)
    elem = onnx_dtype(n.float_type)
    tokens = b.op("Shape", x2d, start=0, end=1, name=f"{prefix}/tokens")
    few = b.op("LessOrEqual", tokens, b.const(f"{prefix}/gather_max", [GATHER_PATH_MAX_TOKENS]),
               name=f"{prefix}/few_tokens")
    then_g = _branch(b, f"{prefix}.gather_path",
                     lambda: build_gather_path(b, n, x2d, top_idx, top_w, f"{prefix}/gather"), elem)
    else_g = _branch(b, f"{prefix}.expert_loop",
                     lambda: build_expert_loop_path(b, n, x2d, top_idx, top_w, f"{prefix}/loop"), elem)
    (mixed,) = b.add_node("If", [few], 1, name=f"{prefix}/path", then_branch=then_g, else_branch=else_g)
    return b.op("Reshape", mixed, b.op("Shape", hidden, name=f"{prefix}/in_shape"), name=f"{prefix}/out")
