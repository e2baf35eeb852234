"""Sliding-window layers that keep only their window compute what full-length buffers compute.

The tiny model (3 layers: sliding, full, sliding; window 128) exported twice, once with window-sized buffers
for its sliding layers (GroupQueryAttention sliding_window_cache=1, the cpu target's default) and once with
full-length buffers for every layer; the same prompts through both must give the same logits, fed whole or in
chunks, and over a multi-turn conversation whose later prompts diverge from the cached tokens inside the window
and before it (where the buffers cannot rewind in place and the cache must rebuild the window)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.engine.generator import Generator
from app.engine.session import LoadedModel, load_model
from app.export.context import ExportOptions
from app.export.exporter import export_model
from tests.support.packages import TINY_CONTEXT

WINDOW = 128  # the tiny model's sliding window
# The two graphs differ only in where the kernel finds the K/V rows (and the window kernel's float order over
# a chunk, 1e-6 at its output), but the cpu target's QMoE rounds its activations to int8 per 64-value block, so
# a last-bit difference can move a logit: measured up to 0.16 for a prompt and 0.65 (median 0.033) over this
# file's conversation. Rewinding the window rows in place after an eviction (stale rows) measured 8-20 (median
# 4.9-13.7) in every turn that rewinds.
TOL = 2.0


@pytest.fixture(scope="module")
def full_buffers(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    out = tmp_path_factory.mktemp("full_buffers") / "tiny-cpu-full"
    export_model(tiny_checkpoint, out, "cpu", options=ExportOptions(context_length=TINY_CONTEXT, window_cache_slack=0))
    return load_model(out, threads=2)


def _tokens(seed: int, n: int) -> list[int]:
    return [int(t) for t in np.random.default_rng(seed).integers(1000, 50000, size=n)]


def test_the_cpu_package_keeps_only_the_window_in_its_sliding_layers(tiny_model: LoadedModel,
                                                                      full_buffers: LoadedModel) -> None:
    spec, full = tiny_model.kv_spec, full_buffers.kv_spec
    assert spec.window_layers == (0, 2) and spec.window == WINDOW and spec.window_capacity > WINDOW
    assert full.window_layers == ()
    # K and V of one position, float32, in one layer
    position = 2 * tiny_model.facts.kv_heads * tiny_model.facts.head_dim * 4
    assert full.bytes_per_token() == 3 * position
    assert spec.bytes_per_token() == 1 * position  # only the full layer grows with the conversation
    assert spec.bytes_at(400) == 400 * position + 2 * spec.window_capacity * position
    buffers = {i.name: i.shape for i in tiny_model.session.get_inputs()}
    assert buffers["past_key_values.0.key"][2] == "window_capacity" == buffers["past_key_values.2.value"][2]
    assert buffers["past_key_values.1.key"][2] == "max_length"
    assert spec.buffer_length(0, TINY_CONTEXT) == spec.window_capacity == 2 * WINDOW
    assert spec.buffer_length(1, TINY_CONTEXT) == TINY_CONTEXT


@pytest.mark.parametrize("scratch", [2**62, 1], ids=["whole", "chunked"])
def test_a_prompt_longer_than_the_window_gives_the_full_buffers_logits(tiny_model: LoadedModel,
                                                                       full_buffers: LoadedModel,
                                                                       scratch: int) -> None:
    prompt = _tokens(0, 300)  # past the capacity too: the kernel has evicted
    windowed, full = Generator(tiny_model, prefill_scratch_bytes=scratch), Generator(full_buffers)
    got, expected = windowed.prefill(prompt)[0].copy(), full.prefill(prompt)[0].copy()
    np.testing.assert_allclose(got, expected, atol=TOL, rtol=0)
    for _ in range(40):  # decode across an eviction (capacity 256: every 129 tokens)
        token = int(expected.argmax())
        got, expected = windowed.forward([token]).copy(), full.forward([token]).copy()
        np.testing.assert_allclose(got, expected, atol=TOL, rtol=0)


def test_multi_turn_prompts_that_diverge_inside_and_before_the_window(tiny_model: LoadedModel,
                                                                      full_buffers: LoadedModel) -> None:
    """Each turn's prompt shares a prefix with the cached tokens (prompt + reply) and diverges at a chosen
    point; the windowed generator's logits must equal a fresh full-buffer generator's on the same prompt."""
    windowed = Generator(tiny_model, prefill_scratch_bytes=1)  # chunked prompts: 32 tokens a run
    reference = Generator(full_buffers)
    reused, last_prompt = [], []
    # How far before the end of what the cache holds (prompt + 70 reply tokens) each new prompt diverges. The
    # window buffers hold 256 positions and the kernel evicts 129 at once (at 257, 386, ...). 75: into the first
    # prompt, after an eviction (restored from that prompt's end); 3 and 1: inside the window, in place; 60:
    # into the last reply, after an eviction (restored from the prompt's end); 200: before the last prompt's
    # window, after two evictions (restored from the previous prompt's start); None: the previous prompt again,
    # after an eviction (a regenerated reply, restored from the prompt's end).
    for turn, back in enumerate([0, 75, 3, 60, 200, None, 1]):
        held = windowed.cache.tokens
        if back is None:
            prompt = last_prompt
        else:
            prompt = list(held[:len(held) - back]) + _tokens(10 + turn, 50) if held else _tokens(1, 200)
        reference.reset()
        expected = reference.prefill(prompt)[0].copy()
        got, reuse = windowed.prefill(prompt)
        reused.append(reuse)
        np.testing.assert_allclose(got, expected, atol=TOL, rtol=0, err_msg=f"turn {turn}")
        for _ in range(70 if turn < 6 else 30):  # a reply (decoded tokens are cached too), within the context
            token = int(expected.argmax())
            got, expected = windowed.forward([token]).copy(), reference.forward([token]).copy()
            np.testing.assert_allclose(got, expected, atol=TOL, rtol=0, err_msg=f"turn {turn} reply")
        last_prompt = prompt
    # What was reused: the common prefix (full-length buffers reuse 0, 195, 312, 372, 292, 341, 411), or where
    # the latest snapshot that holds a state before it is (turn 3: the last prompt's end at 362, not 372).
    assert reused == [0, 195, 312, 362, 292, 341, 411], reused


@pytest.mark.parametrize("change", [
    {"alignment": 16},  # a field this Enclave does not know
    {"slide_key_value_cache": True},
    {"slide_inputs": None},
    {"layers": [0, 0]},
    {"layers": [99]},
    {"layers": ["0"]},
    {"window_size": 0},
    {"window_size": True},
    {"cache_slack": -1},
])
def test_a_sliding_window_section_it_does_not_know_exactly_is_refused(tiny_cpu_package: Path, tmp_path: Path,
                                                                      change: dict) -> None:
    import json
    import shutil

    from app.engine.session import LoadError, read_package_facts

    copy = tmp_path / "pkg"
    shutil.copytree(tiny_cpu_package, copy)
    (copy / "manifest.json").unlink()  # as onnxruntime-genai's own exports come: nothing but the config to go by
    config_path = copy / "genai_config.json"
    config = json.loads(config_path.read_text())
    sliding = config["model"]["decoder"]["sliding_window"]
    assert read_package_facts(copy).window_layers == tuple(sliding["layers"])  # as exported, it loads
    sliding.update(change)
    config_path.write_text(json.dumps(config))
    with pytest.raises(LoadError, match="sliding_window section|sliding key/value cache"):
        read_package_facts(copy)
