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
