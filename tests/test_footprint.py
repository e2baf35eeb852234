"""The catalog's memory advice and the conversion's target follow the measured footprints (app.package.footprint)."""

from __future__ import annotations

import pytest

from app.model_catalog import load_catalog
from app.model_folder import recommend_target
from app.package.footprint import (
    RESERVE_BYTES,
    chat_kv_bytes,
    copy_bytes,
    mapped_bytes,
    memory_needed,
    memory_needed_gb,
    package_bytes,
    private_bytes,
)
from app.package.targets import TARGETS

CPU_TARGETS = ["cpu", "cpu-int4"]


def _model(model_id: str):
    return next(m for m in load_catalog() if m.id == model_id)


@pytest.mark.parametrize("model", load_catalog(), ids=lambda m: m.id)
@pytest.mark.parametrize("target", CPU_TARGETS)
def test_catalog_cpu_advice_is_the_measured_footprint(model, target: str) -> None:
    advice = model.target_advice(target)
    checkpoint = model.checkpoint_bytes
    package = package_bytes(target, checkpoint)
    assert advice.package_gb_estimate == pytest.approx(package / 1e9, abs=0.15)
    assert advice.min_memory_gb == memory_needed_gb(target, checkpoint, model.layers)
    assert f"{advice.min_memory_gb:.0f} GB" in advice.suits
    # with the package's memory-mapped prepacked copy: its RAM, and the disk it takes besides the package
    assert advice.min_memory_gb_prepacked == memory_needed_gb(target, checkpoint, model.layers, prepacked=True)
    assert advice.prepacked_copy_gb_estimate == pytest.approx(copy_bytes(target, package) / 1e9, abs=0.15)
    if advice.min_memory_gb_prepacked < advice.min_memory_gb:
        assert f"{advice.min_memory_gb_prepacked:.0f} GB with a memory-mapped copy" in advice.suits


def test_the_chat_kv_cache_at_8k_tokens_is_worked_out_by_hand() -> None:
    """Worked out by hand: a position of one layer is K and V of 8 heads of 64 float32 values, 2 * 8 * 64 * 4 =
    4,096 bytes. gpt-oss's even layers keep a 128-token window in buffers of 128 + 128 slack positions, the odd
    ones every position; 14 window snapshots (6 prompt boundaries, 8 periodic) of 129 rows of each window layer."""
    position = 2 * 8 * 64 * 4
    twenty = 12 * 8192 * position + 12 * 256 * position + 14 * 12 * 129 * position
    assert twenty == 504_004_608  # 0.403 GB full layers + 0.013 window buffers + 0.089 snapshots
    hundred_twenty = 18 * 8192 * position + 18 * 256 * position + 14 * 18 * 129 * position
    for target in CPU_TARGETS:
        assert chat_kv_bytes(target, 24) == twenty
        assert chat_kv_bytes(target, 36) == hundred_twenty == 756_006_912


def test_20b_cpu_int4_needs_more_than_a_16_gb_laptop_while_orts_prepacked_copies_are_private() -> None:
    """ORT 1.32 prepacks cpu-int4's int4/int8 weights into private copies: 13.67 GB after a 512-token prompt on the
    12.70 GB package, measured at 24 distinct layers (docs/benchmarks.md, "24 distinct layers"); with an 8k-token
    chat and the system's share that exceeds a 16 GB laptop, though the package itself is 12.7 GB."""
    checkpoint = _model("gpt-oss-20b").checkpoint_bytes
    int4, cpu = package_bytes("cpu-int4", checkpoint), package_bytes("cpu", checkpoint)
    assert int4 <= 13e9 < cpu
    assert 13.5e9 < private_bytes("cpu-int4", int4) < 13.8e9
    assert 16e9 < memory_needed("cpu-int4", checkpoint, 24) < memory_needed("cpu", checkpoint, 24)
    assert TARGETS["cpu-int4"].footprint.measured and not TARGETS["cpu"].footprint.measured


def test_a_16_gb_laptop_runs_20b_cpu_int4_from_its_copy_as_the_14_gb_cgroup_did() -> None:
    """docs/benchmarks.md, "A 16 GB laptop, emulated": in a 14.0 GB memory cgroup (16 GB less RESERVE_BYTES; page
    cache charged, no swap) the 12.70 GB package's memory-mapped copy ran a 512-token chat at full speed, 0.93 GB
    private at peak, while the package itself was OOM-killed; its file is 24.81 GB, 12.12 GB of it prepacked
    blobs beside the 12.69 GB of originals. So 20b cpu-int4 fits a 16 GB laptop with the copy and not without."""
    checkpoint = _model("gpt-oss-20b").checkpoint_bytes
    cgroup = 14.0e9
    assert RESERVE_BYTES == 16e9 - cgroup
    assert memory_needed("cpu-int4", checkpoint, 24, prepacked=True) <= 16e9 < memory_needed("cpu-int4", checkpoint, 24)
    package = 12_698_299_632  # the measured package: the copy's 512-token chat (its KV cache 0.03 GB) held in 14 GB
    assert private_bytes("cpu-int4", package, prepacked=True) <= 0.93e9  # the measured private peak
    assert 0.93e9 + mapped_bytes("cpu-int4", package, prepacked=True) <= cgroup
    assert copy_bytes("cpu-int4", 12.69e9) == pytest.approx(24.81e9, rel=0.002)  # besides the package itself


def test_the_copy_is_only_for_the_cpu_targets() -> None:
    with pytest.raises(ValueError, match="no prepacked copies"):
        memory_needed("cuda", 13_761_000_000, 24, prepacked=True)


def test_the_lossless_cpu_target_is_chosen_exactly_when_its_measured_need_fits() -> None:
    checkpoint = 13_761_000_000
    need = memory_needed("cpu", checkpoint, 24)
    assert recommend_target(["CPUExecutionProvider"], need, checkpoint, 24) == "cpu"
    assert recommend_target(["CPUExecutionProvider"], need - 1, checkpoint, 24) == "cpu-int4"
    assert recommend_target(["CPUExecutionProvider"], 16 * 2**30, checkpoint, 24) == "cpu-int4"
    # a checkpoint whose layers are not known counts the deepest catalog model's KV cache (36 layers): more
    assert recommend_target(["CPUExecutionProvider"], need, checkpoint) == "cpu-int4"
    assert recommend_target(["CPUExecutionProvider"], memory_needed("cpu", checkpoint, 36), checkpoint) == "cpu"
