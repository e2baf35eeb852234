"""What a package of each target costs on disk and in RAM, from the target records' footprints
(app.package.targets.Footprint), relative to the MXFP4 checkpoint it comes from.

Measured at gpt-oss-20b's real size on this project's 24-layer test checkpoint (docs/benchmarks.md, "Real size");
gpt-oss-120b has the same tensors per layer at the same widths, so the same ratios hold for it (an extrapolation,
not a measurement). The records serve every place that needs these numbers: the target a conversion suggests
(app.model_folder.recommend_target), the disk space a conversion asks for (app.library.library), the
catalog's memory advice (models/catalog.json, checked against them by tests/test_footprint.py) and the load-time
memory check (app.engine.session, which counts the KV cache by the same rule, app.package.kv_spec).
"""

from __future__ import annotations

import math

from app.checkpoint.config import GptOssConfig
from app.package.kv_spec import KVSpec, cache_bytes
from app.package.targets import TARGETS

GB = 1e9

# What the operating system, the window and the document index need besides the model (a 16 GB laptop shows
# about 15.5 GB to programs and keeps ~1.5 GB for itself and the desktop).
RESERVE_BYTES = int(2.0 * GB)
# The tokens of a long chat, whose KV cache the advice counts (the engine's default context,
# app.engine.session.DEFAULT_MAX_LENGTH; the window allows more, touched only as a conversation grows).
CHAT_TOKENS = 8192


def chat_kv_bytes(target: str, layers: int) -> int:
    """The KV cache of a CHAT_TOKENS chat with a gpt-oss model of `layers` layers exported for `target`, by the rule
    the engine sizes its buffers with (app.package.kv_spec.cache_bytes): full-attention layers at every position,
    window layers at the window plus the target's slack, and the window snapshots at their most. gpt-oss-20b and
    gpt-oss-120b have the same attention (GptOssConfig: 8 KV heads of 64, every even layer a 128-token window) in
    24 and 36 layers; the cache has the target's activation dtype (float32 on the CPU targets)."""
    config, record = GptOssConfig(num_hidden_layers=layers), TARGETS[target]
    slack = record.window_cache_slack
    windows = tuple(i for i in range(layers) if config.is_sliding(i)) if slack else ()
    spec = KVSpec(num_layers=layers, kv_heads=config.num_key_value_heads, head_dim=config.head_dim,
                  dtype=record.float_type, layout=record.kv_layout, window_layers=windows,
                  window=config.sliding_window if windows else 0,
                  window_capacity=config.sliding_window + slack if windows else 0)
    return cache_bytes(spec, CHAT_TOKENS)


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


def copy_bytes(target: str, package_size: int) -> int:
    """The disk a prepacked copy (app.engine.prepacked) of `target`'s package of `package_size` bytes takes, besides
    the package (0: the target has no copies)."""
    return int(TARGETS[target].footprint.prepacked_copy * package_size)


def memory_needed(target: str, checkpoint_bytes: int, layers: int, *, prepacked: bool = False) -> int:
    """RAM for full speed with a checkpoint of `checkpoint_bytes` and `layers` layers. CPU targets: ORT's private
    copies (prepacked weights, arena), the mapped weights it reads in place and the KV cache of a CHAT_TOKENS
    chat, with the operating system's share on top; the mapped originals of prepacked weights are not counted
    (ORT drops them after load). `prepacked`: loaded from the package's prepacked copy, whose prepacked weights
    are read in place from the copy's file instead of held privately. GPU targets: the package in device memory."""
    record = TARGETS[target]
    if prepacked and not record.footprint.prepacked_copy:
        raise ValueError(f"the {target} target has no prepacked copies")
    size = package_bytes(target, checkpoint_bytes)
    if not record.runs_on_cpu:
        return size + RESERVE_BYTES
    held = private_bytes(target, size, prepacked=prepacked) + mapped_bytes(target, size, prepacked=prepacked)
    return held + chat_kv_bytes(target, layers) + RESERVE_BYTES


def memory_needed_gb(target: str, checkpoint_bytes: int, layers: int, *, prepacked: bool = False) -> int:
    """memory_needed in whole GB, rounded up: what the catalog states."""
    return math.ceil(memory_needed(target, checkpoint_bytes, layers, prepacked=prepacked) / GB)
