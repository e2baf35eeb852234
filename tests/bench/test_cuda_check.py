"""The prepared GPU check runs end to end here in its --dry-run form (tiny model, CPU provider)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_cuda_check_dry_run_reports_parity_speed_and_cleans_up(tmp_path: Path) -> None:
    work = tmp_path / "work"
    done = subprocess.run([sys.executable, "-m", "app.bench.cuda_check", "--work", str(work), "--dry-run"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["dry_run"] is True and "CPUExecutionProvider" in result["environment"]["providers"]
    parity = result["parity"]
    assert parity["positions"] == 33 and 0 < parity["median_rms_sigma"] <= parity["worst_rms_sigma"]
    assert 0 < parity["top1"] <= 1  # cpu-int4 against cpu: close but not identical
    assert result["verify"]["passed"] is True, result["verify"]  # the cpu-int4 stand-in verifies on the CPU
    assert set(result["speeds"]) == {"32", "64"}
    assert all(s["decode_tok_s"] > 0 for s in result["speeds"].values())
    assert not work.exists()


def test_cuda_check_refuses_a_used_folder(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    done = subprocess.run([sys.executable, "-m", "app.bench.cuda_check", "--work", str(tmp_path), "--dry-run"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "is not empty; give a new folder" in done.stderr
    assert (tmp_path / "something").exists()
