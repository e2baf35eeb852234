"""`python -m app.bench.distinct_layers`: a repeated-layer package's layers made byte-distinct.

The package comes from the real tools (repeat_layers, then the exporter, which copies a repeated layer's bytes);
its tensors are read back with onnx's own external-data loader, not the tool's offsets, and the rewritten
manifest is checked by the package reader with full hashes; ORT then loads and runs the result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from app.bench.distinct_layers import EDITS, NOTE, main
from app.bench.repeat_layers import main as repeat_main
from app.checkpoint.random_checkpoint import PRESETS, write_test_model
from app.export.context import ExportOptions
from app.export.exporter import export_model
from app.package.reader import read_package

DEPTH = 4


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cpu-int4 package of a tiny 2-layer checkpoint repeated to 4 layers (layers 0/2 and 1/3 equal)."""
    folder = tmp_path_factory.mktemp("distinct")
    source = write_test_model(folder / "two", PRESETS["tiny"].with_changes(num_hidden_layers=2))
    assert repeat_main([str(source), str(folder / "four"), "--layers", str(DEPTH)]) == 0
    export_model(folder / "four", folder / "pkg", "cpu-int4", options=ExportOptions(context_length=256))
    return folder / "pkg"


def _layer_tensors(package: Path) -> dict[str, np.ndarray]:
    """The layers' initializers kept in the external data file (small ones live inside the graph)."""
    external = {t.name for t in onnx.load(str(package / "model.onnx"), load_external_data=False).graph.initializer
                if t.external_data}
    model = onnx.load(str(package / "model.onnx"))  # onnx resolves the external data itself
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer
            if t.name.startswith("layers.") and t.name in external}


def _as_bytes(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def test_every_layer_differs_from_every_other_in_every_weight_and_only_slightly(exported: Path,
                                                                               tmp_path: Path) -> None:
    package = Path(shutil.copytree(exported, tmp_path / "pkg"))
    before = _layer_tensors(package)
    suffixes = sorted({name.split(".", 2)[2] for name in before})
    assert len(before) == DEPTH * len(suffixes) and len(suffixes) >= 10
    for suffix in suffixes:  # the export copied the repeated layers: the case the tool is for
        for i in range(DEPTH - 2):
            assert _as_bytes(before[f"layers.{i}.{suffix}"]).tobytes() == _as_bytes(
                before[f"layers.{i + 2}.{suffix}"]).tobytes(), suffix

    assert main([str(package)]) == 0
    after = _layer_tensors(package)
    for suffix in suffixes:
        layers = [_as_bytes(after[f"layers.{i}.{suffix}"]).tobytes() for i in range(DEPTH)]
        assert len(set(layers)) == DEPTH, suffix
        for i in range(DEPTH):
            old, new = _as_bytes(before[f"layers.{i}.{suffix}"]), _as_bytes(after[f"layers.{i}.{suffix}"])
            changed = np.flatnonzero(old != new)
            width = before[f"layers.{i}.{suffix}"].dtype.itemsize
            assert 0 < len(changed) <= EDITS, (suffix, i)
            assert np.all(changed % width == 0), (suffix, i)  # only each element's lowest byte
            assert np.all((old[changed] ^ new[changed]) == i + 1), (suffix, i)
    assert NOTE in json.loads((package / "manifest.json").read_text())["notes"]
    read_package(package, verify=True)  # sizes and SHA-256 of every file agree with the rewritten manifest


def test_the_result_still_loads_and_runs_in_onnx_runtime(exported: Path, tmp_path: Path) -> None:
    package = Path(shutil.copytree(exported, tmp_path / "pkg"))
    assert main([str(package)]) == 0
    session = ort.InferenceSession(str(package / "model.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()


def test_a_second_run_and_a_folder_without_a_manifest_are_refused(exported: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    package = Path(shutil.copytree(exported, tmp_path / "pkg"))
    assert main([str(package)]) == 0
    for expected in ("already made distinct", "no readable Enclave manifest"):
        with pytest.raises(SystemExit) as refused:
            main([str(package)])
        assert refused.value.code == 2 and expected in capsys.readouterr().err
        (package / "manifest.json").unlink(missing_ok=True)
