"""`python -m app.bench.repeat_layers`: the real-size benchmark's deeper checkpoint made by repeating layers.

Checked with readers the tool does not use (the `safetensors` package through torch, plain JSON) and against
the layout `make-test-model`'s Hub writer produces for the same depth; then the project's checkpoint reader
opens it and the exporter turns it into a package ORT loads."""

from __future__ import annotations

import json
from pathlib import Path

import onnxruntime as ort
import pytest

from app.bench.repeat_layers import main
from app.checkpoint.random_checkpoint import PRESETS, write_test_model
from app.checkpoint.weights import INDEX_FILE, Checkpoint
from app.export.context import ExportOptions
from app.export.exporter import export_model

TWO_LAYERS = PRESETS["tiny"].with_changes(num_hidden_layers=2)
DEPTH = 5


@pytest.fixture(scope="module")
def repeated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(source, result): a 2-layer tiny checkpoint and its layers repeated to 5 by the command."""
    folder = tmp_path_factory.mktemp("repeat")
    source = write_test_model(folder / "two", TWO_LAYERS)
    assert main([str(source), str(folder / "five"), "--layers", str(DEPTH)]) == 0
    return source, folder / "five"


def test_every_layer_is_a_byte_copy_of_the_source_layer(repeated: tuple[Path, Path]) -> None:
    import torch
    from safetensors.torch import load_file

    source, result = repeated

    def tensors(folder: Path) -> dict:
        loaded: dict = {}
        for shard in sorted(folder.glob("*.safetensors")):
            loaded.update(load_file(shard))
        return loaded

    before, after = tensors(source), tensors(result)
    assert len(after) == len(before) + (DEPTH - 2) * 19  # 19 tensors per MXFP4 layer
    for name, tensor in after.items():
        parts = name.split(".")
        if parts[:2] == ["model", "layers"]:
            parts[2] = "0" if int(parts[2]) % 2 == 0 else "1"  # even layers from layer 0, odd from layer 1
        original = before[".".join(parts)]
        assert tensor.dtype == original.dtype and tensor.shape == original.shape, name
        assert tensor.view(-1).view(torch.uint8).equal(original.view(-1).view(torch.uint8)), name
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        assert (result / name).read_bytes() == (source / name).read_bytes()


def test_config_says_the_new_depth_and_nothing_else_changed(repeated: tuple[Path, Path]) -> None:
    source, result = repeated
    old = json.loads((source / "config.json").read_text())
    new = json.loads((result / "config.json").read_text())
    assert new["num_hidden_layers"] == DEPTH
    assert new["layer_types"] == ["sliding_attention", "full_attention", "sliding_attention", "full_attention",
                                  "sliding_attention"]
    assert {k: v for k, v in new.items() if k not in ("num_hidden_layers", "layer_types")} == \
        {k: v for k, v in old.items() if k not in ("num_hidden_layers", "layer_types")}
    config = Checkpoint.open(result).config
    assert config.num_hidden_layers == DEPTH and [config.is_sliding(i) for i in range(DEPTH)] == \
        [True, False, True, False, True]


def test_shards_are_cut_as_the_hub_writer_cuts_them(repeated: tuple[Path, Path], tmp_path: Path) -> None:
    """The same file names (numbered from 0, as the Hub's three) and the same tensor -> file map as
    make-test-model's Hub layout (the `20b` preset's) writes for a checkpoint of this depth."""
    _, result = repeated
    written = write_test_model(tmp_path / "direct", TWO_LAYERS.with_changes(num_hidden_layers=DEPTH), shards=3)
    ours = json.loads((result / INDEX_FILE).read_text())
    theirs = json.loads((written / INDEX_FILE).read_text())
    files = sorted(set(ours["weight_map"].values()))
    assert len(files) >= 2  # the tiny embedding and head outweigh its layers: fewer than 3 equal shards
    assert files == [f"model-{i:05d}-of-{len(files) - 1:05d}.safetensors" for i in range(len(files))]
    assert list(ours["weight_map"].items()) == list(theirs["weight_map"].items())
    assert ours["metadata"]["total_size"] == theirs["metadata"]["total_size"]
    assert sorted(p.name for p in result.iterdir()) == sorted(p.name for p in written.iterdir())


def test_repeated_checkpoint_exports_to_a_package_ort_loads(repeated: tuple[Path, Path], tmp_path: Path) -> None:
    _, result = repeated
    package = tmp_path / "package"
    export_model(result, package, "cpu-int4", options=ExportOptions(context_length=256))
    session = ort.InferenceSession(str(package / "model.onnx"), providers=["CPUExecutionProvider"])
    assert sum(1 for i in session.get_inputs() if i.name.startswith("past_key_values.")) == 2 * DEPTH


def test_refuses_an_existing_folder_and_a_bad_depth(repeated: tuple[Path, Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    source, result = repeated
    assert main([str(source), str(result), "--layers", "4"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([str(source), str(tmp_path / "zero"), "--layers", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
    assert not (tmp_path / "zero").exists()
