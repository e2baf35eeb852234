"""The one name map: Hugging Face gpt-oss tensor names with the shape and dtype each must have.

Everything that reads or writes a checkpoint (validation, the exporter, the test-model writer) derives tensor
names from here, so a typo fails in one place. Shapes follow the published `openai/gpt-oss-20b` safetensors:
experts are MXFP4 (`*_blocks` uint8 [E, N, K/32, 16], `*_scales` uint8 [E, N, K/32]); every other tensor,
including attention sinks and all biases, is bf16. Linear weights are [out_features, in_features].

Checkpoints saved by transformers with dequantised experts (fine-tunes) hold `gate_up_proj` [E, hidden,
2·intermediate] and `down_proj` [E, intermediate, hidden] instead: transformers' GptOssExperts layout,
[in_features, out_features] per expert, gate/up still interleaved along the last axis. Such files (and
`save_pretrained(dtype=...)` in general) may store any floating-point tensor as BF16, F16 or F32.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.checkpoint.config import MXFP4, GptOssConfig
from app.checkpoint.mxfp4 import BLOCK, BYTES_PER_BLOCK

EMBED = "model.embed_tokens.weight"
FINAL_NORM = "model.norm.weight"
LM_HEAD = "lm_head.weight"

# Per-layer tensors: short key -> name suffix after "model.layers.N.".
LAYER_PARTS: dict[str, str] = {
    "input_norm": "input_layernorm.weight",
    "q_weight": "self_attn.q_proj.weight",
    "q_bias": "self_attn.q_proj.bias",
    "k_weight": "self_attn.k_proj.weight",
    "k_bias": "self_attn.k_proj.bias",
    "v_weight": "self_attn.v_proj.weight",
    "v_bias": "self_attn.v_proj.bias",
    "o_weight": "self_attn.o_proj.weight",
    "o_bias": "self_attn.o_proj.bias",
    "sinks": "self_attn.sinks",
    "post_norm": "post_attention_layernorm.weight",
    "router_weight": "mlp.router.weight",
    "router_bias": "mlp.router.bias",
    "gate_up_blocks": "mlp.experts.gate_up_proj_blocks",
    "gate_up_scales": "mlp.experts.gate_up_proj_scales",
    "gate_up_bias": "mlp.experts.gate_up_proj_bias",
    "down_blocks": "mlp.experts.down_proj_blocks",
    "down_scales": "mlp.experts.down_proj_scales",
    "down_bias": "mlp.experts.down_proj_bias",
    # floating-point experts (transformers' dequantised layout) instead of the four MXFP4 tensors above
    "gate_up_proj": "mlp.experts.gate_up_proj",
    "down_proj": "mlp.experts.down_proj",
}
MXFP4_PARTS = ("gate_up_blocks", "gate_up_scales", "down_blocks", "down_scales")
FLOAT_EXPERT_PARTS = ("gate_up_proj", "down_proj")

BF16 = "BF16"
U8 = "U8"
FLOAT_DTYPES = ("BF16", "F16", "F32")  # what a floating-point tensor may be stored as


@dataclass(frozen=True)
class TensorSpec:
    """What one checkpoint tensor must look like: shape and safetensors dtype string ("BF16", "U8").

    `dtype` is what the test-model writer stores; a floating-point tensor is accepted in any FLOAT_DTYPES."""

    shape: tuple[int, ...]
    dtype: str

    @property
    def accepts(self) -> tuple[str, ...]:
        return FLOAT_DTYPES if self.dtype in FLOAT_DTYPES else (self.dtype,)


def layer_names(layer: int) -> dict[str, str]:
    """Full tensor names of one decoder layer, keyed by LAYER_PARTS' short keys."""
    return {key: f"model.layers.{layer}.{suffix}" for key, suffix in LAYER_PARTS.items()}


def layer_specs(config: GptOssConfig, layer: int) -> dict[str, TensorSpec]:
    """Expected specs of one layer's tensors, keyed by full name (shapes derived from the config)."""
    h, e, i = config.hidden_size, config.num_local_experts, config.intermediate_size
    q, kv = config.q_size, config.kv_size
    shapes: dict[str, tuple[tuple[int, ...], str]] = {
        "input_norm": ((h,), BF16),
        "q_weight": ((q, h), BF16),
        "q_bias": ((q,), BF16),
        "k_weight": ((kv, h), BF16),
        "k_bias": ((kv,), BF16),
        "v_weight": ((kv, h), BF16),
        "v_bias": ((kv,), BF16),
        "o_weight": ((h, q), BF16),
        "o_bias": ((h,), BF16),
        "sinks": ((config.num_attention_heads,), BF16),
        "post_norm": ((h,), BF16),
        "router_weight": ((e, h), BF16),
        "router_bias": ((e,), BF16),
        "gate_up_bias": ((e, 2 * i), BF16),
        "down_bias": ((e, h), BF16),
    }
    if config.experts_quantization == MXFP4:
        shapes.update({
            # gate_up rows interleave gate (even) and up (odd) outputs; K = hidden.
            "gate_up_blocks": ((e, 2 * i, h // BLOCK, BYTES_PER_BLOCK), U8),
            "gate_up_scales": ((e, 2 * i, h // BLOCK), U8),
            # down: N = hidden, K = intermediate.
            "down_blocks": ((e, h, i // BLOCK, BYTES_PER_BLOCK), U8),
            "down_scales": ((e, h, i // BLOCK), U8),
        })
    else:  # transformers' [E, in, out]; gate/up interleaved along the last axis
        shapes.update({"gate_up_proj": ((e, h, 2 * i), BF16), "down_proj": ((e, i, h), BF16)})
    order = [k for k in LAYER_PARTS if k in shapes]
    shapes = {k: shapes[k] for k in order}
    names = layer_names(layer)
    return {names[key]: TensorSpec(shape, dtype) for key, (shape, dtype) in shapes.items()}


def expected_tensors(config: GptOssConfig) -> dict[str, TensorSpec]:
    """Every tensor a gpt-oss checkpoint with this config must hold, in model order."""
    specs = {EMBED: TensorSpec((config.vocab_size, config.hidden_size), BF16)}
    for layer in range(config.num_hidden_layers):
        specs.update(layer_specs(config, layer))
    specs[FINAL_NORM] = TensorSpec((config.hidden_size,), BF16)
    if not config.tie_word_embeddings:
        specs[LM_HEAD] = TensorSpec((config.vocab_size, config.hidden_size), BF16)
    return specs
