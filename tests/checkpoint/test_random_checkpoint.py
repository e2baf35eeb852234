"""The random test checkpoints: the Hugging Face gpt-oss layout, the real tokenizer, determinism, the CLI, and
the designed weight statistics (checked with NumPy here; with transformers in test_reference_sensitivity.py)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from app.checkpoint import mxfp4
from app.checkpoint.config import FULL, SLIDING, GptOssConfig
from app.checkpoint.names import expected_tensors
from app.checkpoint.random_checkpoint import PRESETS, edge_pairs, write_test_model
from app.checkpoint.weights import INDEX_FILE, Checkpoint
from app.cli.main import main

# A small config for tests that write several checkpoints: tiny widths with a toy vocabulary.
TOY = PRESETS["tiny"].with_changes(vocab_size=512, num_hidden_layers=2)


def test_tiny_preset_has_the_real_vocabulary_window_and_rope() -> None:
    tiny, real = PRESETS["tiny"], GptOssConfig()
    assert tiny.vocab_size == 201088 and tiny.sliding_window == 128
    assert tiny.rope_theta == real.rope_theta and tiny.rope_scaling == real.rope_scaling
    assert tiny.layer_types == (SLIDING, FULL, SLIDING)
    assert tiny.num_attention_heads // tiny.num_key_value_heads > 1  # grouped-query attention in play
    assert tiny.num_local_experts > tiny.num_experts_per_tok > 1


def test_20b_layers_preset_has_the_real_widths() -> None:
    preset, real = PRESETS["20b-layers"], GptOssConfig()
    assert preset == real.with_changes(num_hidden_layers=2)
    assert preset.layer_types == (SLIDING, FULL)
    assert (preset.hidden_size, preset.num_attention_heads, preset.num_key_value_heads) == (2880, 64, 8)
    assert (preset.num_local_experts, preset.num_experts_per_tok, preset.vocab_size) == (32, 4, 201088)


def test_layout_matches_the_hugging_face_repository(tiny_checkpoint: Path) -> None:
    files = {p.name for p in tiny_checkpoint.iterdir()}
    shards = sorted(f for f in files if f.endswith(".safetensors"))
    assert len(shards) >= 3
    assert all(re.fullmatch(rf"model-\d{{5}}-of-{len(shards):05d}\.safetensors", s) for s in shards)
    assert {"config.json", "generation_config.json", INDEX_FILE, "tokenizer.json", "tokenizer_config.json"} <= files

    config = json.loads((tiny_checkpoint / "config.json").read_text())
    assert config["model_type"] == "gpt_oss" and config["architectures"] == ["GptOssForCausalLM"]
    assert config["rope_scaling"]["rope_type"] == "yarn" and config["rope_scaling"]["factor"] == 32.0
    assert config["layer_types"] == ["sliding_attention", "full_attention", "sliding_attention"]
    assert config["quantization_config"]["quant_method"] == "mxfp4"

    generation = json.loads((tiny_checkpoint / "generation_config.json").read_text())
    assert generation["bos_token_id"] == 199998
    assert generation["eos_token_id"] == [200002, 199999, 200012]
    assert generation["pad_token_id"] == 199999

    index = json.loads((tiny_checkpoint / INDEX_FILE).read_text())
    specs = expected_tensors(PRESETS["tiny"])
    assert set(index["weight_map"]) == set(specs)
    assert set(index["weight_map"].values()) == set(shards)
    nbytes = {"BF16": 2, "U8": 1}
    assert index["metadata"]["total_size"] == sum(int(np.prod(s.shape)) * nbytes[s.dtype] for s in specs.values())


def test_every_shard_reads_with_the_safetensors_package(tiny_checkpoint: Path) -> None:
    pytest.importorskip("torch")
    from safetensors import safe_open

    index = json.loads((tiny_checkpoint / INDEX_FILE).read_text())
    specs = expected_tensors(PRESETS["tiny"])
    for shard in sorted(set(index["weight_map"].values())):
        with safe_open(tiny_checkpoint / shard, framework="pt") as handle:
            assert handle.metadata() == {"format": "pt"}
            for name in handle.keys():
                tensor = handle.get_slice(name)
                assert tuple(tensor.get_shape()) == specs[name].shape, name
                assert tensor.get_dtype() == {"BF16": "BF16", "U8": "U8"}[specs[name].dtype], name


def test_tokenizer_is_the_real_o200k_harmony(tiny_checkpoint: Path) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tiny_checkpoint / "tokenizer.json"))
    assert tokenizer.get_vocab_size() == 201088
    assert tokenizer.token_to_id("<|return|>") == 200002 and tokenizer.token_to_id("<|start|>") == 200006


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    def digest(folder: Path) -> str:
        h = hashlib.sha256()
        for path in sorted(folder.glob("*.safetensors")):
            h.update(path.read_bytes())
        return h.hexdigest()

    a = write_test_model(tmp_path / "a", TOY, seed=5, with_tokenizer=False)
    b = write_test_model(tmp_path / "b", TOY, seed=5, with_tokenizer=False)
    c = write_test_model(tmp_path / "c", TOY, seed=6, with_tokenizer=False)
    assert digest(a) == digest(b) != digest(c)


def test_refuses_a_non_empty_folder_and_leaves_it_alone(tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="taken"):
        write_test_model(folder, TOY, with_tokenizer=False)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]  # no staging folder left behind


def test_weight_statistics_exercise_every_component(tiny_checkpoint: Path) -> None:
    checkpoint = Checkpoint.open(tiny_checkpoint)
    config = checkpoint.config
    names = checkpoint.layer_names(1)
    x = np.random.default_rng(0).standard_normal((256, config.hidden_size)).astype(np.float32)  # rms-1 inputs
    # SwiGLU clamp at 7: a real fraction of gate/up pre-activations lies beyond it.
    gate_up = checkpoint.experts_f32(1, "gate_up")[0]
    outside = np.mean(np.abs(x @ gate_up.T) > config.swiglu_limit)
    assert 0.1 < outside < 0.5, outside
    # Routing: router logits spread by a couple of units, so top-4 choices and weights are decisive.
    router = x @ checkpoint.tensor_f32(names["router_weight"]).T
    assert 1.0 < router.std() < 4.0
    # Sinks in the range of attention log-sum-exps, not negligible.
    sinks = checkpoint.tensor_f32(names["sinks"])
    assert sinks.min() >= 1.0 and sinks.max() <= 7.0
    # Expert scales are per-block powers of two around the target, and not all equal.
    scales = np.asarray(checkpoint.tensor_raw(names["gate_up_scales"]))
    assert 2 <= len(np.unique(scales)) <= 4


def test_expert_codes_are_gaussian_weights_quantised_as_training_does(tiny_checkpoint: Path) -> None:
    """Realistic codes: small magnitudes are common and ±6 is rare (uniform random codes give each of the eight
    magnitudes 1/8), the values have the designed spread, and they are a fixed point of the training-style
    encoder (rounding up the block scale never leaves a block whose largest value is below half of ±6)."""
    checkpoint = Checkpoint.open(tiny_checkpoint)
    config = checkpoint.config
    names = checkpoint.layer_names(1)
    codes = mxfp4.unpack_nibbles(np.asarray(checkpoint.tensor_raw(names["gate_up_blocks"])))
    magnitude = codes & 7
    assert np.mean(magnitude == 7) < 0.03 and np.mean(magnitude <= 1) > 0.25
    values = checkpoint.experts_f32(1, "gate_up")
    design = 5.5 / np.sqrt(config.hidden_size)  # WeightScales.gate_up
    assert abs(values.std() / design - 1) < 0.05
    assert np.array_equal(mxfp4.decode(*mxfp4.encode(values)), values)
    block_max = np.abs(values.reshape(-1, 32)).max(axis=1) / np.ldexp(
        1.0, np.asarray(checkpoint.tensor_raw(names["gate_up_scales"])).reshape(-1).astype(int) - 127)
    assert block_max.min() >= 3.0


def test_edge_head_biases_peak_at_the_oldest_key_in_the_window(tiny_checkpoint: Path) -> None:
    """The rope-relative bias of head 0 in a sliding layer, computed by hand from the stored q and k biases."""
    checkpoint = Checkpoint.open(tiny_checkpoint)
    config = checkpoint.config
    names = checkpoint.layer_names(0)
    d, half = config.head_dim, config.head_dim // 2
    q = checkpoint.tensor_f32(names["q_bias"])[:d]
    k = checkpoint.tensor_f32(names["k_bias"])[:d]
    theta = config.rope_theta ** (-2.0 * np.arange(half) / d)
    distances = np.arange(0, 200)
    # Rotate-half rope: pair i is (i, i + d/2); q at position m, k at n -> Re(zq conj(zk) e^{iθ(m-n)}).
    zq, zk = q[:half] + 1j * q[half:], k[:half] + 1j * k[half:]
    bias = np.real((zq * np.conj(zk))[None, :] * np.exp(1j * np.outer(distances, theta))).sum(axis=1)
    assert int(np.argmax(bias[:128])) == config.sliding_window - 1
    assert bias[127] > bias[126] > bias[:125].max() and bias[128] > bias[:125].max()
    assert list(edge_pairs(config)) == list(range(1, 8))


def test_cli_writes_a_model_with_a_layer_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-model"
    assert main(["make-test-model", str(out), "--preset", "tiny", "--layers", "2", "--seed", "3"]) == 0
    assert "wrote tiny test model (2 layers" in capsys.readouterr().out
    checkpoint = Checkpoint.open(out)
    assert checkpoint.config.num_hidden_layers == 2 and checkpoint.config.layer_types == (SLIDING, FULL)
    assert main(["make-test-model", str(out)]) == 1  # refuses to overwrite
    assert "already exists" in capsys.readouterr().err


def test_cli_rejects_bad_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["make-test-model", str(tmp_path / "m"), "--layers", "0"]) == 2
    assert "--layers" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_the_hubs_shard_layout(tmp_path: Path) -> None:
    """`--preset 20b` writes the Hub's layout: three shards of about equal size named model-0000i-of-00002 (as
    openai/gpt-oss-20b names them) and an index; here with a small config, the same code path."""
    folder = write_test_model(tmp_path / "m", TOY, with_tokenizer=False, shards=3)
    shards = sorted(p.name for p in folder.glob("*.safetensors"))
    assert shards == [f"model-0000{i}-of-00002.safetensors" for i in range(3)]
    sizes = [(folder / s).stat().st_size for s in shards]
    assert max(sizes) < 2.5 * min(sizes)
    index = json.loads((folder / INDEX_FILE).read_text())
    assert set(index["weight_map"].values()) == set(shards)
    checkpoint = Checkpoint.open(folder)
    for name in checkpoint.names:
        if name.endswith("_scales"):  # an MXFP4 projection's blocks and scales share a shard
            assert index["weight_map"][name] == index["weight_map"][name.replace("_scales", "_blocks")]


def test_cli_refuses_a_model_the_disk_cannot_hold(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(20 * 10**9, 19 * 10**9, 10**9))  # 1 GB free
    assert main(["make-test-model", str(tmp_path / "big"), "--preset", "20b"]) == 1
    err = capsys.readouterr().err
    assert "needs 13.8 GB but only 1.0 GB is free" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
