"""The byte budget a target's package of a config will have, from the export's storage rules, without exporting.

Why: the issue's goals (package size, weight bytes read per decoded token) are about gpt-oss-20b's 24 layers,
whose export takes tens of minutes and more disk than a test may use. Every storage choice the exporter makes
is a function of the tensor shapes and the target record (app.package.targets: projection, lm_head and
embedding bits, the dense and expert block sizes, float16 scales), so the budget follows from the config by
arithmetic. tests/bench/test_plan.py keeps this arithmetic equal, component by component, to the initializers
of real exports of the tiny model, and checks the 20b budget against the goals.

Assumes the MXFP4 checkpoint of the Hub: bf16 embedding and lm_head, float16-safe expert and embedding scales,
and (cpu) int8 experts lossless at the target's block in every layer, as measured on realistic codes
(docs/benchmarks.md); an export that falls back to block 32 in a layer is larger by what the plan shows.
"""

from __future__ import annotations

from app.bench.weights import ONNX_COMPONENTS, Component, budget
from app.checkpoint.config import GptOssConfig
from app.package.targets import INT4, INT8, Target

FLOAT16_SCALE = 2  # bytes of a float16 expert or embedding scale
CHECKPOINT_FLOAT = 2  # bf16: the embedding and lm_head as the Hub stores them


def _dense(name: str, n: int, k: int, bits: int, block: int, activation_bytes: int) -> list[tuple[str, int]]:
    """A [n, k] weight as layers.projection / graph._lm_head store it: activation dtype, or int8 MatMulNBits
    (one byte per weight plus one activation-dtype scale per block)."""
    if bits == 8:
        return [(name + ".qweight", n * k), (name + ".scales", n * (k // block) * activation_bytes)]
    return [(name + ".weight", n * k * activation_bytes)]


def planned_tensors(config: GptOssConfig, target: Target, context_length: int) -> list[tuple[str, int, int, bool]]:
    """(initializer name, bytes, first-axis rows, per layer) for the big tensors of `target`'s package of
    `config`, named as the exporter names them (so app.bench.weights.ONNX_COMPONENTS sorts them alike).
    Shape constants and other tensors below a few KB are left out."""
    if target.experts not in (INT8, INT4) or not target.runs_on_cpu:
        raise ValueError(f"the byte plan covers the CPU targets' storage, not {target.name}'s")
    act = target.float_type.itemsize
    h, i, e, v = config.hidden_size, config.intermediate_size, config.num_local_experts, config.vocab_size
    q_out = (config.num_attention_heads + 2 * config.num_key_value_heads) * config.head_dim
    o_in = config.num_attention_heads * config.head_dim
    block = target.dense_block_size
    rows: list[tuple[str, int, int, bool]] = []
    for layer in range(config.num_hidden_layers):
        attn, moe = f"layers.{layer}.attn", f"layers.{layer}.moe"
        tensors = [*_dense(attn + ".qkv_proj", q_out, h, target.projection_bits, block, act),
                   (attn + ".qkv_proj.bias", q_out * act),
                   *_dense(attn + ".o_proj", h, o_in, target.projection_bits, block, act),
                   (attn + ".o_proj.bias", h * act), (attn + ".sinks", config.num_attention_heads * act),
                   (f"layers.{layer}.input_norm.weight", h * 4), (f"layers.{layer}.post_norm.weight", h * act),
                   (moe + ".router.weight", h * e * act), (moe + ".router.bias", e * act)]
        expert_bytes = 1.0 if target.experts == INT8 else 0.5
        for fc, n, k in (("fc1", 2 * i, h), ("fc2", h, i)):
            tensors += [(f"{moe}.{fc}.weight", int(e * n * k * expert_bytes)),
                        (f"{moe}.{fc}.scales", e * n * (k // target.expert_block_size) * FLOAT16_SCALE),
                        (f"{moe}.{fc}.bias", e * n * act)]
        rows += [(name, size, e if ".fc" in name else 0, True) for name, size in tensors]
    if target.embedding_bits:
        rows += [("embed_tokens.qweight", v * h * target.embedding_bits // 8, v, False),
                 ("embed_tokens.scales", v * (h // block) * FLOAT16_SCALE, v, False)]
    else:
        rows.append(("embed_tokens.weight", v * h * CHECKPOINT_FLOAT, v, False))
    rows += [(name, size, v, False) for name, size in _dense("lm_head", v, h, target.lm_head_bits, block, act)]
    rows += [("final_norm.weight", h * act, 0, False)]
    rows += [(name, context_length * config.head_dim // 2 * act, context_length, False)
             for name in ("cos_cache", "sin_cache")]
    return rows


def planned_budget(config: GptOssConfig, target: Target, context_length: int) -> dict[str, Component]:
    """The component budget (app.bench.weights.budget) of `target`'s package of `config`, as `enclave bench
    --budget` would print it for the exported package."""
    return budget(planned_tensors(config, target, context_length), ONNX_COMPONENTS,
                  config.num_experts_per_tok, config.num_local_experts)
