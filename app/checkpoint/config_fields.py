"""Every field of a gpt-oss `config.json` that Enclave knows: what it does and which forms are accepted.

This table is the contract between a checkpoint and the exporter. `GptOssConfig.from_dict` refuses any field
that is not listed here (it might change the computation, and a guess would make a package that talks
nonsense), and it reads each READ field exactly in the forms listed. IGNORED fields are ones that do not
change what the model computes for a token (training knobs, bookkeeping, stored dtypes whose real values the
safetensors headers give); they are accepted with any value.

Where the two implementations a checkpoint may have been made for disagree (Hugging Face transformers, which
saved it, and openai's reference `gpt_oss/torch/model.py`, which trained it), a field that selects between
them must be present: Enclave never picks one silently. Where they agree on a default, an absent field gets
that default. tests/checkpoint/test_config_fields.py covers every row.

Forms seen in the wild: the Hub's files (transformers 4.55: `rope_scaling` + top-level `rope_theta`,
`torch_dtype`, `quantization_config` mxfp4) and transformers 5's `save_pretrained` (`rope_parameters` with
`rope_theta` inside, `dtype`, `bos_token_id: null`, `swiglu_alpha`, no `quantization_config` once the experts
are dequantised to bf16).
"""

from __future__ import annotations

from dataclasses import dataclass

READ = "read"
IGNORED = "ignored"


@dataclass(frozen=True)
class ConfigField:
    """One row: the field's name, READ or IGNORED, what it does, and the accepted forms (for people)."""

    name: str
    kind: str
    effect: str
    accepted: str


FIELDS: tuple[ConfigField, ...] = (
    # --- identity ----------------------------------------------------------------------------------------------
    ConfigField("model_type", READ, "which architecture this is", "exactly 'gpt_oss' (required)"),
    ConfigField("architectures", READ, "the head on top of the decoder",
                "absent, or a list holding only 'GptOssForCausalLM' (another head has no lm_head to export)"),
    # --- shapes (required: transformers' class defaults are gpt-oss-120b's, the Hub files always give them) --
    ConfigField("num_hidden_layers", READ, "decoder layers", "integer >= 1 (required)"),
    ConfigField("hidden_size", READ, "residual width", "integer, a multiple of 32 (required)"),
    ConfigField("intermediate_size", READ, "expert width", "integer, a multiple of 32 (required)"),
    ConfigField("num_attention_heads", READ, "query heads", "integer >= 1 (required)"),
    ConfigField("num_key_value_heads", READ, "key/value heads (grouped-query attention)",
                "integer dividing num_attention_heads (required)"),
    ConfigField("head_dim", READ, "width of one head (rotary on all of it)", "even integer (required)"),
    ConfigField("num_local_experts", READ, "experts per layer", "integer >= num_experts_per_tok (required)"),
    ConfigField("num_experts_per_tok", READ, "experts each token is routed to (transformers' name)",
                "integer >= 1; it or experts_per_token is required, equal when both are given"),
    ConfigField("experts_per_token", READ, "the same, under openai's name", "as num_experts_per_tok"),
    ConfigField("vocab_size", READ, "rows of the embedding and the lm_head", "integer >= 1 (required)"),
    ConfigField("max_position_embeddings", READ, "the longest context the package accepts",
                "integer >= 1 (required)"),
    # --- attention -----------------------------------------------------------------------------------------------
    ConfigField("layer_types", READ, "which layers use the sliding window",
                "absent/null: transformers' gpt-oss default (even layers sliding, odd full); or a list of "
                "num_hidden_layers entries, each 'sliding_attention' or 'full_attention'"),
    ConfigField("sliding_window", READ, "keys a sliding layer sees, the query's own included",
                "integer >= 1; null only when no layer is sliding"),
    ConfigField("attention_bias", READ, "biases on q/k/v/o projections",
                "true or absent (gpt-oss has them; the graph has no bias-free attention)"),
    ConfigField("rope_theta", READ, "rotary base (top-level form of the Hub's files)",
                "number > 0; absent: the rope dict's rope_theta, else 150000 (both implementations' default); "
                "if both are given they must be equal"),
    ConfigField("rope_scaling", READ, "YaRN parameters (the Hub's name)",
                "a YaRN dict (see the rope_* rows) or absent/null; at most one of rope_scaling and "
                "rope_parameters, unless both are equal; both absent: gpt-oss's YaRN (factor 32, beta 32/1, "
                "original 4096, no truncation), the default of both implementations"),
    ConfigField("rope_parameters", READ, "the same, transformers 5's name (may hold rope_theta)",
                "as rope_scaling; one dict for all layers (per-layer-type dicts are refused)"),
    # keys inside rope_scaling / rope_parameters
    ConfigField("rope.rope_type", READ, "rotary variant (legacy key: 'type')",
                "'yarn' (required: transformers reads an absent type as plain RoPE, openai's reference "
                "always uses YaRN)"),
    ConfigField("rope.factor", READ, "YaRN context extension factor", "number >= 1 (required)"),
    ConfigField("rope.original_max_position_embeddings", READ, "YaRN's pre-extension context",
                "integer >= 1 (required: transformers would substitute max_position_embeddings, openai's "
                "reference uses initial_context_length)"),
    ConfigField("initial_context_length", READ,
                "YaRN's pre-extension context under openai's name (what openai's reference reads)",
                "integer equal to rope.original_max_position_embeddings (gpt-oss's 4096 when there is no rope "
                "dict), or absent"),
    ConfigField("rope.beta_fast", READ, "YaRN ramp start (rotations)", "number > 0; absent: 32"),
    ConfigField("rope.beta_slow", READ, "YaRN ramp end (rotations)", "number > 0, < beta_fast; absent: 1"),
    ConfigField("rope.truncate", READ, "round the YaRN ramp ends to whole dimensions",
                "true or false (required: transformers defaults to true, openai's reference never rounds)"),
    ConfigField("rope.attention_factor", READ, "scale of cos/sin (YaRN's concentration)",
                "number > 0; absent: 0.1 * ln(factor) + 1"),
    ConfigField("rope.rope_theta", READ, "rotary base (transformers 5 keeps it here)", "number > 0"),
    ConfigField("rope.partial_rotary_factor", READ, "share of each head that is rotated",
                "1 or absent (gpt-oss rotates whole heads)"),
    # --- numerics of the blocks ---------------------------------------------------------------------------------
    ConfigField("rms_norm_eps", READ, "RMSNorm epsilon", "number > 0; absent: 1e-05"),
    ConfigField("swiglu_limit", READ, "clamp of the expert gate (above) and up projection (both sides)",
                "number > 0; absent: 7.0"),
    ConfigField("swiglu_alpha", READ, "sigmoid gain of the expert SwiGLU (written by transformers >= 5.24)",
                "number > 0; absent: 1.702 (hard-coded in openai's reference)"),
    ConfigField("tie_word_embeddings", READ, "the lm_head reuses the embedding matrix", "true or false; absent: false"),
    ConfigField("quantization_config", READ, "how the expert weights are stored",
                "{'quant_method': 'mxfp4', ...}: MXFP4 experts (*_blocks/*_scales); absent/null: floating-point "
                "experts (gate_up_proj/down_proj in bf16, fp16 or fp32); any other method is refused"),
    # --- tokens ------------------------------------------------------------------------------------------------
    ConfigField("eos_token_id", READ, "end-of-generation ids when generation_config.json has none",
                "integer or non-empty list of integers; absent/null: generation_config.json must name them, else "
                "the export is refused"),
    ConfigField("pad_token_id", READ, "padding id (recorded; the engine never pads)", "integer or null"),
    ConfigField("bos_token_id", READ, "beginning-of-sequence id (gpt-oss prompts do not use one)",
                "integer or null"),
    # --- ignored: no effect on what a token computes -------------------------------------------------------------
    ConfigField("hidden_act", IGNORED, "unused by gpt-oss: its experts apply their own clamped SwiGLU", "any"),
    ConfigField("attention_dropout", IGNORED, "training only (no dropout at inference)", "any"),
    ConfigField("initializer_range", IGNORED, "training only (initial weights)", "any"),
    ConfigField("router_aux_loss_coef", IGNORED, "training only (load-balancing loss)", "any"),
    ConfigField("output_router_logits", IGNORED, "whether transformers returns router logits", "any"),
    ConfigField("use_cache", IGNORED, "whether transformers keeps a KV cache", "any"),
    ConfigField("torch_dtype", IGNORED, "stored dtype; each tensor's own dtype comes from the safetensors header",
                "any"),
    ConfigField("dtype", IGNORED, "the same, transformers 5's name", "any"),
    ConfigField("transformers_version", IGNORED, "which transformers wrote the file", "any"),
    ConfigField("_name_or_path", IGNORED, "where transformers loaded the model from", "any"),
)

BY_NAME: dict[str, ConfigField] = {f.name: f for f in FIELDS}
TOP_LEVEL: frozenset[str] = frozenset(f.name for f in FIELDS if not f.name.startswith("rope."))
ROPE_KEYS: frozenset[str] = frozenset(f.name.removeprefix("rope.") for f in FIELDS if f.name.startswith("rope."))
