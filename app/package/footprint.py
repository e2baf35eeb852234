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
# gpt-oss-20b's float32 KV cache at 8,192 tokens (24 layers x 2 x 8 heads x 64 x 4 bytes per token), what a long
# chat touches; gpt-oss-120b's 36 layers hold 1.21 GB (its advice is extrapolated anyway).
CHAT_KV_BYTES = 24 * 2 * 8 * 64 * 4 * 8192


def package_bytes(target: str, checkpoint_bytes: int) -> int:
    """The size of `target`'s package of a checkpoint of `checkpoint_bytes`."""
    return int(TARGETS[target].footprint.package * checkpoint_bytes)


def private_bytes(target: str, package_size: int, *, prepacked: bool = False) -> int:
    """Memory a loaded package of `package_size` bytes holds that the system cannot page out to its file
    (`prepacked`: loaded from its prepacked copy, app.engine.prepacked)."""
    footprint = TARGETS[target].footprint
    return int((footprint.prepacked_private if prepacked else footprint.private) * package_size)


def mapped_bytes(target: str, package_size: int, *, prepacked: bool = False) -> int:
    """Bytes a chat keeps reading from memory-mapped files (not copied: the embedding's rows; with `prepacked`,
    also the prepacked weights in the copy's file)."""
    footprint = TARGETS[target].footprint
    return int((footprint.prepacked_mapped if prepacked else footprint.mapped) * package_size)


def memory_needed(target: str, checkpoint_bytes: int) -> int:
    """RAM for full speed. CPU targets: ORT's private copies (prepacked weights, arena), the mapped weights it reads
    in place and the KV cache of an 8k-token chat, with the operating system's share on top; the mapped originals
    of prepacked weights are not counted (ORT drops them after load). GPU targets: the package in device memory."""
    size = package_bytes(target, checkpoint_bytes)
    if not TARGETS[target].runs_on_cpu:
        return size + RESERVE_BYTES
    return private_bytes(target, size) + mapped_bytes(target, size) + CHAT_KV_BYTES + RESERVE_BYTES


def memory_needed_gb(target: str, checkpoint_bytes: int) -> int:
    """memory_needed in whole GB, rounded up: what the catalog states."""
    return math.ceil(memory_needed(target, checkpoint_bytes) / GB)
