"""The gpt-oss blocks as ORT com.microsoft operators (targets cpu, cpu-int4, cuda).

Attention is one fused QKV MatMul + GroupQueryAttention (rotary, sinks and sliding window inside the kernel);
the MLP is a router MatMul feeding *logits* to QMoE (the kernel does softmax, top-k and renormalisation,
matching transformers' softmax over the top-k logits). Input orders and attributes follow the operator
schemas registered in onnxruntime 1.32 (`onnxruntime.capi._pybind_state.get_all_operator_schema()`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from onnx import TensorProto

from app.checkpoint.names import layer_names
from app.export import experts
from app.export.builder import MS_DOMAIN, GraphBuilder, onnx_dtype
from app.export.context import AttentionIO, LayerContext
from app.export.dml_weights import to_storage_fp16
from app.package.targets import INT4, MXFP4


def float_weight(ctx: LayerContext, values: np.ndarray, name: str) -> np.ndarray:
    """A float32 tensor in the graph's activation dtype; fp16 refuses values it cannot hold (naming `name`)
    instead of writing inf."""
    if ctx.float_type == np.float32:
        return np.ascontiguousarray(values, dtype=np.float32)
    return to_storage_fp16(name, values)


def rms_norm(b: GraphBuilder, ctx: LayerContext, x: str, weight_name: str, name: str) -> str:
    """RMSNorm without a residual (only the very first norm; the others fuse the residual add).

    Built from standard ops (computed in float32 as transformers' GptOssRMSNorm does): ORT's own
    SimplifiedLayerNormalization sits in the ONNX domain without an ONNX schema, so onnx.checker and other
    runtimes reject it, and it runs once per token, so fusion buys nothing here."""
    gamma = b.add_initializer(name + ".weight", ctx.weights.tensor_f32(weight_name))
    x32 = x if ctx.float_type == np.float32 else b.op("Cast", x, name=name + "/to_f32", to=TensorProto.FLOAT)
    mean_sq = b.op("ReduceMean", b.op("Mul", x32, x32, name=name + "/square"), b.const(name + "/axes", [-1]),
                   name=name + "/mean", keepdims=1)
    eps = b.add_initializer(name + ".eps", np.array(ctx.config.rms_norm_eps, dtype=np.float32))
    inv = b.op("Reciprocal", b.op("Sqrt", b.op("Add", mean_sq, eps, name=name + "/add_eps"), name=name + "/sqrt"),
               name=name + "/inv")
    out = b.op("Mul", b.op("Mul", x32, inv, name=name + "/normalise"), gamma, name=name + "/scale")
    return out if ctx.float_type == np.float32 else b.op("Cast", out, name=name + "/to_float", to=elem_type(ctx))


def skip_rms_norm(b: GraphBuilder, ctx: LayerContext, x: str, residual: str, weight_name: str,
                  name: str) -> tuple[str, str]:
    """(normalised, new residual) = RMSNorm(x + residual), residual = x + residual, in one kernel."""
    gamma = b.add_initializer(name + ".weight", float_weight(ctx, ctx.weights.tensor_f32(weight_name), weight_name))
    out, _, _, summed = b.add_node(
        "SkipSimplifiedLayerNormalization", [x, residual, gamma], 4, name=name, domain=MS_DOMAIN,
        epsilon=ctx.config.rms_norm_eps,
    )
    return out, summed


def linear(b: GraphBuilder, ctx: LayerContext, x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
    """x @ weight.T + bias for a checkpoint weight [out, in] (MatMul wants [in, out])."""
    w = b.add_initializer(name + ".weight", float_weight(ctx, np.ascontiguousarray(weight.T), name + ".weight"))
    bias_name = b.add_initializer(name + ".bias", float_weight(ctx, bias, name + ".bias"))
    return b.op("Add", b.op("MatMul", x, w, name=name + "/MatMul"), bias_name, name=name + "/Add")


def projection(b: GraphBuilder, ctx: LayerContext, x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
    """An attention projection in the target's storage (Target.projection_bits): `linear`, or int8 block-wise
    MatMulNBits (weight [out, in] is already MatMulNBits' [N, K] order) followed by the float bias."""
    if ctx.projection_bits == 0:
        return linear(b, ctx, x, weight, bias, name)
    bias_name = b.add_initializer(name + ".bias", float_weight(ctx, bias, name + ".bias"))
    return b.op("Add", int8_matmul(b, ctx, x, weight, name), bias_name, name=name + "/Add")


def int8_matmul(b: GraphBuilder, ctx: LayerContext, x: str, weight: np.ndarray, name: str) -> str:
    """x @ weight.T with weight [out, in] stored as int8 in blocks of Target.dense_block_size (MatMulNBits,
    accuracy_level 4: int8 activations and dot products, see app.package.targets for the measurement)."""
    n, k = weight.shape
    block = ctx.dense_block_size
    q, scales = experts.quantize_int8(np.asarray(weight, dtype=np.float32), block)
    qweight = b.add_initializer(name + ".qweight", q)
    scale = b.add_initializer(name + ".scales", scales.astype(ctx.float_type))
    return b.op("MatMulNBits", x, qweight, scale, name=name + "/MatMulNBits", domain=MS_DOMAIN,
                K=k, N=n, bits=8, block_size=block, accuracy_level=4)


def build_attention(b: GraphBuilder, layer: int, hidden: str, ctx: LayerContext, io: AttentionIO) -> str:
    """Self-attention of one layer: fused QKV projection, GQA with sinks/window/YaRN rotary, o_proj."""
    cfg, opts = ctx.config, ctx.options
    names = layer_names(layer)
    f32 = ctx.weights.tensor_f32
    prefix = f"layers.{layer}.attn"
    qkv_w = np.concatenate([f32(names["q_weight"]), f32(names["k_weight"]), f32(names["v_weight"])], axis=0)
    qkv_b = np.concatenate([f32(names["q_bias"]), f32(names["k_bias"]), f32(names["v_bias"])])
    qkv = projection(b, ctx, hidden, qkv_w, qkv_b, prefix + ".qkv_proj")
    del qkv_w
    kv_type = ctx.kv_type
    cast = kv_type != ctx.float_type  # GQA runs in the KV cache's dtype: q/k/v in, its output back
    if cast:
        qkv = b.op("Cast", qkv, name=prefix + "/qkv_to_kv_type", to=onnx_dtype(kv_type))
    sinks = "" if opts.debug_drop_sinks else b.add_initializer(
        prefix + ".sinks", _as_kv_type(kv_type, f32(names["sinks"]), names["sinks"]))
    window_cache = {"sliding_window_cache": 1} if ctx.window_capacity(layer) else {}
    attn, _, _ = b.add_node(
        "GroupQueryAttention",
        [qkv, "", "", io.past_key, io.past_value, io.seqlens_k, io.total_sequence_length,
         io.cos_cache, io.sin_cache, "", "", sinks],
        [b.unique(prefix + "/gqa_out"), io.present_key, io.present_value],
        name=prefix + "/GroupQueryAttention", domain=MS_DOMAIN,
        num_heads=cfg.num_attention_heads, kv_num_heads=cfg.num_key_value_heads,
        do_rotary=1, rotary_interleaved=0, local_window_size=ctx.window(layer), **window_cache,
    )
    if cast:
        attn = b.op("Cast", attn, name=prefix + "/gqa_out_to_float", to=elem_type(ctx))
    return projection(b, ctx, attn, f32(names["o_weight"]), f32(names["o_bias"]), prefix + ".o_proj")


def build_moe(b: GraphBuilder, layer: int, hidden: str, ctx: LayerContext) -> str:
    """Router + QMoE for one layer; expert weights per target (int8 lossless, int4, or raw MXFP4)."""
    cfg, opts = ctx.config, ctx.options
    names = layer_names(layer)
    w = ctx.weights
    prefix = f"layers.{layer}.moe"
    logits = linear(b, ctx, hidden, w.tensor_f32(names["router_weight"]), w.tensor_f32(names["router_bias"]),
                    prefix + ".router")
    flat = b.op("Reshape", hidden, b.const(prefix + "/flat_shape", [-1, cfg.hidden_size]), name=prefix + "/flatten")
    flat_logits = b.op("Reshape", logits, b.const(prefix + "/logit_shape", [-1, cfg.num_local_experts]),
                       name=prefix + "/flatten_logits")

    order = tuple(range(cfg.num_local_experts))
    if opts.debug_swap_experts:
        order = order[::-1]
    up, down = experts.expert_sources(w, layer, order, swap_nibbles=opts.debug_swap_nibbles)
    if opts.experts_fp32:
        return _fp32_moe(b, ctx, layer, hidden, flat, flat_logits, up, down, order)
    block = expert_block(ctx, up, down)
    fc1_w, fc1_s, fc2_w, fc2_s = _quantised_experts(b, ctx, layer, up, down, block, order, prefix)
    fc1_b = b.add_initializer(prefix + ".fc1.bias",
                              float_weight(ctx, experts.reorder(w.tensor_f32(names["gate_up_bias"]), order),
                                           names["gate_up_bias"]))
    fc2_b = b.add_initializer(prefix + ".fc2.bias",
                              float_weight(ctx, experts.reorder(w.tensor_f32(names["down_bias"]), order),
                                           names["down_bias"]))
    inputs = [flat, flat_logits, fc1_w, fc1_s, fc1_b, fc2_w, fc2_s, fc2_b]
    attrs: dict[str, object] = {}
    if ctx.record.experts == MXFP4:
        ones = np.ones(cfg.num_local_experts, dtype=np.float32)
        inputs += ["", "", "", "", "", "", "", b.add_initializer(prefix + ".fc1.global_scale", ones),
                   b.add_initializer(prefix + ".fc2.global_scale", ones)]
        attrs.update(quant_type="fp4", expert_weight_bits=4, block_size=32)
    else:
        attrs.update(expert_weight_bits=4 if ctx.record.experts == INT4 else 8, block_size=block)
    out = b.op("QMoE", *inputs, name=prefix + "/QMoE", domain=MS_DOMAIN, **_swiglu_attrs(ctx), **attrs)
    return b.op("Reshape", out, b.op("Shape", hidden, name=prefix + "/shape"), name=prefix + "/unflatten")


def _quantised_experts(b: GraphBuilder, ctx: LayerContext, layer: int, up: experts.ExpertSource,
                       down: experts.ExpertSource, block: int, order: tuple[int, ...],
                       prefix: str) -> tuple[str, ...]:
    """(fc1 weights, fc1 scales, fc2 weights, fc2 scales) initializer names of one layer's experts.

    A layer whose expert inputs are byte-identical to an earlier layer's (experts.inputs_digest) gets copies of
    that layer's initializers instead of a second quantisation: the functions are pure, so the package is the
    same byte for byte (tests/export/test_repeated_layers.py) and the 24-layer benchmark checkpoint, which
    repeats two layers, exports in minutes instead of ~90 at load 12 (docs/benchmarks.md). Real checkpoints
    have no repeated layer; for them it costs one SHA-256 pass over the expert bytes."""
    key = None
    if ctx.options.reuse_repeated_experts:
        key = experts.inputs_digest(ctx.weights, layer, order, swap_nibbles=ctx.options.debug_swap_nibbles)
        key += block.to_bytes(4, "little")  # chosen from the same inputs; in the key all the same
        earlier: _WrittenExperts | None = b.recall(key)
        if earlier is not None:
            return earlier.copy(b, prefix)
    first = len(b.initializers)
    fc1_w, fc1_s = _expert_tensors(b, ctx, up, block, prefix + ".fc1")
    fc2_w, fc2_s = _expert_tensors(b, ctx, down, block, prefix + ".fc2")
    if not isinstance(fc1_s, str):  # CPU targets: both scales in one dtype (QMoE's T2 constraint)
        scale_type = expert_scale_dtype(fc1_s, fc2_s)
        fc1_s = b.add_initializer(prefix + ".fc1.scales", fc1_s.astype(scale_type))
        fc2_s = b.add_initializer(prefix + ".fc2.scales", fc2_s.astype(scale_type))
    roles = (fc1_w, fc1_s, fc2_w, fc2_s)
    if key is not None:
        b.remember(key, _WrittenExperts(prefix, b.added_since(first), roles))
    return roles


@dataclass(frozen=True)
class _WrittenExperts:
    """One layer's expert initializers as written: `names` in the order they were added (which fixes their
    place in model.onnx and in the data file), `roles` = (fc1 w, fc1 s, fc2 w, fc2 s) among them."""

    prefix: str
    names: tuple[str, ...]
    roles: tuple[str, ...]

    def copy(self, b: GraphBuilder, prefix: str) -> tuple[str, ...]:
        """Copies every initializer in its original order under `prefix`; returns the new roles."""
        renamed = {name: b.add_copy(prefix + name.removeprefix(self.prefix), name) for name in self.names}
        return tuple(renamed[name] for name in self.roles)


def _swiglu_attrs(ctx: LayerContext) -> dict[str, object]:
    cfg = ctx.config
    return dict(k=cfg.num_experts_per_tok, activation_type="swiglu", swiglu_fusion=1,
                activation_alpha=cfg.swiglu_alpha, activation_beta=1.0,
                swiglu_limit=None if ctx.options.debug_no_swiglu_limit else cfg.swiglu_limit,
                normalize_routing_weights=1)


def _fp32_moe(b: GraphBuilder, ctx: LayerContext, layer: int, hidden: str, flat: str, flat_logits: str,
              up: experts.ExpertSource, down: experts.ExpertSource, order: tuple[int, ...]) -> str:
    """The diagnostic float32 path: decoded MXFP4 experts in ORT's unquantised MoE op."""
    names = layer_names(layer)
    prefix = f"layers.{layer}.moe"
    w = ctx.weights

    def decoded(src: experts.ExpertSource) -> Iterator[np.ndarray]:
        return (src.values(slot) for slot in range(src.num_experts))

    fc1 = b.add_streamed_initializer(prefix + ".fc1.weight", TensorProto.FLOAT,
                                     [up.num_experts, up.out_features, up.in_features], decoded(up))
    fc2 = b.add_streamed_initializer(prefix + ".fc2.weight", TensorProto.FLOAT,
                                     [down.num_experts, down.out_features, down.in_features], decoded(down))
    fc1_b = b.add_initializer(prefix + ".fc1.bias", experts.reorder(w.tensor_f32(names["gate_up_bias"]), order))
    fc2_b = b.add_initializer(prefix + ".fc2.bias", experts.reorder(w.tensor_f32(names["down_bias"]), order))
    out = b.op("MoE", flat, flat_logits, fc1, fc1_b, fc2, fc2_b, name=prefix + "/MoE", domain=MS_DOMAIN,
               **_swiglu_attrs(ctx))
    return b.op("Reshape", out, b.op("Shape", hidden, name=prefix + "/shape"), name=prefix + "/unflatten")


# float16 expert scales halve the scale bytes (0.125 -> 0.0625 bytes per weight at block 32: 1.2 GB of a 24-layer
# cpu package, 0.6 GB of cpu-int4). ORT 1.32's CPU QMoE takes float16 scales beside float32 activations (its
# bfloat16 and E8M0 scale kernels are missing on CPU). The cpu target's scales are powers of two, exact in
# float16 down to 2^-24; cpu-int4's are rounded to float16's 11 bits, which measured 3.3e-4 relative output
# change on a 20b-width expert against an int4 error of 6e-2. Any scale that float16 would move by more than
# this (overflow, underflow into subnormals) keeps the layer's scales in float32.
EXPERT_SCALE_TOLERANCE = 2.0 ** -10


def expert_scale_dtype(*scales: np.ndarray) -> np.dtype:
    """float16 when every scale survives float16 within EXPERT_SCALE_TOLERANCE (relative), else float32."""
    for array in scales:
        with np.errstate(over="ignore"):
            half = array.astype(np.float16).astype(np.float32)
        nonzero = array != 0
        if not np.all(np.isfinite(half)) or np.any(
                np.abs(half[nonzero] - array[nonzero]) > EXPERT_SCALE_TOLERANCE * np.abs(array[nonzero])):
            return np.dtype(np.float32)
    return np.dtype(np.float16)


def expert_block(ctx: LayerContext, up: experts.ExpertSource, down: experts.ExpertSource) -> int:
    """One layer's QMoE block: MXFP4's own 32 on the MXFP4 targets, the target's int4 block on cpu-int4, and on
    cpu the target's block where int8 stays lossless at it (else 32; both projections share the attribute)."""
    if ctx.record.experts == MXFP4:
        return 32
    if ctx.record.experts == INT4:
        return ctx.expert_block_size
    return experts.lossless_int8_block((up, down), ctx.expert_block_size)


def _expert_tensors(b: GraphBuilder, ctx: LayerContext, src: experts.ExpertSource, block: int,
                    name: str) -> tuple[str, str | np.ndarray]:
    """Writes one projection's expert weights for the context's target; returns their name and the scales
    (the initializer's name for cuda, the float32 array for the CPU targets, whose dtype the caller picks)."""
    e, n, k = src.num_experts, src.out_features, src.in_features
    scales: list[np.ndarray] = []
    if ctx.record.experts == MXFP4:
        weights = b.add_streamed_initializer(name + ".weight", TensorProto.UINT8, [e, k, n // 2],
                                             experts.fp4_weight_chunks(src, scales))
        scale_name = b.add_initializer(name + ".scales", np.stack(scales), elem_type=TensorProto.FLOAT8E8M0)
        return weights, scale_name
    if ctx.record.experts == INT4:
        weights = b.add_streamed_initializer(name + ".weight", TensorProto.UINT8, [e, n, k // 2],
                                             experts.int4_weight_chunks(src, block, scales))
    else:
        weights = b.add_streamed_initializer(name + ".weight", TensorProto.UINT8, [e, n, k],
                                             experts.int8_weight_chunks(src, block, scales))
    return weights, np.stack(scales).astype(np.float32)


def _as_kv_type(kv_type: np.dtype, values: np.ndarray, name: str) -> np.ndarray:
    """A float32 tensor in the KV cache's dtype (float16 refuses values it cannot hold, naming `name`)."""
    return np.ascontiguousarray(values, dtype=np.float32) if kv_type == np.float32 else to_storage_fp16(name, values)


def elem_type(ctx: LayerContext) -> int:
    return onnx_dtype(ctx.float_type)
