"""What a loaded session costs in private memory, on the tiny model with real ORT sessions (no timing asserts).

ORT prepacks the weights of its CPU matrix kernels into private copies at load (app.engine.session.session_options)
and the rest of the package stays memory-mapped; app.package.footprint budgets that as Footprint.private. These
tests check that the options the engine asks for are the ones the session runs with, and that the private memory
prepacking adds is the prepackable weights' size, within the target's footprint (a second copy of the weights, or
prepacking that silently stopped, would fail them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from app.engine.session import load_model
from app.package.footprint import private_bytes

# CPU kernels that prepack a constant weight input (measured per operator: docs/benchmarks.md, "Where the memory
# goes"); their other inputs (activations, biases) are not copied.
PREPACKING = {"Gemm": (1,), "MatMul": (1,), "MatMulNBits": (1,), "QMoE": (2, 5)}

_PROBE = """
import json, sys
from app.engine.session import load_model
def anon():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("RssAnon:"))
before = anon()
model = load_model(sys.argv[1], prepack=sys.argv[2] == "1", threads=1)
print(json.dumps({"private": anon() - before}))
"""


def _private_after_load(package: Path, prepack: bool) -> int:
    """Private (anonymous) memory a fresh process gains by loading `package` (a child process: this one's heap
    already holds other tests' sessions)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", _PROBE, str(package), "1" if prepack else "0"], env=env,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    return int(json.loads(out.strip().splitlines()[-1])["private"])


def _prepackable_bytes(package: Path) -> int:
    """Bytes of the initializers that ORT's CPU kernels prepack, read from the graph (not from the engine)."""
    graph = onnx.load(str(package / "model.onnx"), load_external_data=False).graph
    sizes = {}
    for tensor in graph.initializer:
        info = {e.key: e.value for e in tensor.external_data}
        sizes[tensor.name] = int(info["length"]) if "length" in info else len(tensor.raw_data)
    return sum(sizes.get(node.input[i], 0) for node in graph.node for i in PREPACKING.get(node.op_type, ())
               if i < len(node.input))


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
    copied = _prepackable_bytes(tiny_cpu_package)
    assert copied > 0.5 * size  # the lm_head dominates the tiny package: the difference below is no noise
    on, off = _private_after_load(tiny_cpu_package, True), _private_after_load(tiny_cpu_package, False)
    assert 0.9 * copied <= on - off <= 1.1 * copied
    assert on - off <= private_bytes("cpu", size)
