"""Measuring what a package load costs in private memory, in a child process (this one's heap already holds other
tests' sessions), and which of a graph's bytes ORT's CPU kernels prepack (read from the graph, not the engine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnx

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
model = load_model(sys.argv[1], prepack=sys.argv[2] == "1", use_copy=sys.argv[3] == "1", threads=1)
print(json.dumps({"private": anon() - before, "copy": model.info.prepacked_copy}))
"""


def private_after_load(package: Path, prepack: bool, *, use_copy: bool = False) -> tuple[int, str]:
    """(private bytes a fresh process gains by loading `package`, the prepacked copy it mapped or "")."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", _PROBE, str(package), "1" if prepack else "0",
                          "1" if use_copy else "0"], env=env, capture_output=True, text=True, timeout=300,
                         check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return int(result["private"]), str(result["copy"])


def prepackable_bytes(package: Path) -> int:
    """Bytes of the initializers that ORT's CPU kernels prepack, read from the graph (not from the engine)."""
    graph = onnx.load(str(package / "model.onnx"), load_external_data=False).graph
    sizes = {}
    for tensor in graph.initializer:
        info = {e.key: e.value for e in tensor.external_data}
        sizes[tensor.name] = int(info["length"]) if "length" in info else len(tensor.raw_data)
    return sum(sizes.get(node.input[i], 0) for node in graph.node for i in PREPACKING.get(node.op_type, ())
               if i < len(node.input))
