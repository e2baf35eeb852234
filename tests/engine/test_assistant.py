"""The chat use case without Qt, as a server would drive it: one request in, typed events out, on the tiny model."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from app.documents.grounding import Citation
from app.documents.sandbox import extract_document
from app.engine.assistant import Assistant
from app.engine.chat_request import ChatRequest, ChatSettings, Turn
from app.engine.events import FinishReason
from app.engine.sampling import SamplingParams
from app.engine.session import LoadedModel

GREEDY = ChatSettings(sampling=SamplingParams(temperature=0.0), max_new_tokens=6)
FACT = "The emergency generator at the Kirkenes depot is serviced by Halvorsen Marine under contract KX-4471."


@pytest.fixture(scope="module")
def assistant(tiny_model: LoadedModel) -> Assistant:
    return Assistant(tiny_model)


def _last(events) -> object:
    events = list(events)
    assert events and events[-1].finished and all(not e.finished for e in events[:-1])
    return events[-1]


def test_a_follow_up_request_carries_its_history_and_reuses_the_cache(assistant: Assistant) -> None:
    first = _last(assistant.reply(ChatRequest(history=(), user_text="Hello there!", settings=GREEDY)))
    answer, reasoning = assistant.reply_text()
    history = (Turn("user", "Hello there!"), Turn("assistant", answer, reasoning))
    second = _last(assistant.reply(ChatRequest(history=history, user_text="Tell me more.", settings=GREEDY)))
    assert second.prompt_tokens > first.prompt_tokens  # the earlier turns are in the prompt
    assert second.cached_tokens >= first.prompt_tokens - 1  # ... and were not prefilled again
    # a request with another history is answered from that history, not from the cache's
    fresh = _last(assistant.reply(ChatRequest(history=(), user_text="Tell me more.", settings=GREEDY)))
    assert fresh.prompt_tokens < second.prompt_tokens


def test_settings_reach_the_prompt(assistant: Assistant) -> None:
    plain = _last(assistant.reply(ChatRequest(history=(), user_text="Hi", settings=GREEDY)))
    briefed = _last(assistant.reply(ChatRequest(history=(), user_text="Hi", settings=replace(
        GREEDY, system_prompt="Answer in one short sentence.", max_new_tokens=2))))
    assert briefed.prompt_tokens > plain.prompt_tokens + 5 and briefed.new_tokens <= 2


def test_documents_come_first_as_typed_citations(assistant: Assistant, tmp_path: Path) -> None:
    notes = tmp_path / "depot-facts.txt"
    notes.write_text("Maintenance notes.\n\n" + FACT + "\n", encoding="utf-8")
    request = ChatRequest(history=(), user_text="Who services the generator?", settings=GREEDY,
                          documents=(extract_document(notes),))
    events = list(assistant.reply(request))
    first = events[0]
    assert first.text == "" and not first.finished
    assert [type(c) for c in first.citations] == [Citation]
    assert first.citations[0].marker == 1 and first.citations[0].label == "depot-facts.txt lines 1-3"
    assert all(not e.citations for e in events[1:])
    plain = _last(assistant.reply(ChatRequest(history=(), user_text="Who services the generator?",
                                              settings=GREEDY)))
    assert events[-1].prompt_tokens >= plain.prompt_tokens + 20  # the passage is in the prompt


def test_cancelling_from_another_thread_ends_the_reply_between_tokens(assistant: Assistant) -> None:
    request = ChatRequest(history=(), user_text="Tell me a long story",
                          settings=replace(GREEDY, max_new_tokens=200), ignore_eos=True)
    first_token = threading.Event()
    canceller = threading.Thread(target=lambda: first_token.wait(30) and request.cancel.set())
    canceller.start()
    events = []
    for event in assistant.reply(request):
        events.append(event)
        if event.token_ids and not first_token.is_set():
            first_token.set()
            canceller.join()  # the cancel was set by the other thread before the next token
    assert events[-1].finish_reason is FinishReason.CANCELLED
    assert events[-1].new_tokens < 200


def test_bad_settings_are_refused_with_one_sentence() -> None:
    with pytest.raises(ValueError, match=r"^temperature must be a number in \[0, 2\], got 2\.5\.$"):
        SamplingParams(temperature=2.5)
    with pytest.raises(ValueError, match=r"^max_new_tokens must be an integer in \[1, 131072\], got 0\.$"):
        ChatSettings(max_new_tokens=0)
    with pytest.raises(ValueError, match="reasoning_effort must be one of low, medium, high"):
        ChatSettings(reasoning_effort="extreme")
    kept, bad = ChatSettings().with_sampling_json({"temperature": 0.5, "top_p": 0, "seed": True,
                                                   "max_new_tokens": 10**9, "something_new": 1})
    assert bad == ["top_p", "seed", "max_new_tokens"]
    assert (kept.sampling.temperature, kept.sampling.top_p, kept.sampling.seed, kept.max_new_tokens) == \
        (0.5, 1.0, None, 2048)


def test_the_engine_and_the_app_budget_a_reply_alike_when_none_is_named() -> None:
    # one default reply budget: the app's chat settings and a direct engine call (GenerationConfig) once
    # disagreed (2048 against 512), so the same prompt stopped at different lengths in the CLI and the window
    from app.engine.generator import GenerationConfig

    assert ChatSettings().max_new_tokens == 2048
    assert GenerationConfig().max_new_tokens == 2048
