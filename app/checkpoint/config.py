"""The gpt-oss model configuration, read from a Hugging Face `config.json`.

Defaults are gpt-oss-20b's real values, so `GptOssConfig()` *is* the 20b model and tests only override what
they shrink. The dataclass is frozen: everything downstream (exporter, engine) derives from it and must not
drift from what the checkpoint says.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from app.checkpoint.config_fields import ROPE_KEYS, TOP_LEVEL
from app.json_files import read_json_object

SLIDING = "sliding_attention"
FULL = "full_attention"
MXFP4 = "mxfp4"
DEFAULT_ROPE_THETA = 150000.0  # transformers' GptOssConfig.default_theta and openai's reference


class ConfigError(ValueError):
    """The folder's config.json is missing, unreadable or not a gpt-oss configuration."""


@dataclass(frozen=True)
class RopeScaling:
    """YaRN parameters (Peng et al. 2023, "YaRN: Efficient Context Window Extension"), as gpt-oss ships them."""

    factor: float = 32.0
    beta_fast: float = 32.0
    beta_slow: float = 1.0
    original_max_position_embeddings: int = 4096
    truncate: bool = False
    rope_type: str = "yarn"
    attention_factor: float | None = None  # None: YaRN's 0.1·ln(factor) + 1


@dataclass(frozen=True)
class GptOssConfig:
    """Everything about the architecture that the exporter and engine need (gpt-oss-20b by default)."""

    num_hidden_layers: int = 24
    hidden_size: int = 2880
    intermediate_size: int = 2880
    num_attention_heads: int = 64
    num_key_value_heads: int = 8
    head_dim: int = 64
    num_local_experts: int = 32
    num_experts_per_tok: int = 4
    vocab_size: int = 201088
    sliding_window: int = 128
    rope_theta: float = 150000.0
    rope_scaling: RopeScaling = field(default_factory=RopeScaling)
    max_position_embeddings: int = 131072
    rms_norm_eps: float = 1e-5
    swiglu_limit: float = 7.0
    swiglu_alpha: float = 1.702  # hard-coded in openai's reference; config.json has it from transformers 5.24
    attention_bias: bool = True
    tie_word_embeddings: bool = False
    # gpt-oss alternates sliding-window (even) and full (odd) attention layers.
    layer_types: tuple[str, ...] = ()
    eos_token_ids: tuple[int, ...] = (200002,)  # config.json's; generation_config.json's list takes precedence
    pad_token_id: int | None = 199999
    # How the checkpoint stores its experts: "mxfp4" (the Hub's *_blocks/*_scales) or None (floating point,
    # transformers' dequantised gate_up_proj/down_proj, e.g. a fine-tune).
    experts_quantization: str | None = MXFP4

    def __post_init__(self) -> None:
        if not self.layer_types:
            types = tuple(SLIDING if i % 2 == 0 else FULL for i in range(self.num_hidden_layers))
            object.__setattr__(self, "layer_types", types)
        if len(self.layer_types) != self.num_hidden_layers:
            raise ConfigError(
                f"layer_types has {len(self.layer_types)} entries but num_hidden_layers is {self.num_hidden_layers}"
            )
        bad = [t for t in self.layer_types if t not in (SLIDING, FULL)]
        if bad:
            raise ConfigError(f"unknown layer type {bad[0]!r} in layer_types")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ConfigError("num_attention_heads must be a multiple of num_key_value_heads")
        if self.hidden_size % 32 or self.intermediate_size % 32:
            raise ConfigError("hidden_size and intermediate_size must be multiples of 32 (MXFP4 block size)")

    # --- derived values -------------------------------------------------------------------------------------
    def is_sliding(self, layer: int) -> bool:
        return self.layer_types[layer] == SLIDING

    @property
    def q_size(self) -> int:
        return self.num_attention_heads * self.head_dim

    @property
    def kv_size(self) -> int:
        return self.num_key_value_heads * self.head_dim

    @property
    def yarn_attention_factor(self) -> float:
        """YaRN's concentration factor: cos and sin are scaled by 0.1·ln(factor) + 1 (or the config's own)."""
        if self.rope_scaling.attention_factor is not None:
            return self.rope_scaling.attention_factor
        if self.rope_scaling.factor <= 1.0:
            return 1.0
        return 0.1 * math.log(self.rope_scaling.factor) + 1.0

    # --- (de)serialisation ----------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GptOssConfig:
        """Builds the config from a parsed config.json, accepting exactly the forms listed in
        app/checkpoint/config_fields.py and refusing everything else with one sentence naming the field."""
        return _parse(data)

    @classmethod
    def from_file(cls, path: Path) -> GptOssConfig:
        data = read_json_object(path, ConfigError,
                                missing=f"{path}: no config.json here; this is not a Hugging Face model folder")
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc

    def to_hf_dict(self) -> dict[str, Any]:
        """The config.json of the Hub's gpt-oss repositories (used by the test-model writer); without
        quantization_config when the experts are floating point."""
        data = {
            "architectures": ["GptOssForCausalLM"],
            "attention_bias": self.attention_bias,
            "attention_dropout": 0.0,
            "eos_token_id": self.eos_token_ids[0] if len(self.eos_token_ids) == 1 else list(self.eos_token_ids),
            "experts_per_token": self.num_experts_per_tok,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "hidden_size": self.hidden_size,
            "initial_context_length": self.rope_scaling.original_max_position_embeddings,
            "initializer_range": 0.02,
            "intermediate_size": self.intermediate_size,
            "layer_types": list(self.layer_types),
            "max_position_embeddings": self.max_position_embeddings,
            "model_type": "gpt_oss",
            "num_attention_heads": self.num_attention_heads,
            "num_experts_per_tok": self.num_experts_per_tok,
            "num_hidden_layers": self.num_hidden_layers,
            "num_key_value_heads": self.num_key_value_heads,
            "num_local_experts": self.num_local_experts,
            "output_router_logits": False,
            "pad_token_id": self.pad_token_id,
            "quantization_config": {
                "modules_to_not_convert": [
                    "model.layers.*.self_attn",
                    "model.layers.*.mlp.router",
                    "model.embed_tokens",
                    "lm_head",
                ],
                "quant_method": MXFP4,
            } if self.experts_quantization == MXFP4 else None,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_scaling": {
                "beta_fast": self.rope_scaling.beta_fast,
                "beta_slow": self.rope_scaling.beta_slow,
                "factor": self.rope_scaling.factor,
                "original_max_position_embeddings": self.rope_scaling.original_max_position_embeddings,
                "rope_type": self.rope_scaling.rope_type,
                "truncate": self.rope_scaling.truncate,
            },
            "rope_theta": self.rope_theta,
            "router_aux_loss_coef": 0.9,
            "sliding_window": self.sliding_window,
            "swiglu_limit": self.swiglu_limit,
            "tie_word_embeddings": self.tie_word_embeddings,
            "torch_dtype": "bfloat16",
            "use_cache": True,
            "vocab_size": self.vocab_size,
        }
        return {key: value for key, value in data.items() if not (key == "quantization_config" and value is None)}

    def with_changes(self, **changes: Any) -> GptOssConfig:
        """A copy with some fields changed; layer_types is recomputed when only the layer count changes."""
        if "num_hidden_layers" in changes and "layer_types" not in changes:
            changes["layer_types"] = ()
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- parsing config.json (the forms are documented, one row per field, in app/checkpoint/config_fields.py) -----
def _parse(data: dict[str, Any]) -> GptOssConfig:
    if data.get("model_type") != "gpt_oss":
        raise ConfigError(f"model_type is {_shown(data.get('model_type'))}, expected 'gpt_oss'")
    unknown = sorted(set(data) - TOP_LEVEL)
    if unknown:
        raise ConfigError(f"the field {unknown[0]!r} is not one Enclave knows, and it may change what the model "
                          "computes, so the checkpoint is refused rather than guessed at")
    architectures = data.get("architectures")
    if architectures is not None and architectures != ["GptOssForCausalLM"]:
        raise ConfigError(f"architectures is {_shown(architectures)}; Enclave exports only ['GptOssForCausalLM'] "
                          "(a language model with an lm_head)")
    kwargs: dict[str, Any] = {name: _integer(data, name) for name in (
        "num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads",
        "head_dim", "num_local_experts", "vocab_size", "max_position_embeddings")}
    if kwargs["head_dim"] % 2:
        raise ConfigError(f"head_dim is {kwargs['head_dim']}; rotary embeddings need an even head width")
    kwargs["num_experts_per_tok"] = _experts_per_token(data)
    if kwargs["num_experts_per_tok"] > kwargs["num_local_experts"]:
        raise ConfigError(f"num_experts_per_tok is {kwargs['num_experts_per_tok']} but there are only "
                          f"{kwargs['num_local_experts']} experts (num_local_experts)")
    kwargs["layer_types"] = _layer_types(data, kwargs["num_hidden_layers"])
    kwargs["sliding_window"] = _sliding_window(data, kwargs["layer_types"])
    if data.get("attention_bias", True) is not True:
        raise ConfigError(f"attention_bias is {_shown(data['attention_bias'])}; Enclave's graph has the q/k/v/o "
                          "biases every gpt-oss checkpoint has and no bias-free attention")
    kwargs["rope_scaling"], kwargs["rope_theta"] = _rope(data)
    _check_initial_context(data, kwargs["rope_scaling"])
    for name, default in (("rms_norm_eps", 1e-5), ("swiglu_limit", 7.0), ("swiglu_alpha", 1.702)):
        kwargs[name] = _number(data, name, default=default)
    tie = data.get("tie_word_embeddings", False)
    if not isinstance(tie, bool):
        raise ConfigError(f"tie_word_embeddings is {_shown(tie)}; expected true or false")
    kwargs["tie_word_embeddings"] = tie
    kwargs["experts_quantization"] = _quantization(data)
    kwargs["eos_token_ids"] = _token_ids(data)
    for name in ("pad_token_id", "bos_token_id"):
        value = data.get(name)
        if value is not None and not _is_int(value):
            raise ConfigError(f"{name} is {_shown(value)}; expected an integer or null")
    kwargs["pad_token_id"] = data.get("pad_token_id")
    return GptOssConfig(**kwargs)


def _shown(value: object) -> str:
    """A value as the user's config.json spells it (true, false), not as Python does; None is a missing key or
    a JSON null, which the caller cannot tell apart."""
    if value is None:
        return "missing or null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(data: dict[str, Any], name: str, *, minimum: int = 1, where: str = "") -> int:
    if name not in data:
        raise ConfigError(f"{where}{name} is missing; it is required (every gpt-oss config.json has it)")
    value = data[name]
    if not _is_int(value) or value < minimum:
        raise ConfigError(f"{where}{name} is {_shown(value)}; expected an integer of at least {minimum}")
    return value


def _number(data: dict[str, Any], name: str, *, default: float | None, where: str = "",
            minimum: float = 0.0) -> float:
    value = data.get(name)
    if value is None:
        if default is None:
            raise ConfigError(f"{where}{name} is missing; it is required")
        return default
    if not _is_number(value) or value <= minimum:
        raise ConfigError(f"{where}{name} is {_shown(value)}; expected a number greater than {minimum:g}")
    return float(value)


def _experts_per_token(data: dict[str, Any]) -> int:
    present = [name for name in ("num_experts_per_tok", "experts_per_token") if data.get(name) is not None]
    if not present:
        raise ConfigError("num_experts_per_tok (or experts_per_token) is missing; it is required")
    values = {name: _integer(data, name) for name in present}
    if len(set(values.values())) > 1:
        raise ConfigError(f"num_experts_per_tok is {values['num_experts_per_tok']} but experts_per_token is "
                          f"{values['experts_per_token']}; they must agree")
    return values[present[0]]


def _layer_types(data: dict[str, Any], layers: int) -> tuple[str, ...]:
    value = data.get("layer_types")
    if value is None:  # transformers' GptOssConfig default: even layers slide, odd layers see everything
        return tuple(SLIDING if i % 2 == 0 else FULL for i in range(layers))
    if not isinstance(value, list) or len(value) != layers:
        size = len(value) if isinstance(value, list) else "no"
        raise ConfigError(f"layer_types has {size} entries but num_hidden_layers is {layers}")
    bad = [t for t in value if t not in (SLIDING, FULL)]
    if bad:
        raise ConfigError(f"layer_types holds {bad[0]!r}; expected only {SLIDING!r} and {FULL!r}")
    return tuple(value)


def _sliding_window(data: dict[str, Any], layer_types: tuple[str, ...]) -> int:
    value = data.get("sliding_window")
    if value is None:
        if SLIDING in layer_types:
            raise ConfigError(f"sliding_window is missing or null but layer {layer_types.index(SLIDING)} is a "
                              f"{SLIDING} layer")
        return 0  # no layer slides: the window is never used
    return _integer(data, "sliding_window")


def _quantization(data: dict[str, Any]) -> str | None:
    value = data.get("quantization_config")
    if value is None:
        return None
    method = value.get("quant_method") if isinstance(value, dict) else None
    if method != MXFP4:
        raise ConfigError(f"quantization_config.quant_method is {_shown(method)}; Enclave reads MXFP4 experts "
                          "(quant_method 'mxfp4') or unquantised bf16/fp16/fp32 ones (no quantization_config)")
    return MXFP4


def _check_initial_context(data: dict[str, Any], rope: RopeScaling) -> None:
    """openai's reference takes YaRN's original context from initial_context_length, transformers from the rope
    dict: a checkpoint that gives both must give one value, or the two would compute different models."""
    if data.get("initial_context_length") is None:
        return
    initial = _integer(data, "initial_context_length")
    if initial != rope.original_max_position_embeddings:
        where = next((f"{key}.original_max_position_embeddings" for key in ("rope_scaling", "rope_parameters")
                      if isinstance(data.get(key), dict)), "gpt-oss's default YaRN original context")
        raise ConfigError(f"initial_context_length is {initial} but {where} is "
                          f"{rope.original_max_position_embeddings}; they must agree")


def _token_ids(data: dict[str, Any]) -> tuple[int, ...]:
    value = data.get("eos_token_id")
    if value is None:
        return ()
    ids = value if isinstance(value, list) else [value]
    if not ids or not all(_is_int(i) and i >= 0 for i in ids):
        raise ConfigError(f"eos_token_id is {_shown(value)}; expected a token id or a non-empty list of token ids")
    return tuple(ids)


def _rope(data: dict[str, Any]) -> tuple[RopeScaling, float]:
    """(YaRN parameters, rope theta) from rope_scaling or rope_parameters (and a top-level rope_theta)."""
    scaling, parameters = data.get("rope_scaling"), data.get("rope_parameters")
    if scaling is not None and parameters is not None and scaling != parameters:
        raise ConfigError("rope_scaling and rope_parameters are both given and differ; keep only one of them")
    key = "rope_scaling" if scaling is not None else "rope_parameters"
    rope = scaling if scaling is not None else parameters
    top_theta = _number(data, "rope_theta", default=None) if data.get("rope_theta") is not None else None
    if rope is None:  # the default of transformers' GptOssConfig and of openai's reference alike
        return RopeScaling(), top_theta or DEFAULT_ROPE_THETA
    where = f"{key}."
    if not isinstance(rope, dict):
        raise ConfigError(f"{key} is {_shown(rope)}; expected a dictionary of YaRN parameters")
    if any(isinstance(v, dict) for v in rope.values()):
        raise ConfigError(f"{key} gives a rope per layer type; gpt-oss uses one rope for every layer")
    unknown = sorted(set(rope) - ROPE_KEYS - {"type"})
    if unknown:
        raise ConfigError(f"{where}{unknown[0]} is not a rope setting Enclave knows; it may change the rotary "
                          "embedding, so the checkpoint is refused")
    types = {rope[k] for k in ("rope_type", "type") if k in rope}
    if not types:
        raise ConfigError(f"{where}rope_type is missing; transformers would then use plain RoPE while gpt-oss "
                          "is trained with 'yarn', so say which")
    if types != {"yarn"}:
        shown = rope.get("rope_type", rope.get("type"))
        raise ConfigError(f"{where}rope_type is {_shown(shown)}; Enclave computes only YaRN ('yarn'), the rope every "
                          "gpt-oss checkpoint uses")
    if rope.get("partial_rotary_factor", 1) != 1:
        raise ConfigError(f"{where}partial_rotary_factor is {_shown(rope['partial_rotary_factor'])}; gpt-oss rotates "
                          "whole heads (1)")
    truncate = rope.get("truncate")
    if not isinstance(truncate, bool):
        raise ConfigError(f"{where}truncate is {_shown(truncate)}; say true or false (transformers assumes true when "
                          "it is missing, openai's reference never truncates)")
    factor = _number(rope, "factor", default=None, where=where, minimum=0.0)
    if factor < 1:
        raise ConfigError(f"{where}factor is {factor!r}; expected a number of at least 1")
    beta_fast = _number(rope, "beta_fast", default=32.0, where=where)
    beta_slow = _number(rope, "beta_slow", default=1.0, where=where)
    if beta_slow >= beta_fast:
        raise ConfigError(f"{where}beta_slow ({beta_slow:g}) must be smaller than {where}beta_fast ({beta_fast:g})")
    attention = _number(rope, "attention_factor", default=0.0, where=where) or None
    inner_theta = _number(rope, "rope_theta", default=None, where=where) if rope.get("rope_theta") is not None \
        else None
    if inner_theta is not None and top_theta is not None and inner_theta != top_theta:
        raise ConfigError(f"rope_theta is {top_theta:g} but {where}rope_theta is {inner_theta:g}; they must agree")
    scaling_params = RopeScaling(
        factor=factor, beta_fast=beta_fast, beta_slow=beta_slow,
        original_max_position_embeddings=_integer(rope, "original_max_position_embeddings", where=where),
        truncate=truncate, attention_factor=attention,
    )
    return scaling_params, inner_theta or top_theta or DEFAULT_ROPE_THETA
