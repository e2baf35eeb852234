"""What every layer-building function receives: the config, the weights, the target's dtypes and debug options.

Kept apart from the builder so target-specific layer modules (app/export/layers.py for cpu/cuda,
app/export/dml_*.py for dml) share one vocabulary without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Protocol

import numpy as np

from app.checkpoint.config import GptOssConfig
from app.package.targets import TARGETS, Target


class WeightSource(Protocol):
    """The part of app.checkpoint.weights.Checkpoint the exporter uses (lazy, one tensor at a time)."""

    experts_are_mxfp4: bool  # *_blocks/*_scales experts, or floating-point gate_up_proj/down_proj

    def tensor_f32(self, name: str, rows: slice | None = None) -> np.ndarray:
        """The tensor (or a slice of its first axis) as float32 (bf16 and fp16 values are exact in fp32)."""
        ...

    def tensor_raw(self, name: str) -> np.ndarray:
        """The tensor's stored bytes: uint8 for MXFP4 blocks and E8M0 scales, uint16 bit patterns for bf16."""
        ...

    def tensor_dtype(self, name: str) -> str:
        """The safetensors dtype of the stored bytes ("BF16", "F16", "F32", "U8")."""
        ...

    def spec(self, name: str):  # noqa: ANN201 - app.checkpoint.names.TensorSpec
        """The expected shape of the tensor."""
        ...


@dataclass(frozen=True)
class ExportOptions:
    """Knobs of an export. The `debug_*` fields deliberately break the graph: the mutation tests use them to
    prove that the parity tests notice each class of mistake. Never set them outside tests."""

    context_length: int | None = None  # None: the config's max_position_embeddings
    # QMoE expert block (along the input dimension); None = Target.expert_block_size
    expert_block_size: int | None = None
    # lm_head storage: 0 = full precision (Gemm); 8 = MatMulNBits int8 (a quarter of fp32's size, ~14x faster
    # per token on CPU); None = the target's default (Target.lm_head_bits).
    lm_head_bits: int | None = None
    # attention QKV/O projections: 0 = activation dtype MatMul, 8 = MatMulNBits int8; None = Target.projection_bits
    projection_bits: int | None = None
    # token embedding: 0 = the checkpoint's dtype, 8 / 4 = GatherBlockQuantized int8 / int4; None =
    # Target.embedding_bits
    embedding_bits: int | None = None
    # The KV cache's dtype ("float32" / "float16"; None = the activation dtype). float16 on a float32 graph puts
    # Casts around GroupQueryAttention: half the cache's bytes, but slower on CPU (app.package.targets).
    kv_cache: str | None = None
    window_cache_slack: int | None = None  # sliding layers' buffers: window + this many positions (0 = full length)
    # Diagnostic: float32 experts through ORT's plain MoE op (4x the size of int8). Measures what QMoE's int8
    # activation quantisation costs, and separates it from graph mistakes. Not a shipping target.
    experts_fp32: bool = False
    # A layer whose expert inputs equal an earlier layer's copies that layer's expert bytes instead of
    # quantising them again (app.export.layers._quantised_experts; the package is the same byte for byte).
    # False only in the test that proves that.
    reuse_repeated_experts: bool = True
    debug_window_offset: int = 0  # add this to the sliding window given to the attention kernel
    debug_no_yarn: bool = False  # plain RoPE: no YaRN frequency blend, no concentration factor
    debug_drop_sinks: bool = False  # omit the learned attention sinks
    debug_no_swiglu_limit: bool = False  # no clamp at ±swiglu_limit inside the experts
    debug_swap_nibbles: bool = False  # read MXFP4 bytes high nibble first
    debug_swap_experts: bool = False  # store experts in reversed order (router unchanged)

    @property
    def mutated(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name.startswith("debug_"))


@dataclass(frozen=True)
class LayerContext:
    """Shared inputs of all layer builders.

    `float_type` is the activation dtype of the graph (float32 on CPU, float16 on CUDA; dml picks its own).
    """

    config: GptOssConfig
    weights: WeightSource
    target: str
    float_type: np.dtype
    options: ExportOptions = field(default_factory=ExportOptions)

    @property
    def context_length(self) -> int:
        return self.options.context_length or self.config.max_position_embeddings

    @property
    def record(self) -> Target:
        """What the target is (app.package.targets): read this instead of comparing `target` names."""
        return TARGETS[self.target]

    @property
    def lm_head_bits(self) -> int:
        if self.options.lm_head_bits is not None:
            return self.options.lm_head_bits
        return self.record.lm_head_bits

    @property
    def kv_type(self) -> np.dtype:
        """The KV cache's dtype, in which GroupQueryAttention runs (ExportOptions.kv_cache or the activations')."""
        if self.options.kv_cache is None:
            return self.float_type
        if self.options.kv_cache not in ("float32", "float16") or not (self.record.fused_operators
                                                                       and self.record.runs_on_cpu):
            raise ValueError(f"a {self.options.kv_cache} KV cache is not available for the {self.target} target")
        return np.dtype(self.options.kv_cache)

    def window(self, layer: int) -> int:
        """GroupQueryAttention's local_window_size for `layer` (-1: full attention).

        transformers (masking_utils.sliding_window_overlay: kv > q - window) and the gpt-oss reference let a
        query see `sliding_window` keys including itself. Since microsoft/onnxruntime PR #25927 ("Fix Local
        Attention off by 1 bug", 2025-09) GroupQueryAttention's local_window_size W also counts the query's
        own position (before it, W + 1 keys were visible: older kernel sources read that way). onnxruntime
        1.32's CPU kernel attends to exactly W keys, pinned by tests/export/test_gqa_window.py. Hence
        W = sliding_window."""
        if not self.config.is_sliding(layer):
            return -1
        return self.config.sliding_window + self.options.debug_window_offset

    @property
    def window_cache_slack(self) -> int:
        slack = self.options.window_cache_slack
        slack = self.record.window_cache_slack if slack is None else slack
        if slack < 0 or (slack and not (self.record.fused_operators and self.record.runs_on_cpu)):
            raise ValueError(f"a window cache slack of {slack} is not available for the {self.target} target")
        return slack

    def window_capacity(self, layer: int) -> int:
        """Positions the KV buffers of `layer` hold: 0 = the whole context (full layers, or no window cache),
        else the window plus the slack (GroupQueryAttention's sliding_window_cache)."""
        window = self.window(layer)
        if window < 0 or not self.window_cache_slack:
            return 0
        return window + self.window_cache_slack

    @property
    def embedding_bits(self) -> int:
        bits = self.options.embedding_bits
        bits = self.record.embedding_bits if bits is None else bits
        if bits not in (0, 8, 4) or (bits and not (self.record.fused_operators and self.record.runs_on_cpu)):
            raise ValueError(f"embedding bits {bits} are not available for the {self.target} target")
        return bits

    @property
    def dense_block_size(self) -> int:
        """Block of the int8 MatMulNBits weights and of a quantised embedding (Target.dense_block_size)."""
        return self.record.dense_block_size

    @property
    def expert_block_size(self) -> int:
        """The QMoE block the target asks for (int8 experts may fall back to 32 per layer, see build_moe)."""
        block = self.options.expert_block_size
        return self.record.expert_block_size if block is None else block

    @property
    def projection_bits(self) -> int:
        bits = self.options.projection_bits
        bits = self.record.projection_bits if bits is None else bits
        if bits not in (0, 8):
            raise ValueError(f"projection bits must be 0 (full precision) or 8, not {bits}")
        if bits and not self.record.fused_operators:
            raise ValueError(f"the {self.target} target has no MatMulNBits kernel; export its projections at full "
                             "precision")
        return bits


@dataclass(frozen=True)
class AttentionIO:
    """Graph-level tensors an attention layer reads or must produce (names in the GraphBuilder).

    KV layout SHARED_BUFFER: `past_key`/`past_value` are graph inputs [batch, kv_heads, max_len, head_dim]
    that ORT updates in place; the layer must produce exactly `present_key`/`present_value`.
    seqlens_k: int32 [batch] = total valid tokens - 1; total_sequence_length: int32 scalar;
    cos_cache/sin_cache: [context_length, head_dim/2] in the KV cache's dtype, YaRN-scaled (concentration
    factor included; "" for dml, which computes its rotary in the graph); position_ids: int64 [batch, seq]
    (absolute position of each new token); attention_mask: the int64 [batch, total_seq] graph input.
    """

    past_key: str
    past_value: str
    present_key: str
    present_value: str
    seqlens_k: str
    total_sequence_length: str
    cos_cache: str
    sin_cache: str
    position_ids: str
    attention_mask: str
