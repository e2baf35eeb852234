"""The catalog's memory advice and the conversion's target follow the measured footprints (app.package.footprint)."""

from __future__ import annotations

import pytest

from app.model_catalog import load_catalog
from app.model_folder import recommend_target
from app.package.footprint import memory_needed, memory_needed_gb, package_bytes, private_bytes
from app.package.targets import TARGETS


@pytest.mark.parametrize("model", load_catalog(), ids=lambda m: m.id)
@pytest.mark.parametrize("target", ["cpu", "cpu-int4"])
def test_catalog_cpu_advice_is_the_measured_footprint(model, target: str) -> None:
    advice = model.target_advice(target)
    checkpoint = model.checkpoint_bytes
    assert advice.package_gb_estimate == pytest.approx(package_bytes(target, checkpoint) / 1e9, abs=0.15)
    assert advice.min_memory_gb == memory_needed_gb(target, checkpoint)
    assert f"{advice.min_memory_gb:.0f} GB" in advice.suits


def test_20b_cpu_int4_needs_more_than_a_16_gb_laptop_while_orts_prepacked_copies_are_private() -> None:
    """ORT 1.32 prepacks cpu-int4's int4/int8 weights into private copies: 13.67 GB after a 512-token prompt on the
    12.70 GB package, measured at 24 distinct layers (docs/benchmarks.md, "24 distinct layers"); with an 8k-token
    chat and the system's share that exceeds a 16 GB laptop, though the package itself is 12.7 GB."""
    checkpoint = next(m for m in load_catalog() if m.id == "gpt-oss-20b").checkpoint_bytes
    int4, cpu = package_bytes("cpu-int4", checkpoint), package_bytes("cpu", checkpoint)
    assert int4 <= 13e9 < cpu
    assert 13.5e9 < private_bytes("cpu-int4", int4) < 13.8e9
    assert 16e9 < memory_needed("cpu-int4", checkpoint) < memory_needed("cpu", checkpoint)
    assert TARGETS["cpu-int4"].footprint.measured and not TARGETS["cpu"].footprint.measured


def test_the_lossless_cpu_target_is_chosen_exactly_when_its_measured_need_fits() -> None:
    checkpoint = 13_761_000_000
    need = memory_needed("cpu", checkpoint)
    assert recommend_target(["CPUExecutionProvider"], need, checkpoint) == "cpu"
    assert recommend_target(["CPUExecutionProvider"], need - 1, checkpoint) == "cpu-int4"
    assert recommend_target(["CPUExecutionProvider"], 16 * 2**30, checkpoint) == "cpu-int4"
