"""Exporting holds about one layer at a time: peak memory does not grow with the number of layers.

Two checkpoints with wide experts (hidden 1024, 32 experts: ~100 MB of int8 experts per layer in the `cpu`
package) differ only in their layer count, 1 vs 4. Each is exported in a fresh process and its peak RSS read
from the kernel. An exporter that kept converted layers (or the whole checkpoint) in memory would add three
layers' worth; a streaming one adds nothing measurable (measured: the same peak, 162-237 MB depending on the
process, for both; one layer is 117 MB of the package).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.checkpoint.random_checkpoint import PRESETS, write_test_model

WIDE = PRESETS["tiny"].with_changes(vocab_size=512, hidden_size=1024, intermediate_size=1024, num_local_experts=32)
REPO = Path(__file__).resolve().parents[2]

_EXPORT_AND_REPORT_PEAK = """
import resource, sys
from app.export.context import ExportOptions
from app.export.exporter import export_model
export_model(sys.argv[1], sys.argv[2], sys.argv[3], options=ExportOptions(context_length=256))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak * (1 if sys.platform == "darwin" else 1024))  # bytes on macOS, KiB on Linux
"""


def _export_peak(checkpoint: Path, out: Path, target: str) -> int:
    result = subprocess.run([sys.executable, "-c", _EXPORT_AND_REPORT_PEAK, str(checkpoint), str(out), target],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform == "win32", reason="peak RSS comes from the resource module (POSIX)")
def test_peak_memory_does_not_grow_with_layers(tiny_checkpoint: Path, tmp_path: Path) -> None:
    peaks, sizes = {}, {}
    for layers in (1, 4):
        checkpoint = write_test_model(tmp_path / f"ckpt-{layers}", WIDE.with_changes(num_hidden_layers=layers),
                                      with_tokenizer=False)
        shutil.copyfile(tiny_checkpoint / "tokenizer.json", checkpoint / "tokenizer.json")
        package = tmp_path / f"pkg-{layers}"
        peaks[layers] = _export_peak(checkpoint, package, "cpu")
        sizes[layers] = (package / "model.onnx.data").stat().st_size
        shutil.rmtree(checkpoint)
    per_layer = (sizes[4] - sizes[1]) / 3
    assert per_layer > 90e6, "the test model must have layers big enough to see in RSS"
    grown = peaks[4] - peaks[1]
    print(f"export peak RSS: 1 layer {peaks[1] / 1e6:.0f} MB, 4 layers {peaks[4] / 1e6:.0f} MB; "
          f"one layer in the package {per_layer / 1e6:.0f} MB")
    assert grown < 0.5 * per_layer, f"peak grew by {grown / 1e6:.0f} MB for three more layers"
