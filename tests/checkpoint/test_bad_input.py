"""Broken checkpoint folders: each fails `Checkpoint.open` with one sentence naming the file (and tensor).

Every case starts from a copy of the real tiny checkpoint and breaks one thing. Untouched files are symlinked
into the copy (the two vocabulary shards are 51 MB each); the file a test damages is a real copy.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from app.checkpoint.weights import INDEX_FILE, Checkpoint, CheckpointError
from tests.support.test_models import rewrite_safetensors_header


def _layer_shard(folder: Path, layer: int = 1) -> str:
    weight_map = json.loads((folder / INDEX_FILE).read_text())["weight_map"]
    return weight_map[f"model.layers.{layer}.self_attn.q_proj.weight"]


@pytest.fixture
def broken(tiny_checkpoint: Path, tmp_path: Path) -> Callable[[str], Path]:
    """A linked copy of the tiny checkpoint; broken(name) turns `name` into a private, writable copy first."""
    folder = tmp_path / "model"
    folder.mkdir()
    for item in tiny_checkpoint.iterdir():
        os.symlink(item, folder / item.name)

    def own(name: str) -> Path:
        target = folder / name
        target.unlink()
        shutil.copyfile(tiny_checkpoint / name, target)
        return target

    own.folder = folder  # type: ignore[attr-defined]
    return own


def _open_error(folder: Path) -> str:
    with pytest.raises(CheckpointError) as info:
        Checkpoint.open(folder)
    message = str(info.value)
    assert "\n" not in message and message.count(". ") == 0, f"not one sentence: {message}"
    return message


def test_the_untouched_copy_opens(broken) -> None:
    Checkpoint.open(broken.folder)


def test_missing_folder(tmp_path: Path) -> None:
    message = _open_error(tmp_path / "nowhere")
    assert "nowhere" in message and "not a folder" in message


def test_no_config_json(broken) -> None:
    (broken.folder / "config.json").unlink()
    message = _open_error(broken.folder)
    assert "config.json" in message and "not a Hugging Face model folder" in message


def test_other_model_type(broken) -> None:
    path = broken("config.json")
    config = json.loads(path.read_text())
    config["model_type"] = "llama"
    path.write_text(json.dumps(config))
    message = _open_error(broken.folder)
    assert str(path) in message and "'llama'" in message and "gpt_oss" in message


def test_unreadable_config(broken) -> None:
    broken("config.json").write_text("{ not json")
    assert "config.json cannot be read" in _open_error(broken.folder)


def test_no_weights_at_all(broken) -> None:
    (broken.folder / INDEX_FILE).unlink()
    message = _open_error(broken.folder)
    assert INDEX_FILE in message and "model.safetensors" in message


def test_missing_shard(broken) -> None:
    shard = _layer_shard(broken.folder)
    (broken.folder / shard).unlink()
    message = _open_error(broken.folder)
    assert shard in message and "missing" in message


def test_truncated_shard(broken) -> None:
    shard = _layer_shard(broken.folder)
    path = broken(shard)
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(size - 1000)
    message = _open_error(broken.folder)
    assert shard in message and "truncated" in message and str(size) in message


def test_shard_cut_inside_its_header(broken) -> None:
    shard = _layer_shard(broken.folder)
    path = broken(shard)
    with open(path, "r+b") as handle:
        handle.truncate(100)
    message = _open_error(broken.folder)
    assert shard in message and "truncated" in message


def test_corrupt_header(broken) -> None:
    shard = _layer_shard(broken.folder)
    path = broken(shard)
    with open(path, "r+b") as handle:
        handle.seek(8)
        handle.write(b"\xff\x00garbage")
    message = _open_error(broken.folder)
    assert shard in message and "header" in message and "corrupt" in message


def test_header_length_out_of_range(broken) -> None:
    shard = _layer_shard(broken.folder)
    path = broken(shard)
    with open(path, "r+b") as handle:
        handle.write(struct.pack("<Q", 2**40))
    message = _open_error(broken.folder)
    assert shard in message and "header claims" in message


@pytest.mark.parametrize(
    ("name", "field", "value", "expected"),
    [
        # Same bytes, wrong layout.
        ("model.layers.1.self_attn.q_proj.weight", "shape", [128, 256], "shape [128, 256], expected [256, 128]"),
        # Same size as bf16, different meaning.
        ("model.layers.1.self_attn.sinks", "dtype", "I16", "dtype I16, expected BF16 or F16 or F32"),
        # A shape that its byte range cannot hold.
        ("model.layers.1.mlp.router.bias", "shape", [9], "needs 18 bytes but its offsets span 16"),
    ],
    ids=["wrong shape", "wrong dtype", "offsets do not fit the shape"],
)
def test_bad_header_entry(broken, name: str, field: str, value: object, expected: str) -> None:
    shard = _layer_shard(broken.folder)

    def edit(header: dict) -> None:
        header[name][field] = value

    rewrite_safetensors_header(broken(shard), edit)
    message = _open_error(broken.folder)
    assert shard in message and name in message and expected in message


def test_tensor_missing_from_the_index(broken) -> None:
    path = broken(INDEX_FILE)
    index = json.loads(path.read_text())
    del index["weight_map"]["model.layers.2.mlp.experts.down_proj_scales"]
    path.write_text(json.dumps(index))
    message = _open_error(broken.folder)
    assert "model.layers.2.mlp.experts.down_proj_scales" in message and "missing" in message


def test_index_names_a_tensor_the_shard_lacks(broken) -> None:
    path = broken(INDEX_FILE)
    index = json.loads(path.read_text())
    shard_of_layer0 = _layer_shard(broken.folder, 0)
    index["weight_map"]["model.layers.2.self_attn.sinks"] = shard_of_layer0
    path.write_text(json.dumps(index))
    message = _open_error(broken.folder)
    assert shard_of_layer0 in message and "model.layers.2.self_attn.sinks" in message


def test_index_may_not_point_outside_the_folder(broken) -> None:
    path = broken(INDEX_FILE)
    index = json.loads(path.read_text())
    index["weight_map"]["model.norm.weight"] = "../elsewhere.safetensors"
    path.write_text(json.dumps(index))
    message = _open_error(broken.folder)
    assert INDEX_FILE in message and "outside" in message


def test_config_with_more_layers_than_the_weights(broken) -> None:
    path = broken("config.json")
    config = json.loads(path.read_text())
    config["num_hidden_layers"] = 4
    config["layer_types"] = config["layer_types"] + ["full_attention"]
    path.write_text(json.dumps(config))
    message = _open_error(broken.folder)
    assert "model.layers.3." in message and "missing" in message


def test_a_tensor_the_model_does_not_have_is_refused(broken) -> None:
    """An adapter's tensor (or any other) beside gpt-oss's own would be dropped without a word by an exporter that
    reads only the tensors it expects; it is refused, naming the shard and the tensor. The entry shares the sinks'
    bytes, so the file stays a valid safetensors file."""
    shard = _layer_shard(broken.folder)
    extra = "model.layers.1.self_attn.q_proj.lora_A.weight"

    def edit(header: dict) -> None:
        header[extra] = dict(header["model.layers.1.self_attn.sinks"])

    rewrite_safetensors_header(broken(shard), edit)
    index = broken(INDEX_FILE)
    data = json.loads(index.read_text())
    data["weight_map"][extra] = shard
    index.write_text(json.dumps(data))
    message = _open_error(broken.folder)
    assert shard in message and extra in message and "is not part of the gpt-oss model" in message


def test_config_with_fewer_layers_than_the_weights(broken) -> None:
    """A config.json that describes 2 layers over 3 layers of weights would export a model missing one."""
    path = broken("config.json")
    config = json.loads(path.read_text())
    config["num_hidden_layers"] = 2
    config["layer_types"] = config["layer_types"][:2]
    path.write_text(json.dumps(config))
    message = _open_error(broken.folder)
    assert "model.layers.2." in message and "more)" in message and "is not part of the gpt-oss model" in message
