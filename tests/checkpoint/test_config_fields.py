"""config.json: every row of app/checkpoint/config_fields.py is accepted in its listed forms and refused
otherwise, with one sentence naming the file and the field.

Each case edits the Hub's form of the tiny test model's config.json (what `openai/gpt-oss-20b` ships: rope_scaling
and a top-level rope_theta). Rope keys are edited in both the Hub's `rope_scaling` and transformers 5's
`rope_parameters` form. `test_every_row_has_cases` keeps this file and the table in step.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.checkpoint.config import FULL, MXFP4, SLIDING, ConfigError, GptOssConfig
from app.checkpoint.config_fields import BY_NAME, FIELDS, IGNORED
from app.checkpoint.random_checkpoint import PRESETS

MISSING = object()  # "remove the field"
BASE = PRESETS["tiny"]
HUB = BASE.to_hf_dict()


@dataclass(frozen=True)
class Case:
    value: Any
    refused: str | None = None  # expected part of the error, or None when accepted
    check: Callable[[GptOssConfig], bool] = lambda config: config == BASE

    def __repr__(self) -> str:  # readable test ids
        shown = "missing" if self.value is MISSING else repr(self.value)
        return f"{'refuse' if self.refused else 'accept'} {shown}"


def accept(value: Any, check: Callable[[GptOssConfig], bool] | None = None) -> Case:
    return Case(value, None, check or (lambda config: config == BASE))


def refuse(value: Any, expected: str) -> Case:
    return Case(value, expected)


def _rope(**changes: Any) -> Callable[[GptOssConfig], bool]:
    return lambda config: config.rope_scaling == BASE.rope_scaling.__class__(
        **{**BASE.rope_scaling.__dict__, **changes})


CASES: dict[str, list[Case]] = {
    "model_type": [refuse("llama", "'llama', expected 'gpt_oss'"), refuse(MISSING, "model_type is missing or null")],
    "architectures": [accept(MISSING), refuse(["GptOssForSequenceClassification"], "architectures is"),
                      refuse("GptOssForCausalLM", "architectures is")],
    "num_hidden_layers": [refuse(MISSING, "num_hidden_layers is missing"), refuse(0, "num_hidden_layers is 0"),
                          refuse(3.0, "num_hidden_layers is 3.0")],
    "hidden_size": [refuse(MISSING, "hidden_size is missing"), refuse("128", "hidden_size is '128'"),
                    refuse(130, "multiples of 32")],
    "intermediate_size": [refuse(MISSING, "intermediate_size is missing"), refuse(100, "multiples of 32")],
    "num_attention_heads": [refuse(MISSING, "num_attention_heads is missing"), refuse(-4, "num_attention_heads")],
    "num_key_value_heads": [refuse(MISSING, "num_key_value_heads is missing"), refuse(3, "multiple of")],
    "head_dim": [refuse(MISSING, "head_dim is missing"), refuse(63, "even head width"), refuse(True, "head_dim is true")],
    "num_local_experts": [refuse(MISSING, "num_local_experts is missing"), refuse(2, "only 2 experts")],
    "num_experts_per_tok": [accept(MISSING), refuse(5, "num_experts_per_tok is 5 but experts_per_token is 4")],
    "experts_per_token": [accept(MISSING), refuse(2, "they must agree")],
    "vocab_size": [refuse(MISSING, "vocab_size is missing"), refuse(0, "vocab_size is 0")],
    "max_position_embeddings": [refuse(MISSING, "max_position_embeddings is missing"),
                                accept(4096, lambda c: c.max_position_embeddings == 4096)],
    "layer_types": [
        accept(MISSING, lambda c: c.layer_types == (SLIDING, FULL, SLIDING)),
        accept(None, lambda c: c.layer_types == (SLIDING, FULL, SLIDING)),
        accept([FULL, FULL, SLIDING], lambda c: c.layer_types == (FULL, FULL, SLIDING)),
        refuse([SLIDING, FULL], "layer_types has 2 entries but num_hidden_layers is 3"),
        refuse([SLIDING, "chunked_attention", SLIDING], "layer_types holds 'chunked_attention'"),
    ],
    "sliding_window": [
        refuse(MISSING, "sliding_window is missing or null but layer 0 is a sliding_attention layer"),
        refuse(None, "sliding_window is missing or null"),
        refuse(0, "sliding_window is 0"),
        accept(64, lambda c: c.sliding_window == 64),
    ],
    "attention_bias": [accept(MISSING), accept(True), refuse(False, "attention_bias is false")],
    "rope_theta": [
        accept(MISSING, lambda c: c.rope_theta == 150000.0),
        accept(10000, lambda c: c.rope_theta == 10000.0),
        refuse(-1, "rope_theta is -1"),
    ],
    "rope_scaling": [
        accept(MISSING, lambda c: c.rope_scaling == BASE.rope_scaling),  # both absent: gpt-oss's own YaRN
        accept(None, lambda c: c.rope_scaling == BASE.rope_scaling),
        refuse("yarn", "expected a dictionary"),
    ],
    "rope_parameters": [
        refuse({"rope_type": "yarn", "factor": 16.0, "original_max_position_embeddings": 4096, "truncate": False},
               "rope_scaling and rope_parameters are both given and differ"),
        refuse({SLIDING: HUB["rope_scaling"], FULL: HUB["rope_scaling"]}, "both given and differ"),
    ],
    "rope.rope_type": [
        refuse("dynamic", "rope_type is 'dynamic'"), refuse("default", "rope_type is 'default'"),
        refuse(MISSING, "rope_type is missing"),
    ],
    "rope.factor": [refuse(MISSING, "factor is missing"), refuse(0.5, "factor is 0.5"),
                    accept(8, _rope(factor=8.0))],
    "rope.original_max_position_embeddings": [refuse(MISSING, "original_max_position_embeddings is missing"),
                                              refuse(8192, "initial_context_length is 4096 but")],
    "initial_context_length": [accept(MISSING), accept(4096), refuse(8192, "they must agree"),
                               refuse("4096", "initial_context_length is '4096'")],
    "rope.beta_fast": [accept(MISSING), accept(16, _rope(beta_fast=16.0)), refuse(0.5, "must be smaller")],
    "rope.beta_slow": [accept(MISSING), accept(2.0, _rope(beta_slow=2.0)), refuse("1", "beta_slow is '1'")],
    "rope.truncate": [refuse(MISSING, "truncate is missing or null"), refuse("no", "truncate is 'no'"),
                      accept(True, _rope(truncate=True))],
    "rope.attention_factor": [accept(MISSING), accept(1.0, _rope(attention_factor=1.0)),
                              refuse(0, "attention_factor is 0")],
    "rope.rope_theta": [accept(150000.0), refuse(10000.0, "rope_theta is 150000 but")],
    "rope.partial_rotary_factor": [accept(1), refuse(0.5, "partial_rotary_factor is 0.5")],
    "rms_norm_eps": [accept(MISSING), accept(1e-6, lambda c: c.rms_norm_eps == 1e-6), refuse(0, "rms_norm_eps")],
    "swiglu_limit": [accept(MISSING), accept(5.0, lambda c: c.swiglu_limit == 5.0), refuse(-7, "swiglu_limit")],
    "swiglu_alpha": [accept(MISSING), accept(1.5, lambda c: c.swiglu_alpha == 1.5),
                     refuse("1.702", "swiglu_alpha is '1.702'")],
    "tie_word_embeddings": [accept(MISSING), accept(True, lambda c: c.tie_word_embeddings),
                            refuse(1, "tie_word_embeddings is 1")],
    "quantization_config": [
        accept(MISSING, lambda c: c.experts_quantization is None),
        accept(None, lambda c: c.experts_quantization is None),
        accept({"quant_method": "mxfp4"}, lambda c: c.experts_quantization == MXFP4),
        refuse({"quant_method": "bitsandbytes", "load_in_4bit": True}, "quant_method is 'bitsandbytes'"),
        refuse({"quant_method": "fp8"}, "quant_method is 'fp8'"),
    ],
    "eos_token_id": [
        accept([200002, 200012], lambda c: c.eos_token_ids == (200002, 200012)),
        accept(MISSING, lambda c: c.eos_token_ids == ()),
        refuse([], "eos_token_id is []"), refuse("200002", "eos_token_id is '200002'"),
    ],
    "pad_token_id": [accept(None, lambda c: c.pad_token_id is None), refuse(1.5, "pad_token_id is 1.5")],
    "bos_token_id": [accept(None), accept(199998), refuse("<s>", "bos_token_id is '<s>'")],
}
# IGNORED rows: any value is accepted and changes nothing.
for _field in FIELDS:
    if _field.kind == IGNORED:
        CASES[_field.name] = [accept("anything at all"), accept(MISSING)]


def test_every_row_has_cases() -> None:
    assert set(CASES) == set(BY_NAME)
    for name, cases in CASES.items():
        if BY_NAME[name].kind != IGNORED and name not in ("rope_parameters", "rope.rope_theta"):
            assert any(c.refused for c in cases), f"{name}: no form is refused"


def _edit(data: dict[str, Any], name: str, value: Any, rope_key: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    target, key = data, name
    if name.startswith("rope."):
        target, key = data[rope_key], name.removeprefix("rope.")
    if value is MISSING:
        target.pop(key, None)
    else:
        target[key] = value
    return data


def _transformers5_form(data: dict[str, Any]) -> dict[str, Any]:
    """What transformers 5's save_pretrained writes for the same model (see test_transformers_5_form below)."""
    data = copy.deepcopy(data)
    data["rope_parameters"] = {**data.pop("rope_scaling"), "rope_theta": data.pop("rope_theta")}
    return data


def _in_transformers5_form(name: str, case: Case) -> bool:
    """Rope keys are also checked in the transformers 5 form, where there is no rope_scaling and no top-level
    rope_theta to disagree with."""
    return name.startswith("rope.") and not (name == "rope.rope_theta" and case.refused)


CASE_LIST = [(form, name, case) for name, cases in CASES.items() for case in cases
             for form in ("hub", "transformers5") if form == "hub" or _in_transformers5_form(name, case)]


@pytest.mark.parametrize(("form", "name", "case"), CASE_LIST, ids=[f"{n}: {c!r} ({f})" for f, n, c in CASE_LIST])
def test_field(name: str, case: Case, form: str, tmp_path: Path) -> None:
    base = HUB if form == "hub" else _transformers5_form(HUB)
    rope_key = "rope_scaling" if form == "hub" else "rope_parameters"
    data = _edit(base, name, case.value, rope_key)
    if name in ("rope_scaling",) and case.value in (MISSING, None):
        data.pop("rope_theta", None)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    if case.refused is None:
        config = GptOssConfig.from_file(path)
        assert case.check(config), config
        return
    with pytest.raises(ConfigError) as info:
        GptOssConfig.from_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert case.refused in message, message
    assert "\n" not in message and ". " not in message.replace("e.g. ", ""), f"not one sentence: {message}"
    assert not any(f" is {python}" in message for python in ("None", "True", "False")), \
        f"a value spelt as Python, not as config.json: {message}"
    if name.startswith("rope.") and case.value is not MISSING:
        assert f"{rope_key}.{name.removeprefix('rope.')}" in message or "rope_theta" in message


def test_rope_theta_inside_rope_parameters_is_read(tmp_path: Path) -> None:
    data = _transformers5_form(HUB)
    data["rope_parameters"]["rope_theta"] = 10000
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    assert GptOssConfig.from_file(path).rope_theta == 10000.0


def test_another_yarn_original_context_is_read_when_both_names_agree(tmp_path: Path) -> None:
    """A context-extended fine-tune changes YaRN's original context under both names (openai's reference reads
    initial_context_length, transformers the rope dict): read when they agree, in either form."""
    for data in (HUB, _transformers5_form(HUB)):
        data = copy.deepcopy(data)
        data["initial_context_length"] = 8192
        data.get("rope_scaling", data.get("rope_parameters"))["original_max_position_embeddings"] = 8192
        path = tmp_path / "config.json"
        path.write_text(json.dumps(data))
        assert GptOssConfig.from_file(path).rope_scaling.original_max_position_embeddings == 8192


def test_initial_context_length_against_the_default_yarn(tmp_path: Path) -> None:
    """No rope dict at all means gpt-oss's YaRN (original context 4096): another initial_context_length is
    refused, naming what it disagrees with."""
    data = {k: v for k, v in HUB.items() if k not in ("rope_scaling", "rope_theta")}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**data, "initial_context_length": 8192}))
    with pytest.raises(ConfigError, match="initial_context_length is 8192 but gpt-oss's default YaRN original "
                                          "context is 4096; they must agree"):
        GptOssConfig.from_file(path)


@pytest.mark.parametrize("field", ["unsloth_version", "use_sliding_window", "rope_interleave"])
def test_unknown_fields_are_refused(field: str, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**HUB, field: True}))
    with pytest.raises(ConfigError, match=f"the field '{field}' is not one Enclave knows"):
        GptOssConfig.from_file(path)


def test_unknown_rope_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**HUB, "rope_scaling": {**HUB["rope_scaling"], "mscale": 1.0}}))
    with pytest.raises(ConfigError, match="rope_scaling.mscale is not a rope setting Enclave knows"):
        GptOssConfig.from_file(path)


def test_legacy_type_key_is_read_like_rope_type(tmp_path: Path) -> None:
    rope = {k: v for k, v in HUB["rope_scaling"].items() if k != "rope_type"}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**HUB, "rope_scaling": {**rope, "type": "yarn"}}))
    assert GptOssConfig.from_file(path) == BASE
    path.write_text(json.dumps({**HUB, "rope_scaling": {**rope, "type": "linear"}}))
    with pytest.raises(ConfigError, match="rope_type is 'linear'"):
        GptOssConfig.from_file(path)


def test_the_hub_form_reads_back_as_the_config_that_wrote_it() -> None:
    assert GptOssConfig.from_dict(HUB) == BASE
    assert GptOssConfig.from_dict(_transformers5_form(HUB)) == BASE
    assert math.isclose(BASE.yarn_attention_factor, 0.1 * math.log(32) + 1)


def test_transformers_5_form_is_what_transformers_writes(tmp_path: Path) -> None:
    """transformers 5 itself reads the Hub's config.json and saves it: the result parses to the same config."""
    transformers = pytest.importorskip("transformers")
    (tmp_path / "hub").mkdir()
    (tmp_path / "hub" / "config.json").write_text(json.dumps(HUB))
    transformers.AutoConfig.from_pretrained(tmp_path / "hub").save_pretrained(tmp_path / "saved")
    written = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert "rope_parameters" in written and "rope_scaling" not in written and "rope_theta" not in written
    assert GptOssConfig.from_file(tmp_path / "saved" / "config.json") == BASE
