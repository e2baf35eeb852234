"""make_cache: one class per KV layout, and a layout it does not know refused in one sentence."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.kv_cache import ConcatKVCache, KVSpec, SharedKVCache, make_cache
from app.package.targets import CONCAT, SHARED_BUFFER as SHARED


def _spec(layout: str) -> KVSpec:
    return KVSpec(num_layers=2, kv_heads=1, head_dim=4, dtype=np.dtype(np.float32), layout=layout)


def test_each_layout_gets_its_class() -> None:
    assert type(make_cache(_spec(SHARED), 16)) is SharedKVCache
    assert type(make_cache(_spec(CONCAT), 16)) is ConcatKVCache


def test_an_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown KV layout 'paged'; expected 'shared-buffer' or 'concat'"):
        make_cache(_spec("paged"), 16)


def test_rewinding_keeps_a_prefix_in_a_shared_cache_and_empties_a_concat_one() -> None:
    shared, concat = make_cache(_spec(SHARED), 16), make_cache(_spec(CONCAT), 16)
    for cache in (shared, concat):
        cache.tokens.extend([1, 2, 3, 4])
    assert shared.rewind(2) == 2 and shared.tokens == [1, 2] and shared.free == 14
    assert concat.rewind(2) == 0 and concat.tokens == [] and concat.free == 16
    assert concat.rewind(0) == 0


def test_a_window_layer_holds_what_onnx_runtime_documents() -> None:
    """ORT's windowed-cache rule, by hand for window 4, capacity 6 (2 slack: 3 positions evicted at once):
    up to 6 tokens all stay; the 7th evicts 3 (4 left), the 8th and 9th fill up again, the 10th evicts 3."""
    spec = KVSpec(num_layers=2, kv_heads=1, head_dim=4, dtype=np.dtype(np.float32), window_layers=(0,), window=4,
                  window_capacity=6)
    assert [spec.resident(t) for t in range(1, 14)] == [1, 2, 3, 4, 5, 6, 4, 5, 6, 4, 5, 6, 4]
    assert spec.buffer_length(0, 100) == 6 and spec.buffer_length(1, 100) == 100
    assert spec.bytes_per_token() == 2 * 4 * 4  # the full layer's K and V only
    assert spec.bytes_at(3) == 2 * 3 * 32 and spec.bytes_at(50) == 50 * 32 + 6 * 32
    with pytest.raises(ValueError, match="0 < window <= capacity"):
        KVSpec(num_layers=2, kv_heads=1, head_dim=4, dtype=np.dtype(np.float32), window_layers=(0,), window=8,
               window_capacity=6)


def test_the_buffers_a_20b_chat_allocates_are_what_the_memory_advice_counts() -> None:
    """gpt-oss-20b on a CPU target, 8,192 positions, by hand: a position of a layer is K and V of 8 heads of 64
    float32 values (4,096 bytes); the 12 odd layers hold every position, the 12 even ones their 128-token window
    plus 128 slack; on top, at most 14 snapshots of 129 rows of each window layer (app.package.footprint counts
    them; `snapshot_bytes` is what the load check adds). The buffers are calloc'd, so this touches no RAM."""
    from app.package.footprint import chat_kv_bytes

    position = 2 * 8 * 64 * 4
    spec = KVSpec(num_layers=24, kv_heads=8, head_dim=64, dtype=np.dtype(np.float32), layout=SHARED,
                  window_layers=tuple(range(0, 24, 2)), window=128, window_capacity=256)
    cache = SharedKVCache(spec, 8192)
    allocated = sum(array.nbytes for pair in cache._host for array in pair)
    assert allocated == 12 * 8192 * position + 12 * 256 * position
    assert spec.snapshot_bytes() == 14 * 12 * 129 * position
    assert allocated + spec.snapshot_bytes() == chat_kv_bytes("cpu-int4", 24)
