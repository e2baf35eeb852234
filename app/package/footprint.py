"""What a package of each target costs on disk and in RAM, from the target records' footprints
(app.package.targets.Footprint), relative to the MXFP4 checkpoint it comes from.

Measured at gpt-oss-20b's real size on this project's 24-layer test checkpoint (docs/benchmarks.md, "Real size");
gpt-oss-120b has the same tensors per layer at the same widths, so the same ratios hold for it (an extrapolation,
not a measurement). The records serve every place that needs these numbers: the target a conversion suggests
(app.model_folder.recommend_target), the disk space a conversion asks for (app.library.library), and the
catalog's memory advice (models/catalog.json, checked against them by tests/test_footprint.py).
"""

from __future__ import annotations

import math

from app.package.targets import TARGETS

GB = 1e9

# What the operating system, the window and the document index need besides the model (a 16 GB laptop shows
# about 15.5 GB to programs and keeps ~1.5 GB for itself and the desktop).
RESERVE_BYTES = int(2.0 * GB)


def package_bytes(target: str, checkpoint_bytes: int) -> int:
    """The size of `target`'s package of a checkpoint of `checkpoint_bytes`."""
    return int(TARGETS[target].footprint.package * checkpoint_bytes)


def private_bytes(target: str, package_size: int) -> int:
    """Memory a loaded package of `package_size` bytes holds that the system cannot page out to its file."""
    return int(TARGETS[target].footprint.private * package_size)


def memory_needed(target: str, checkpoint_bytes: int) -> int:
    """RAM for full speed on the CPU targets: the whole package resident plus the private memory, with the
    operating system's share (and gpt-oss-20b's 0.8 GB float32 KV cache at 8k tokens) on top."""
    size = package_bytes(target, checkpoint_bytes)
    if TARGETS[target].footprint.private >= 1.0:
        return size + RESERVE_BYTES
    return size + private_bytes(target, size) + RESERVE_BYTES


def memory_needed_gb(target: str, checkpoint_bytes: int) -> int:
    """memory_needed in whole GB, rounded up: what the catalog states."""
    return math.ceil(memory_needed(target, checkpoint_bytes) / GB)
