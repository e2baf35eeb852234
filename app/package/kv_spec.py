"""The KV cache's shape and what it costs in bytes: the one rule both the engine (app.engine.kv_cache sizes its
buffers with it, app.engine.session checks free memory with it) and the memory advice (app.package.footprint:
the catalog, the conversion's target) count with.

It lives in the package format, not in the engine, because the advice is given before any engine runs and the
package layer never imports the engine (tests/test_layering.py): NumPy only, no ONNX Runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.package.targets import KV_LAYOUTS, PAST_KEY, PAST_VALUE, PRESENT_KEY, PRESENT_VALUE, SHARED_BUFFER

# The most window snapshots a shared-buffer cache keeps at once (app.engine.kv_cache.SharedKVCache, which says
# why each kind exists and what it costs): the latest prompt boundaries, and periodic ones inside long prefills.
BOUNDARY_SNAPSHOTS = 6
PERIODIC_SNAPSHOTS = 8


@dataclass(frozen=True)
class KVSpec:
    """Shape and naming of the graph's cache inputs/outputs.

    `window_layers` hold only `window_capacity` positions (window-sized buffers, see app.engine.kv_cache),
    of which the latest `window` are always resident."""

    num_layers: int
    kv_heads: int
    head_dim: int
    dtype: np.dtype
    layout: str = SHARED_BUFFER
    past_key: str = PAST_KEY
    past_value: str = PAST_VALUE
    present_key: str = PRESENT_KEY
    present_value: str = PRESENT_VALUE
    window_layers: tuple[int, ...] = ()
    window: int = 0
    window_capacity: int = 0

    def __post_init__(self) -> None:
        if self.layout not in KV_LAYOUTS:
            raise ValueError(f"unknown KV layout {self.layout!r}; expected {' or '.join(map(repr, KV_LAYOUTS))}")
        if self.window_layers and not 0 < self.window <= self.window_capacity:
            raise ValueError(f"a window cache needs 0 < window <= capacity, not {self.window} and "
                             f"{self.window_capacity}")

    def position_bytes(self) -> int:
        """K and V of one position in one layer."""
        return 2 * self.kv_heads * self.head_dim * np.dtype(self.dtype).itemsize

    def bytes_per_token(self) -> int:
        """What one more token of conversation adds: the full-length layers' K and V (window layers are fixed)."""
        return (self.num_layers - len(self.window_layers)) * self.position_bytes()

    def bytes_at(self, length: int) -> int:
        """The cache's bytes once it holds `length` positions (window layers fill up to their capacity)."""
        windowed = len(self.window_layers) * self.position_bytes() * min(length, self.window_capacity)
        return self.bytes_per_token() * length + windowed

    def buffer_length(self, layer: int, max_length: int) -> int:
        return self.window_capacity if layer in self.window_layers else max_length

    def resident(self, length: int) -> int:
        """How many of the latest positions a window layer holds after `length` tokens: ONNX Runtime's
        GroupQueryAttention rule (docs/ContribOperators.md, "Windowed KV Cache"), L(T) = T up to the capacity
        C, then T - G * ceil((T - C) / G) with G = C - W + 1."""
        capacity = self.window_capacity
        if length <= capacity:
            return length
        batch = capacity - self.window + 1
        return length - batch * -(-(length - capacity) // batch)

    def snapshot_bytes(self) -> int:
        """The most a cache of this layout keeps aside besides its buffers: a shared-buffer cache's window
        snapshots, each W + 1 rows of every window layer (a concat cache keeps none)."""
        if self.layout != SHARED_BUFFER:
            return 0
        rows = min(self.window + 1, self.window_capacity)
        return (BOUNDARY_SNAPSHOTS + PERIODIC_SNAPSHOTS) * len(self.window_layers) * rows * self.position_bytes()


def cache_bytes(spec: KVSpec, length: int) -> int:
    """What the cache for `spec` holds at `length` positions: its buffers and, at their most, its snapshots."""
    return spec.bytes_at(length) + spec.snapshot_bytes()
