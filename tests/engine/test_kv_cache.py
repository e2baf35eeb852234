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
    assert shared.rewind(2) and shared.tokens == [1, 2] and shared.free == 14
    assert not concat.rewind(2) and concat.tokens == [] and concat.free == 16
    assert concat.rewind(0)
