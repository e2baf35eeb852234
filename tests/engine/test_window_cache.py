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

from app.engine.assistant import Assistant
from app.engine.chat_request import ChatRequest, ChatSettings, Turn
from app.engine.generator import Generator
from app.engine.kv_cache import common_prefix_length
from app.engine.sampling import SamplingParams
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
# Per turn, over the prompt's logits and its reply's: the median of the largest errors. Measured at most 0.035 over
# the long-prompt conversation below; one stale row restored into the window (a periodic snapshot that claims a
# token more than it copied) measured 0.25-0.40 in each turn that restores it, still under TOL at its worst (1.44).
TOL_MEDIAN = 0.1


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
    # window buffers hold 256 positions and the kernel evicts 129 at once (at 257, 386, ...); a snapshot keeps
    # the latest 129 rows, so it restores its own state and the one a token before. 75: into the first prompt
    # (at 195), after an eviction (restored from its chunk end at 192: the end at 200 lacks rows 67-70); 3 and 1:
    # inside the window, in place; 60: into the last reply, after an eviction (restored from the prompt's end);
    # 200: before the last prompt's window (at 292), after two evictions (restored from the end of turn 1's
    # prompt at 245: the later ones at 312, 344 and 362 have o = 129 but start at row 54 or later, and 292's
    # state needs rows 35-162); None: the previous
    # prompt again, after an eviction (a regenerated reply, restored from the prompt's end).
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
    # Worked out by hand from the snapshot rule (kv_cache.py); snapshots of all resident rows gave 195 and 292.
    assert reused == [0, 192, 312, 362, 245, 341, 411], reused


LONG_TALK = 2048  # room for the long-prompt conversation below


@pytest.fixture(scope="module")
def long_full_buffers(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    out = tmp_path_factory.mktemp("long_full_buffers") / "tiny-cpu-full-2k"
    export_model(tiny_checkpoint, out, "cpu", options=ExportOptions(context_length=LONG_TALK, window_cache_slack=0))
    return load_model(out, threads=2)


def test_edits_deep_inside_one_long_prompt_restore_a_periodic_snapshot(long_cpu_package: Path,
                                                                       long_full_buffers: LoadedModel) -> None:
    """A 1,600-token prompt (a long document) edited at several depths: each edit must re-read only from the
    latest periodic snapshot that holds its state, and give a fresh full-buffer generator's logits.

    The windowed cache here takes a periodic snapshot every 256 tokens, at most 4 (the spacing doubles to 512
    once the cache holds more than 4 x 256), fed in 32-token chunks. The window buffers hold C = 256 rows and
    evict G = 129 at once, so after T > 256 tokens the oldest resident position is o(T) = 129 * ceil((T - 256) /
    129) and L(T) = T - o(T) rows are resident. A snapshot after S tokens keeps rows L(S) - 129 .. L(S) - 1 and
    restores the state of d <= S when o(d) == o(S) and d's latest 128 rows, from L(d) - 128, are among them (d =
    S or S - 1); of d > S by re-feeding d - S. Worked out by hand from that rule:
    - turn 0, 1,600 tokens from empty: periodic snapshots at the chunk ends 256, 512, 768, 1024; past 1,024 the
      spacing is 512 and 256, 768 go; then 1,536. Boundaries: the chunk ends 1,568 and 1,600. Reply: 1,620.
    - turn 1, edit at 1,500: o(1620) = 1419 != o(1500) = 1290, so no rewind in place; 1,600 and 1,568 have
      o = 1419; 1,536 has o = 1290 but keeps rows from 117 on, and 1,500 needs rows 82-209; 1,024 is below:
      1,024 reused, 516 re-fed (chunk ends 1,056 ... 1,536, 1,540; 1,536 a periodic one again). Reply: 1,560.
    - turn 2, edit at 1,300 (o = 1161): 1,540 and 1,536 have o = 1290; 1,024 is below: 1,024 reused, 316
      re-fed (chunk ends 1,056 ... 1,312, 1,340; no new multiple of 512). Reply: 1,360.
    - turn 3, edit at 720 (o = 516): 1,340 and 1,312 have o = 1161, 1,024 has o = 774; 512 is below: 512 reused,
      248 re-fed (chunk ends 544 ... 736, 760). Reply: 780, past an eviction at 773.
    - turn 4, the same prompt again (a regenerated reply), rewound to 759: o(780) = 645, so not in place; the
      prompt's end at 760 has o = 516 and keeps rows from 115 on, which 759's state needs (its one spare row): 759
      reused, 1 re-fed.
    - turn 5, edit at 300 (o = 129): 736 has o = 516, 512 has o = 258, and the snapshot at 256 that held it was
      thinned in turn 0: nothing holds it, 0 reused, all 340 re-fed.
    Full-length buffers would reuse 0, 1,500, 1,300, 720, 759, 300."""
    windowed = Generator(load_model(long_cpu_package, threads=2), max_length=LONG_TALK, prefill_scratch_bytes=1)
    windowed.cache.SNAPSHOT_EVERY, windowed.cache.PERIODIC_SNAPSHOTS = 256, 4  # what the cache's rule scales to
    reference = Generator(long_full_buffers)
    reused, refed, last_prompt = [], [], []
    for turn, depth in enumerate([None, 1500, 1300, 720, "again", 300]):
        if depth is None:
            prompt = _tokens(20, 1600)
        elif depth == "again":
            prompt = last_prompt
        else:
            prompt = list(windowed.cache.tokens[:depth]) + _tokens(20 + turn, 40)
        reference.reset()
        expected = reference.prefill(prompt)[0].copy()
        got, reuse = windowed.prefill(prompt)
        reused.append(reuse)
        refed.append(len(prompt) - reuse)
        errors = [float(np.abs(got - expected).max())]
        for _ in range(20):  # a reply (decoded tokens are cached too)
            token = int(expected.argmax())
            got, expected = windowed.forward([token]).copy(), reference.forward([token]).copy()
            errors.append(float(np.abs(got - expected).max()))
        assert max(errors) <= TOL and float(np.median(errors)) <= TOL_MEDIAN, (turn, errors)
        last_prompt = prompt
    assert reused == [0, 1024, 1024, 512, 759, 0], reused
    assert refed == [1600, 516, 316, 248, 1, 340], refed


def test_an_edited_early_message_reuses_a_periodic_snapshot_through_the_assistant(long_cpu_package: Path) -> None:
    """The app's edit-and-resend (app.ui.replies: the history up to the edited message plus its new text) and a
    server request whose history changed early both reach the cache through Assistant.reply -> ChatSession.send ->
    Generator.generate -> prefill -> KVCache.rewind. Editing the second user message of a ~1,850-token chat
    diverges after the first exchange, before 902 tokens (checked: 787). Fed in 32-token chunks from 0 with a
    128-token spacing that doubles past 512 and 1,024, the chunk end at 512 is a periodic snapshot still kept, and
    the later ones (1,024, 1,536, the prompt's end) keep a later oldest position than o(787) = 645: 512 tokens
    reused. Without periodic snapshots nothing before the divergence is kept: 0. Both answer the same.
    """
    model = load_model(long_cpu_package, threads=2)
    greedy = ChatSettings(sampling=SamplingParams(temperature=0.0), max_new_tokens=8)
    words = [f"{w}{i}" for i, w in enumerate(["alpha", "delta", "kilo", "sierra", "tango", "oscar"] * 60)]

    def text(seed: int) -> str:
        return " ".join(np.random.default_rng(seed).permutation(words)[:150])

    history = (Turn("user", text(1)), Turn("assistant", text(2)), Turn("user", text(3)), Turn("assistant", text(4)))
    reused, answers = [], []
    for periodic in (4, 0):
        assistant = Assistant(model)
        generator = assistant.session.generator
        generator.prefill_scratch_bytes = 1  # 32-token chunks (a long prompt at gpt-oss's 64 heads: 128 at 8k)
        generator.cache.SNAPSHOT_EVERY, generator.cache.PERIODIC_SNAPSHOTS = 128, periodic
        list(assistant.reply(ChatRequest(history=history, user_text=text(5), settings=greedy)))
        first = assistant.session.last_prompt
        events = list(assistant.reply(ChatRequest(history=history[:2], user_text=text(6), settings=greedy)))
        diverges = common_prefix_length(first, assistant.session.last_prompt)
        assert 512 < diverges < 902 and len(first) > 1536, (diverges, len(first))
        reused.append(events[-1].cached_tokens)
        answers.append([t for e in events for t in e.token_ids])
    assert reused == [512, 0], reused
    assert answers[0] == answers[1] and answers[0]


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
