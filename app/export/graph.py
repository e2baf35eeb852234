"""The whole gpt-oss decoder graph: inputs, embedding, the layer loop, final norm, last-position lm_head.

I/O follows onnxruntime-genai's conventions (input_ids, attention_mask, past_key_values.N.key/value ->
logits, present.N.key/value) so one package runs under both our engine and onnxruntime-genai. The KV cache is
"shared-buffer" for GroupQueryAttention targets: past and present may be the same preallocated
[batch, kv_heads, max_len, head_dim] buffer (seqlens_k = sum(attention_mask) - 1 tells the kernel where the
valid tokens end); fed a growing past instead, the same graph concatenates. Positions are implicit (the kernel
derives them from seqlens_k), so there is no position_ids input.

Layers are built one at a time, each reading its tensors from the checkpoint and writing them straight to
the external data file, so peak memory stays around one layer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from onnx import TensorProto

from app.checkpoint.names import EMBED, FINAL_NORM, LM_HEAD, layer_names
from app.checkpoint.safetensors_io import raw_to_f32
from app.export import dml_attention, dml_moe, dml_weights, experts, layers
from app.export.builder import MS_DOMAIN, GraphBuilder, onnx_dtype
from app.export.context import AttentionIO, LayerContext
from app.export.pages import release_pages
from app.export.rope import cos_sin_cache
from app.package.targets import (
    ATTENTION_MASK,
    INPUT_IDS,
    LOGITS,
    PAST_KEY,
    PAST_VALUE,
    PRESENT_KEY,
    PRESENT_VALUE,
    SHARED_BUFFER,
)

LM_HEAD_ROWS_PER_CHUNK = 8192  # vocabulary rows converted per step when streaming the lm_head


class ExportCancelled(Exception):
    """The caller set the cancel event; the exporter removes everything it wrote."""


@dataclass(frozen=True)
class GraphIO:
    """What the engine must know to drive the graph (written to the manifest's `io` section)."""

    kv_layout: str  # app.package.targets.SHARED_BUFFER or CONCAT
    kv_dtype: str  # "float32" / "float16"
    takes_position_ids: bool
    logits: str = "last-position"
    num_layers: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "kv_layout": self.kv_layout,
            "kv_dtype": self.kv_dtype,
            "kv_shape": ["batch_size", "num_key_value_heads", _kv_length(self.kv_layout), "head_dim"],
            "takes_position_ids": self.takes_position_ids,
            "logits": self.logits,
            "num_layers": self.num_layers,
            "inputs": {"input_ids": INPUT_IDS, "attention_mask": ATTENTION_MASK, "past_key": PAST_KEY,
                       "past_value": PAST_VALUE},
            "outputs": {"logits": LOGITS, "present_key": PRESENT_KEY, "present_value": PRESENT_VALUE},
        }


LayerBuilder = Callable[..., str]


def _layer_builders(ctx: LayerContext) -> tuple[LayerBuilder, LayerBuilder]:
    """(build_attention, build_moe): ORT's fused operators, or the standard-operator modules (dml)."""
    if ctx.record.fused_operators:
        return layers.build_attention, layers.build_moe
    return dml_attention.build_attention, dml_moe.build_moe


# The symbolic length of a window-cache layer's buffers: genai_config's window_size + cache_slack, which our engine
# allocates; onnxruntime-genai allocates min(max_length, that), which the kernel also accepts (>= the window).
WINDOW_CAPACITY = "window_capacity"


def _kv_length(kv_layout: str, window_capacity: int = 0) -> str:
    """The symbolic length of the past inputs: the whole context for a shared buffer, the past otherwise, the
    window's capacity for a window-cache layer."""
    if window_capacity:
        return WINDOW_CAPACITY
    return "max_length" if kv_layout == SHARED_BUFFER else "past_sequence_length"


def build_graph(
    b: GraphBuilder,
    ctx: LayerContext,
    *,
    on_layer: Callable[[int], None] = lambda _layer: None,
    cancel: threading.Event | None = None,
) -> GraphIO:
    """Adds the whole decoder to `b`. `on_layer(i)` runs after layer i is written; `cancel` is checked
    between layers and raises ExportCancelled."""
    cfg = ctx.config
    build_attention, build_moe = _layer_builders(ctx)
    kv_layout = ctx.record.kv_layout
    ftype = layers.elem_type(ctx)
    kv_type = onnx_dtype(ctx.kv_type)

    input_ids = b.add_input(INPUT_IDS, TensorProto.INT64, ["batch_size", "sequence_length"])
    mask = b.add_input(ATTENTION_MASK, TensorProto.INT64, ["batch_size", "total_sequence_length"])
    past = []
    for i in range(cfg.num_hidden_layers):
        shape = ["batch_size", cfg.num_key_value_heads, _kv_length(kv_layout, ctx.window_capacity(i)), cfg.head_dim]
        past.append((b.add_input(PAST_KEY % i, kv_type, shape), b.add_input(PAST_VALUE % i, kv_type, shape)))

    # GQA's bookkeeping inputs, derived once from the attention mask (as onnxruntime-genai's builder does).
    seqlens = b.op("ReduceSum", mask, b.const("one_axis", [1]), name="seqlens/ReduceSum", keepdims=0)
    seqlens_k = b.op("Cast", b.op("Sub", seqlens, b.const("one_i64", 1), name="seqlens/Sub"),
                     name="seqlens_k", to=TensorProto.INT32)
    total_len = b.op("Cast", b.op("Gather", b.op("Shape", mask, name="total/Shape"), b.const("one_index", 1),
                                  name="total/Gather", axis=0),
                     name="total_sequence_length", to=TensorProto.INT32)
    if not ctx.record.fused_operators:  # dml_attention computes the rotary from position_ids: no cache needed
        cos_name = sin_name = ""
    else:
        cos, sin = cos_sin_cache(cfg, ctx.context_length, yarn=not ctx.options.debug_no_yarn)
        cos_name = b.add_initializer("cos_cache", cos.astype(ctx.kv_type))
        sin_name = b.add_initializer("sin_cache", sin.astype(ctx.kv_type))
        del cos, sin
    position_ids = "" if ctx.record.fused_operators else _position_ids(b, input_ids, total_len)

    hidden = _embedding(b, ctx, input_ids)
    residual = hidden
    normed = layers.rms_norm(b, ctx, hidden, layer_names(0)["input_norm"], "layers.0.input_norm")
    moe_out = ""
    for i in range(cfg.num_hidden_layers):
        if cancel is not None and cancel.is_set():
            raise ExportCancelled("export cancelled")
        names = layer_names(i)
        if i > 0:
            normed, residual = layers.skip_rms_norm(b, ctx, moe_out, residual, names["input_norm"],
                                                    f"layers.{i}.input_norm")
        io = AttentionIO(past_key=past[i][0], past_value=past[i][1], present_key=PRESENT_KEY % i,
                         present_value=PRESENT_VALUE % i, seqlens_k=seqlens_k, total_sequence_length=total_len,
                         cos_cache=cos_name, sin_cache=sin_name, position_ids=position_ids, attention_mask=mask)
        attn = build_attention(b, i, normed, ctx, io)
        normed, residual = layers.skip_rms_norm(b, ctx, attn, residual, names["post_norm"], f"layers.{i}.post_norm")
        moe_out = build_moe(b, i, normed, ctx)
        on_layer(i)
        present_shape = ["batch_size", cfg.num_key_value_heads,
                         WINDOW_CAPACITY if ctx.window_capacity(i) else "total_sequence_length", cfg.head_dim]
        b.add_output(PRESENT_KEY % i, kv_type, present_shape)
        b.add_output(PRESENT_VALUE % i, kv_type, present_shape)

    # Only the last position's logits are ever needed: slice before the final norm and the lm_head so prefill
    # runs the (vocab x hidden) projection once, not once per prompt token.
    last = {"starts": b.const("last/starts", [-1]), "ends": b.const("last/ends", [np.iinfo(np.int64).max]),
            "axes": b.const("last/axes", [1])}
    last_moe = b.op("Slice", moe_out, last["starts"], last["ends"], last["axes"], name="last/moe")
    last_res = b.op("Slice", residual, last["starts"], last["ends"], last["axes"], name="last/residual")
    final, _ = layers.skip_rms_norm(b, ctx, last_moe, last_res, FINAL_NORM, "final_norm")
    _lm_head(b, ctx, final)
    b.add_output(LOGITS, TensorProto.FLOAT, ["batch_size", 1, cfg.vocab_size])
    return GraphIO(kv_layout=kv_layout, kv_dtype=np.dtype(ctx.kv_type).name, takes_position_ids=False,
                   num_layers=cfg.num_hidden_layers)


# safetensors dtype -> the ONNX type that holds the same bytes (the embedding is stored as the checkpoint has it)
_SAME_BYTES = {"BF16": TensorProto.BFLOAT16, "F16": TensorProto.FLOAT16, "F32": TensorProto.FLOAT}


def _embedding(b: GraphBuilder, ctx: LayerContext, input_ids: str) -> str:
    """Token embedding. Stored in the checkpoint's own dtype (bf16: exact and half the size of fp32) and cast
    after the Gather, except on dml, whose Cast has no bf16 kernel: there it is float16 (see
    app.export.dml_weights)."""
    raw, dtype = ctx.weights.tensor_raw(EMBED), ctx.weights.tensor_dtype(EMBED)
    if not ctx.record.bfloat16_cast:
        table = b.add_streamed_initializer("embed_tokens.weight", TensorProto.FLOAT16, list(raw.shape),
                                           dml_weights.fp16_rows(EMBED, raw, dtype))
        gathered = b.op("Gather", table, input_ids, name="embed_tokens/Gather", axis=0)
        return dml_weights.to_activation(b, ctx, gathered, "embed_tokens")
    if ctx.embedding_bits:
        return _embedding_quantised(b, ctx, raw, dtype, input_ids)
    table = b.add_streamed_initializer("embed_tokens.weight", _SAME_BYTES[dtype], list(raw.shape),
                                       _raw_rows(raw))
    gathered = b.op("Gather", table, input_ids, name="embed_tokens/Gather", axis=0)
    return b.op("Cast", gathered, name="embed_tokens/Cast", to=layers.elem_type(ctx))


def _embedding_quantised(b: GraphBuilder, ctx: LayerContext, raw: np.ndarray, dtype: str, input_ids: str) -> str:
    """The token embedding as int8 or int4 rows in blocks of Target.dense_block_size (stored = q + 128 or, two
    per byte low nibble first, q + 8: GatherBlockQuantized's packing and default zero points for uint8), with
    float16 scales where every scale survives float16 (app.export.layers.expert_scale_dtype's rule). The
    gathered rows come out dequantised in the scales' dtype and are cast to the activation dtype."""
    vocab, hidden = raw.shape
    bits, block = ctx.embedding_bits, ctx.dense_block_size
    scales: list[np.ndarray] = []

    def chunks() -> Iterator[np.ndarray]:
        for rows in _raw_rows(raw):
            values = raw_to_f32(rows, dtype)
            if bits == 4:
                q, s = experts.quantize_int4(values, block)
            else:
                q, s = experts.quantize_int8(values, block)
                q = q.reshape(len(rows), hidden)
            scales.append(s)
            yield q

    table = b.add_streamed_initializer("embed_tokens.qweight", TensorProto.UINT8, [vocab, hidden * bits // 8],
                                       chunks())
    all_scales = np.concatenate(scales)
    scale_type = layers.expert_scale_dtype(all_scales)
    scale = b.add_initializer("embed_tokens.scales", all_scales.astype(scale_type))
    gathered = b.op("GatherBlockQuantized", table, input_ids, scale, name="embed_tokens/GatherBlockQuantized",
                    domain=MS_DOMAIN, bits=bits, block_size=block, quantize_axis=1, gather_axis=0)
    if np.dtype(scale_type) == ctx.float_type:
        return gathered
    return b.op("Cast", gathered, name="embed_tokens/Cast", to=layers.elem_type(ctx))


def _lm_head(b: GraphBuilder, ctx: LayerContext, final: str) -> None:
    """logits [batch, 1, vocab] float32 = Gemm(final [batch, hidden], W [vocab, hidden], transB=1).

    Gemm with transB keeps the checkpoint's [vocab, hidden] layout, so the (largest) matrix streams from the
    checkpoint row block by row block and is never transposed in memory."""
    cfg = ctx.config
    if ctx.lm_head_bits not in (0, 8):
        raise ValueError(f"lm_head_bits must be 0 (full precision) or 8, not {ctx.lm_head_bits}")
    name = EMBED if cfg.tie_word_embeddings else LM_HEAD
    raw, dtype = ctx.weights.tensor_raw(name), ctx.weights.tensor_dtype(name)
    flat = b.op("Reshape", final, b.const("lm_head/flat_shape", [-1, cfg.hidden_size]), name="lm_head/flatten")
    if ctx.lm_head_bits == 8:
        logits = _lm_head_int8(b, ctx, raw, dtype, flat)
    elif not ctx.record.bfloat16_cast:
        stored = b.add_streamed_initializer("lm_head.weight", TensorProto.FLOAT16, list(raw.shape),
                                            dml_weights.fp16_rows(LM_HEAD, raw, dtype))
        weight = dml_weights.to_activation(b, ctx, stored, "lm_head")
        logits = b.op("Gemm", flat, weight, name="lm_head/Gemm", transB=1)
    else:
        weight = b.add_streamed_initializer("lm_head.weight", layers.elem_type(ctx), list(raw.shape),
                                            _rows_as(ctx, raw, dtype))
        logits = b.op("Gemm", flat, weight, name="lm_head/Gemm", transB=1)
    if ctx.float_type != np.float32:
        logits = b.op("Cast", logits, name="lm_head/Cast", to=TensorProto.FLOAT)
    b.add_node("Reshape", [logits, b.const("lm_head/out_shape", [0, 1, cfg.vocab_size])], [LOGITS],
               name="lm_head/unflatten")


def _lm_head_int8(b: GraphBuilder, ctx: LayerContext, raw: np.ndarray, dtype: str, flat: str) -> str:
    """lm_head as MatMulNBits with int8 weights in blocks of Target.dense_block_size.

    accuracy_level 4 (int8 activations, int8 dot products): onnxruntime 1.32 has no float32-activation kernel for
    8-bit MatMulNBits on CPU, and its fallback took 4.1 s per call at gpt-oss widths against 17 ms here."""
    vocab, hidden = raw.shape
    block = ctx.dense_block_size
    scales: list[np.ndarray] = []

    def chunks() -> Iterator[np.ndarray]:
        for rows in _raw_rows(raw):
            q, s = experts.quantize_int8(raw_to_f32(rows, dtype), block)
            scales.append(s)
            yield q

    weight = b.add_streamed_initializer("lm_head.qweight", TensorProto.UINT8, [vocab, hidden // block, block],
                                        chunks())
    scale = b.add_initializer("lm_head.scales", np.concatenate(scales).astype(ctx.float_type))
    return b.op("MatMulNBits", flat, weight, scale, name="lm_head/MatMulNBits", domain=MS_DOMAIN,
                K=hidden, N=vocab, bits=8, block_size=block, accuracy_level=4)


def _rows_as(ctx: LayerContext, raw: np.ndarray, dtype: str) -> Iterator[np.ndarray]:
    """A [rows, cols] memory map of `dtype` as row blocks in the activation dtype (bounded memory)."""
    for r in range(0, raw.shape[0], LM_HEAD_ROWS_PER_CHUNK):
        yield layers.float_weight(ctx, raw_to_f32(np.asarray(raw[r:r + LM_HEAD_ROWS_PER_CHUNK]), dtype), LM_HEAD)
        release_pages(raw)


def _raw_rows(raw: np.ndarray) -> Iterator[np.ndarray]:
    """A memory-mapped [rows, cols] tensor as copied row blocks, releasing mapped pages as it goes."""
    for r in range(0, raw.shape[0], LM_HEAD_ROWS_PER_CHUNK):
        yield np.array(raw[r:r + LM_HEAD_ROWS_PER_CHUNK])
        release_pages(raw)


def _position_ids(b: GraphBuilder, input_ids: str, total_len: str) -> str:
    """int64 [batch, seq]: absolute positions of the new tokens, total - seq + arange(seq) (for targets whose
    attention is built from standard ops and needs explicit positions)."""
    shape = b.op("Shape", input_ids, name="positions/Shape")
    seq = b.op("Gather", shape, b.const("positions/one", 1), name="positions/seq", axis=0)
    total = b.op("Cast", total_len, name="positions/total", to=TensorProto.INT64)
    start = b.op("Sub", total, seq, name="positions/start")
    positions = b.op("Range", start, total, b.const("positions/step", 1), name="positions/Range")
    return b.op("Expand", b.op("Unsqueeze", positions, b.const("positions/axis0", [0]), name="positions/Unsqueeze"),
                shape, name="position_ids")
