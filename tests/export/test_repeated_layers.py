"""A layer whose expert inputs equal an earlier layer's is copied, not quantised again: the package must be the
same byte for byte as when every layer is quantised (ExportOptions.reuse_repeated_experts=False), and the copy
must really happen (the quantiser runs once per distinct layer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.bench.repeat_layers import repeat_layers
from app.checkpoint.random_checkpoint import PRESETS, write_test_model
from app.export import experts
from app.export.context import ExportOptions
from app.export.exporter import export_model

# manifest.json records the export time; every other file must match exactly.
SAME_BYTES = ("model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json")


@pytest.fixture(scope="module")
def five_layers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Layers 0, 2, 4 identical (sliding), 1 and 3 identical (full): two distinct layers of five."""
    folder = tmp_path_factory.mktemp("repeated")
    two = write_test_model(folder / "two", PRESETS["tiny"].with_changes(num_hidden_layers=2))
    return repeat_layers(two, folder / "five", 5)


@pytest.mark.parametrize("target", ["cpu-int4", "cpu", "cuda"])  # int4, int8 and MXFP4 experts (cuda: bytes only)
def test_reused_experts_give_the_same_package(five_layers: Path, tmp_path: Path, target: str) -> None:
    packages = {}
    for reuse in (True, False):
        packages[reuse] = tmp_path / f"reuse-{reuse}"
        export_model(five_layers, packages[reuse], target,
                     options=ExportOptions(context_length=256, reuse_repeated_experts=reuse))
    for name in SAME_BYTES:
        assert (packages[True] / name).read_bytes() == (packages[False] / name).read_bytes(), name


def test_each_distinct_layer_is_quantised_once(five_layers: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = experts.int4_weight_chunks

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - passes through to the real quantiser
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(experts, "int4_weight_chunks", counted)
    export_model(five_layers, tmp_path / "reused", "cpu-int4", options=ExportOptions(context_length=256))
    assert len(calls) == 2 * 2  # two distinct layers x (gate_up, down)
    calls.clear()
    export_model(five_layers, tmp_path / "plain", "cpu-int4",
                 options=ExportOptions(context_length=256, reuse_repeated_experts=False))
    assert len(calls) == 5 * 2
