"""A float16 KV cache on the cpu target (`enclave export --kv-cache float16`): GroupQueryAttention runs in
float16 between Casts, the cache holds half the bytes, and the logits stay those of the float32 cache.

Not the default: ORT 1.32's CPU GroupQueryAttention is about twice as slow in float16 at 8k positions (41.99
vs 87.75 ms a step at gpt-oss-20b widths; the 2-layer 20b-width cpu-int4 package 348-387 vs 443-484 ms a
step at 8k, docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.engine.generator import Generator
from app.engine.session import LoadedModel, load_model
from app.export.context import ExportOptions
from app.export.exporter import ExportError, export_model
from tests.support.packages import TINY_CONTEXT

# RMS of the logits' difference, in sigma of the float32 cache's logits, per position: float16 K/V round at
# 2^-11 relative; measured worst 0.046, median 0.012 sigma over this test's 21 positions (ORT's int8 QMoE
# activations amplify small changes). A window off by one moves the median by 0.44 sigma (app.reference.verify).
WORST, MEDIAN = 0.1, 0.03


@pytest.fixture(scope="module")
def half_cache(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    out = tmp_path_factory.mktemp("kv16") / "tiny-cpu-kv16"
    export_model(tiny_checkpoint, out, "cpu", options=ExportOptions(context_length=TINY_CONTEXT, kv_cache="float16"))
    return load_model(out, threads=2)


def test_a_float16_cache_halves_the_bytes_and_keeps_the_logits(half_cache: LoadedModel,
                                                                tiny_model: LoadedModel) -> None:
    assert half_cache.kv_spec.dtype == np.float16 and tiny_model.kv_spec.dtype == np.float32
    assert 2 * half_cache.kv_spec.bytes_per_token() == tiny_model.kv_spec.bytes_per_token()
    prompt = [int(t) for t in np.random.default_rng(3).integers(1000, 50000, size=300)]  # past the window
    half, full = Generator(half_cache), Generator(tiny_model)
    got, expected = half.prefill(prompt)[0].copy(), full.prefill(prompt)[0].copy()
    errors, agree = [], 0
    for step in range(21):
        errors.append(float(np.sqrt(np.mean((got - expected) ** 2)) / expected.std()))
        agree += int(got.argmax() == expected.argmax())
        if step < 20:
            token = int(expected.argmax())
            got, expected = half.forward([token]).copy(), full.forward([token]).copy()
    print(f"RMS difference in sigma: worst {max(errors):.4f}, median {np.median(errors):.4f}; top-1 {agree}/21")
    assert max(errors) < WORST and np.median(errors) < MEDIAN and agree >= 19


def test_a_float16_cache_is_refused_where_the_graph_has_no_fused_attention(tiny_checkpoint: Path,
                                                                           tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="a float16 KV cache is not available for the dml target; nothing was "
                                          "written"):
        export_model(tiny_checkpoint, tmp_path / "dml", "dml",
                     options=ExportOptions(context_length=TINY_CONTEXT, kv_cache="float16"))
