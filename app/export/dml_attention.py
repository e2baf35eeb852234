"""gpt-oss attention for the `dml` target, from standard ONNX operators.

Why not com.microsoft GroupQueryAttention: ORT's DirectML kernel (DmlOperatorGroupQueryAttention.cpp) reads
only query/key/value/past/seqlens_k and silently ignores `head_sink` and `local_window_size`, so on DirectML it
would attend over the whole context without sinks — a different model. Everything here is MatMul, Softmax,
Where and shape ops, which DirectML implements (resources/directml_operators.json), and which run unchanged on
ORT's CPU provider for the parity tests.

Semantics follow transformers' `GptOssAttention` + `eager_attention_forward`:
  * q/k/v projections with bias; rotary (non-interleaved halves) with YaRN frequencies (app/export/rope.py)
    and the concentration factor, computed in the graph from position_ids;
  * KV cache layout "concat": present = Concat(past, new) along the sequence axis, rotated keys cached;
  * scores = q·kᵀ / sqrt(head_dim), masked causal, and on sliding layers to the `sliding_window` most recent
    keys *including the query itself* (key j visible from query i iff i - window < j <= i), plus the
    attention_mask's padding; sliding layers slice the cache to the keys the window can reach, so their
    decode cost does not grow with the context;
  * one learned sink logit per head joins the softmax and is dropped after it;
  * GQA: query head h reads kv head h // (heads / kv_heads), done by folding the group into the row axis
    (q [B, kv, g*S, d] @ kᵀ [B, kv, d, T]) so no key/value copy is ever expanded.
Positions in the mask are cache slots (past length + s), which equal the tokens' positions for an unpadded
batch, the engine's only case.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from app.checkpoint.names import layer_names
from app.export.builder import GraphBuilder, onnx_dtype
from app.export.context import AttentionIO, LayerContext
from app.export.dml_weights import stored_weight
from app.export.rope import plain_inv_freq, yarn_inv_freq

_CACHE_ATTR = "_dml_attention_shared"


def _shared(b: GraphBuilder, ctx: LayerContext, io: AttentionIO, hidden: str) -> dict[str, str]:
    """Tensors every layer shares (rotary cos/sin, mask biases, shapes), built once at the first layer."""
    cache: dict[str, str] | None = getattr(b, _CACHE_ATTR, None)
    if cache is not None:
        return cache
    cfg, ft = ctx.config, np.dtype(ctx.float_type)
    p = "attn_shared"
    cache = {}
    # Rotary: [B, 1, S, d/2] computed from the positions, not gathered from a [context, d/2] cache: at 131072
    # positions the two caches alone would be 34 MB, a third of the tiny package. fp32 angle = fp32 position x
    # fp32 inverse frequency, then cos/sin scaled by YaRN's concentration factor: the same float32 steps as
    # transformers' GptOssRotaryEmbedding.forward.
    inv_freq, attention_factor = plain_inv_freq(cfg) if ctx.options.debug_no_yarn else yarn_inv_freq(cfg)
    positions = b.op("Cast", io.position_ids, to=TensorProto.FLOAT, name=f"{p}/positions")
    positions = b.op("Unsqueeze", positions, b.const(f"{p}/axis_freq", [-1]), name=f"{p}/positions_col")
    angles = b.op("Mul", positions, b.add_initializer(f"{p}.inv_freq", inv_freq.astype(np.float32)),
                  name=f"{p}/angles")  # [B, S, d/2] float32
    factor = b.const(f"{p}/attention_factor", [attention_factor], np.float32)
    for part in ("Cos", "Sin"):
        wave = b.op("Mul", b.op(part, angles, name=f"{p}/{part.lower()}"), factor, name=f"{p}/{part.lower()}_scaled")
        if ft != np.float32:
            wave = b.op("Cast", wave, to=onnx_dtype(ft), name=f"{p}/{part.lower()}_cast")
        cache[part.lower()] = b.op("Unsqueeze", wave, b.const(f"{p}/axis1", [1]), name=f"{p}/{part.lower()}_heads")
    # Query slots i = past + s and key slots j = 0..T-1, with T from attention_mask and S from the input.
    total = b.op("Shape", io.attention_mask, start=1, end=2, name=f"{p}/total_len")
    new = b.op("Shape", hidden, start=1, end=2, name=f"{p}/new_len")
    past = b.op("Sub", total, new, name=f"{p}/past_len")
    zero, one = b.const(f"{p}/zero", [0]), b.const(f"{p}/one", [1])
    scalar = b.const(f"{p}/scalar", [], np.int64)

    def to_scalar(x: str, tag: str) -> str:
        return b.op("Reshape", x, scalar, name=f"{p}/{tag}_scalar")

    # Sliding layers only ever look at the last `window` slots before a query, so they attend over keys from
    # `first` = max(past - window + 1, 0) on: decode cost stays O(window) however long the chat grows.
    window = cfg.sliding_window + ctx.options.debug_window_offset
    first = b.op("Max", b.op("Sub", past, b.const(f"{p}/window_minus_one", [window - 1]), name=f"{p}/first_raw"),
                 b.const(f"{p}/zero_vec", [0]), name=f"{p}/window_first")
    query_slot = b.op("Range", to_scalar(past, "past"), to_scalar(total, "total"), to_scalar(one, "one"),
                      name=f"{p}/query_slots")  # [S]
    query_col = b.op("Unsqueeze", query_slot, b.const(f"{p}/axis_last", [1]), name=f"{p}/q_col")  # [S, 1]
    not_padding = b.op("Cast", io.attention_mask, to=TensorProto.BOOL, name=f"{p}/not_padding")  # [B, T]
    group = cfg.num_attention_heads // cfg.num_key_value_heads
    zero_f = b.const(f"{p}/zero_f", [0.0], ft)
    neg_inf = b.const(f"{p}/neg_inf", [-np.inf], ft)
    int_max = b.const(f"{p}/int_max", [np.iinfo(np.int64).max])
    for kind, start in (("full", zero), ("sliding", first)):
        key_slot = b.op("Range", to_scalar(start, f"{kind}_start"), to_scalar(total, f"{kind}_total"),
                        to_scalar(one, f"{kind}_one"), name=f"{p}/{kind}_key_slots")  # [T'] from `start`
        distance = b.op("Sub", query_col, b.op("Unsqueeze", key_slot, b.const(f"{p}/{kind}_axis0", [0]),
                                               name=f"{p}/{kind}_k_row"), name=f"{p}/{kind}_distance")  # i - j
        visible = b.op("GreaterOrEqual", distance, b.const(f"{p}/{kind}_zero", [0]), name=f"{p}/{kind}_causal")
        if kind == "sliding":
            recent = b.op("Less", distance, b.const(f"{p}/window", [window]), name=f"{p}/recent")
            visible = b.op("And", visible, recent, name=f"{p}/in_window")
        padding = b.op("Slice", not_padding, start, int_max, b.const(f"{p}/{kind}_axis1", [1]),
                       name=f"{p}/{kind}_padding")  # [B, T']
        padding = b.op("Unsqueeze", padding, b.const(f"{p}/{kind}_axes12", [1, 2]), name=f"{p}/{kind}_padding_4d")
        visible = b.op("And", visible, padding, name=f"{p}/{kind}_visible")  # [B, 1, S, T']
        bias = b.op("Where", visible, zero_f, neg_inf, name=f"{p}/{kind}_bias")
        # Rows of the score matrix are (group member, query) pairs: repeat the [S, T'] bias once per member.
        cache[kind] = b.op("Tile", bias, b.const(f"{p}/{kind}_tile", [1, 1, group, 1]), name=f"{p}/{kind}_rows")
    cache["window_first"] = first
    cache["int_max"] = int_max
    cache["new_len"] = new
    setattr(b, _CACHE_ATTR, cache)
    return cache


def _rotate(b: GraphBuilder, x: str, cos: str, sin: str, half: int, tag: str) -> str:
    """Rotary on [B, heads, S, d] with non-interleaved halves, as transformers' `_apply_rotary_emb`."""
    first, second = b.add_node("Split", [x, b.const(f"{tag}/halves", [half, half])], 2, name=f"{tag}/split",
                               axis=-1)
    first_cos, second_sin = b.op("Mul", first, cos, name=f"{tag}/x1cos"), b.op("Mul", second, sin, name=f"{tag}/x2sin")
    second_cos, first_sin = b.op("Mul", second, cos, name=f"{tag}/x2cos"), b.op("Mul", first, sin, name=f"{tag}/x1sin")
    new_first = b.op("Sub", first_cos, second_sin, name=f"{tag}/first")
    new_second = b.op("Add", second_cos, first_sin, name=f"{tag}/second")
    return b.op("Concat", new_first, new_second, axis=-1, name=f"{tag}/rotated")


def build_attention(b: GraphBuilder, layer: int, hidden: str, ctx: LayerContext, io: AttentionIO) -> str:
    """Self-attention of one layer: `hidden` [B, S, H] (normalised) -> [B, S, H]; writes io.present_*.

    Expects io.past_key/past_value as [B, kv_heads, past, head_dim] graph inputs (layout CONCAT, see
    app.package.targets), io.position_ids and io.attention_mask. seqlens_k, total_sequence_length and the cos/sin
    caches are not used (rotary is computed from the positions), so the exporter need not write the caches.
    """
    cfg, ft = ctx.config, np.dtype(ctx.float_type)
    names = layer_names(layer)
    w = ctx.weights
    nh, kvh, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    group = nh // kvh
    p = f"layers.{layer}.attn"
    shared = _shared(b, ctx, io, hidden)

    qkv_w = np.concatenate([w.tensor_f32(names[k]) for k in ("q_weight", "k_weight", "v_weight")], axis=0).T
    qkv_b = np.concatenate([w.tensor_f32(names[k]) for k in ("q_bias", "k_bias", "v_bias")]).astype(ft)
    qkv = b.op("MatMul", hidden, stored_weight(b, ctx, f"{p}.qkv.weight", np.ascontiguousarray(qkv_w)), name=f"{p}/qkv")
    qkv = b.op("Add", qkv, b.add_initializer(f"{p}.qkv.bias", qkv_b), name=f"{p}/qkv_bias")
    q, k, v = b.add_node("Split", [qkv, b.const(f"{p}/qkv_sizes", [nh * d, kvh * d, kvh * d])], 3,
                         name=f"{p}/split_qkv", axis=-1)

    def heads(x: str, count: int, tag: str) -> str:  # [B, S, count*d] -> [B, count, S, d]
        x = b.op("Reshape", x, b.const(f"{p}/{tag}_heads_shape", [0, 0, count, d]), name=f"{p}/{tag}_heads")
        return b.op("Transpose", x, perm=[0, 2, 1, 3], name=f"{p}/{tag}_bhsd")

    q = _rotate(b, heads(q, nh, "q"), shared["cos"], shared["sin"], d // 2, f"{p}/q_rope")
    k = _rotate(b, heads(k, kvh, "k"), shared["cos"], shared["sin"], d // 2, f"{p}/k_rope")
    v = heads(v, kvh, "v")
    (key,) = b.add_node("Concat", [io.past_key, k], [io.present_key], name=f"{p}/present_key", axis=2)
    (value,) = b.add_node("Concat", [io.past_value, v], [io.present_value], name=f"{p}/present_value", axis=2)

    if cfg.is_sliding(layer):
        axis2 = b.const(f"{p}/seq_axis", [2])
        key = b.op("Slice", key, shared["window_first"], shared["int_max"], axis2, name=f"{p}/key_window")
        value = b.op("Slice", value, shared["window_first"], shared["int_max"], axis2, name=f"{p}/value_window")

    q = b.op("Mul", q, b.const(f"{p}/scale", [1.0 / np.sqrt(d)], ft), name=f"{p}/q_scaled")
    q = b.op("Reshape", q, b.const(f"{p}/q_groups", [0, kvh, -1, d]), name=f"{p}/q_groups")  # [B, kv, g*S, d]
    key_t = b.op("Transpose", key, perm=[0, 1, 3, 2], name=f"{p}/key_t")
    scores = b.op("MatMul", q, key_t, name=f"{p}/scores")  # [B, kv, g*S, T]
    scores = b.op("Add", scores, shared["sliding" if cfg.is_sliding(layer) else "full"], name=f"{p}/masked")

    if ctx.options.debug_drop_sinks:
        probs = b.op("Softmax", scores, axis=-1, name=f"{p}/softmax")
    else:
        sinks = w.tensor_f32(names["sinks"]).astype(ft).reshape(1, kvh, group, 1)
        sink = b.op("Expand", b.add_initializer(f"{p}.sinks", sinks),
                    b.op("Concat", b.const(f"{p}/sink_lead", [1, 1, 1]), shared["new_len"], axis=0,
                         name=f"{p}/sink_shape"), name=f"{p}/sink_rows")  # [1, kv, g, S]
        sink = b.op("Reshape", sink, b.const(f"{p}/sink_col", [1, kvh, -1, 1]), name=f"{p}/sink_col")
        batch = b.op("Concat", b.op("Shape", scores, start=0, end=1, name=f"{p}/batch"),
                     b.const(f"{p}/ones3", [1, 1, 1]), axis=0, name=f"{p}/batch_shape")  # [B, 1, 1, 1]
        sink = b.op("Expand", sink, batch, name=f"{p}/sink_batch")  # [B, kv, g*S, 1]
        with_sink = b.op("Concat", scores, sink, axis=-1, name=f"{p}/with_sink")
        probs = b.op("Softmax", with_sink, axis=-1, name=f"{p}/softmax")
        probs = b.op("Slice", probs, b.const(f"{p}/slice_start", [0]), b.const(f"{p}/slice_end", [-1]),
                     b.const(f"{p}/slice_axis", [-1]), name=f"{p}/drop_sink")

    out = b.op("MatMul", probs, value, name=f"{p}/context")  # [B, kv, g*S, d]
    out = b.op("Reshape", out, b.const(f"{p}/heads_shape", [0, nh, -1, d]), name=f"{p}/context_heads")
    out = b.op("Transpose", out, perm=[0, 2, 1, 3], name=f"{p}/context_bshd")
    out = b.op("Reshape", out, b.const(f"{p}/merge_shape", [0, 0, nh * d]), name=f"{p}/context_merged")
    o_w = np.ascontiguousarray(w.tensor_f32(names["o_weight"]).T)
    out = b.op("MatMul", out, stored_weight(b, ctx, f"{p}.o.weight", o_w), name=f"{p}/o_proj")
    return b.op("Add", out, b.add_initializer(f"{p}.o.bias", w.tensor_f32(names["o_bias"]).astype(ft)),
                name=f"{p}/o_bias")
