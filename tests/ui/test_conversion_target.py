"""The conversion dialog's target and its reason follow the measured footprints (app.package.footprint)."""

from __future__ import annotations

import json
import shutil
from collections import namedtuple
from pathlib import Path

import psutil
import pytest

from app.ui.backend import suggest_export

Memory = namedtuple("Memory", "total available")
CHECKPOINT_BYTES = 13_761_320_144  # the 24-layer checkpoint measured in docs/benchmarks.md


@pytest.fixture()
def checkpoint_20b(tmp_path: Path, tiny_checkpoint: Path) -> Path:
    """A folder with gpt-oss-20b's shape in config.json and a sparse shard of the real size (no disk used)."""
    folder = tmp_path / "gpt-oss-20b"
    folder.mkdir()
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    config.update(num_hidden_layers=24, num_local_experts=32,
                  layer_types=["sliding_attention", "full_attention"] * 12)
    (folder / "config.json").write_text(json.dumps(config))
    with open(folder / "model-00000-of-00001.safetensors", "wb") as shard:
        shard.truncate(CHECKPOINT_BYTES)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


COPY = "runs at full speed from a memory-mapped copy"


@pytest.mark.parametrize("ram_gb, target, words", [
    (16, "cpu-int4", "the lossless CPU package needs about 35 GB of memory and this computer has 16 GB, so the "
                     "smaller one (about 17 GB); with 16 GB it runs at full speed from a memory-mapped copy (about "
                     "16 GB of memory), which Enclave offers to prepare when the model loads and which takes another "
                     "25 GB of disk"),
    (64, "cpu", "this computer's 64 GB of memory holds the lossless CPU package (a chat with it needs about 35 GB)"),
])
def test_cpu_target_and_reason_come_from_the_measured_need(checkpoint_20b: Path, monkeypatch, ram_gb: int,
                                                           target: str, words: str) -> None:
    """models/catalog.json's gpt-oss-20b figures: lossless cpu 35 GB; cpu-int4 17 GB, 16 GB from its copy."""
    chosen, folder, reason = _suggest(checkpoint_20b, monkeypatch, ram_gb * 10**9)
    assert chosen == target and words in reason
    assert folder.name.endswith(target)


@pytest.mark.parametrize("ram_gb", [12, 18])
def test_the_copy_is_named_only_where_it_makes_the_difference(checkpoint_20b: Path, monkeypatch,
                                                              ram_gb: int) -> None:
    """12 GB holds neither the package (17 GB) nor its copy (16 GB); 18 GB holds the package itself."""
    chosen, _folder, reason = _suggest(checkpoint_20b, monkeypatch, ram_gb * 10**9)
    assert chosen == "cpu-int4" and "so the smaller one (about 17 GB)" in reason and COPY not in reason


def _suggest(checkpoint: Path, monkeypatch, ram: int) -> tuple[str, Path, str]:
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(psutil, "virtual_memory", lambda: Memory(ram, ram))
    return suggest_export(checkpoint)
