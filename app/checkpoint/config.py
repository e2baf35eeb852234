"""The gpt-oss model configuration, read from a Hugging Face `config.json`.

Defaults are gpt-oss-20b's real values, so `GptOssConfig()` *is* the 20b model and tests only override what
they shrink. The dataclass is frozen: everything downstream (exporter, engine) derives from it and must not
drift from what the checkpoint says.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

SLIDING = "sliding_attention"
FULL = "full_attention"


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
    swiglu_alpha: float = 1.702  # not in config.json: hard-coded in the reference (gpt_oss/torch/model.py)
    attention_bias: bool = True
    tie_word_embeddings: bool = False
    # gpt-oss alternates sliding-window (even) and full (odd) attention layers.
    layer_types: tuple[str, ...] = ()
    eos_token_id: int = 200002
    pad_token_id: int = 199999

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
        """YaRN's concentration factor: cos and sin are scaled by 0.1·ln(factor) + 1."""
        if self.rope_scaling.factor <= 1.0:
            return 1.0
        return 0.1 * math.log(self.rope_scaling.factor) + 1.0

    # --- (de)serialisation ----------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GptOssConfig:
        """Builds the config from a parsed config.json, rejecting anything that is not gpt-oss."""
        if data.get("model_type") != "gpt_oss":
            raise ConfigError(f"model_type is {data.get('model_type')!r}, expected 'gpt_oss'")
        rope = data.get("rope_scaling") or {}
        if rope and rope.get("rope_type", rope.get("type")) not in ("yarn", None):
            raise ConfigError(f"unsupported rope_scaling type {rope.get('rope_type')!r}")
        scaling = RopeScaling(
            factor=float(rope.get("factor", 1.0)),
            beta_fast=float(rope.get("beta_fast", 32.0)),
            beta_slow=float(rope.get("beta_slow", 1.0)),
            original_max_position_embeddings=int(rope.get("original_max_position_embeddings", 4096)),
            truncate=bool(rope.get("truncate", False)),
        )
        defaults = cls()
        ints = (
            "num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads",
            "head_dim", "num_local_experts", "num_experts_per_tok", "vocab_size", "sliding_window",
            "max_position_embeddings", "eos_token_id", "pad_token_id",
        )
        kwargs: dict[str, Any] = {}
        try:
            for name in ints:
                value = data.get(name, getattr(defaults, name))
                if isinstance(value, list):  # eos_token_id may be a list in some configs
                    value = value[0]
                kwargs[name] = int(value)
            for name in ("rope_theta", "rms_norm_eps", "swiglu_limit"):
                kwargs[name] = float(data.get(name, getattr(defaults, name)))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"config.json has a non-numeric value: {exc}") from exc
        if "experts_per_token" in data and "num_experts_per_tok" not in data:
            kwargs["num_experts_per_tok"] = int(data["experts_per_token"])
        kwargs["attention_bias"] = bool(data.get("attention_bias", True))
        kwargs["tie_word_embeddings"] = bool(data.get("tie_word_embeddings", False))
        kwargs["layer_types"] = tuple(data.get("layer_types") or ())
        return cls(rope_scaling=scaling, **kwargs)

    @classmethod
    def from_file(cls, path: Path) -> GptOssConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: no config.json here; this is not a Hugging Face model folder") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: config.json cannot be read ({exc})") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: config.json is not a JSON object")
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc

    def to_hf_dict(self) -> dict[str, Any]:
        """The config.json that Hugging Face transformers writes for gpt-oss (used by the test-model writer)."""
        return {
            "architectures": ["GptOssForCausalLM"],
            "attention_bias": self.attention_bias,
            "attention_dropout": 0.0,
            "eos_token_id": self.eos_token_id,
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
                "quant_method": "mxfp4",
            },
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

    def with_changes(self, **changes: Any) -> GptOssConfig:
        """A copy with some fields changed; layer_types is recomputed when only the layer count changes."""
        if "num_hidden_layers" in changes and "layer_types" not in changes:
            changes["layer_types"] = ()
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
