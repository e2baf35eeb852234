"""What a loaded session costs in private memory, on the tiny model with real ORT sessions (no timing asserts).

ORT prepacks the weights of its CPU matrix kernels into private copies at load (app.engine.session.session_options)
and the rest of the package stays memory-mapped; app.package.footprint budgets that as Footprint.private. These
tests check that the options the engine asks for are the ones the session runs with, and that the private memory
prepacking adds is the prepackable weights' size, within the target's footprint (a second copy of the weights, or
prepacking that silently stopped, would fail them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.session import load_model
from app.package.footprint import private_bytes
from tests.support.session_memory import prepackable_bytes, private_after_load


@pytest.mark.parametrize("prepack", [True, False])
def test_the_session_runs_with_the_options_the_engine_chose(tiny_cpu_package: Path, prepack: bool) -> None:
    options = load_model(tiny_cpu_package, prepack=prepack).session.get_session_options()
    assert options.get_session_config_entry("session.disable_prepacking") == ("0" if prepack else "1")
    assert options.get_session_config_entry("session.set_denormal_as_zero") == "1"
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RssAnon from /proc (Linux)")
def test_prepacking_copies_the_matrix_weights_once_within_the_footprint(tiny_cpu_package: Path) -> None:
    """The tiny cpu package's float32 lm_head Gemm (103 MB of its 163 MB) is copied once when prepacking is on;
    without prepacking nothing is copied; either way the private memory stays within Footprint.private."""
    size = sum(p.stat().st_size for p in (tiny_cpu_package / "model.onnx", tiny_cpu_package / "model.onnx.data"))
    copied = prepackable_bytes(tiny_cpu_package)
    assert copied > 0.5 * size  # the lm_head dominates the tiny package: the difference below is no noise
    (on, _), (off, _) = private_after_load(tiny_cpu_package, True), private_after_load(tiny_cpu_package, False)
    assert 0.9 * copied <= on - off <= 1.1 * copied
    assert on - off <= private_bytes("cpu", size)
