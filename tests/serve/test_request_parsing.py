"""The request body -> ChatRequest mapping, and stop strings split across streamed pieces (pure, no server)."""

from __future__ import annotations

import random

import pytest

from app.engine.stop_text import StopText
from app.serve.request import ApiError, parse_chat

MODEL = "gpt-oss-20b"


def _parse(**body):
    return parse_chat({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **body}, MODEL, 8192)


def test_messages_become_instructions_history_and_the_question() -> None:
    chat = parse_chat({"model": MODEL, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Cite sources."}]},
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1", "reasoning": "thought 1"},
        {"role": "assistant", "content": None, "reasoning_content": "thought 2"},
        {"role": "user", "content": [{"type": "text", "text": "Q2a"}, {"type": "text", "text": "Q2b"}]},
    ]}, MODEL, 8192)
    request = chat.request
    assert request.settings.system_prompt == "Be brief.\n\nCite sources."
    assert [(t.role, t.text, t.reasoning) for t in request.history] == [
        ("user", "Q1", ""), ("assistant", "A1", "thought 1"), ("assistant", "", "thought 2")]
    assert request.user_text == "Q2a\nQ2b"


def test_api_defaults_and_sampling_fields() -> None:
    default = _parse().request.settings
    assert (default.sampling.temperature, default.sampling.top_p, default.sampling.seed) == (1.0, 1.0, None)
    assert default.max_new_tokens == 8192  # as long as the context allows, like OpenAI's API
    assert default.reasoning_effort == "medium"
    chat = _parse(temperature=0, top_p=0.5, seed=3, top_k=40, min_p=0.05, repetition_penalty=1.1,
                  max_completion_tokens=77, reasoning_effort="high", stop="END", stream=True,
                  stream_options={"include_usage": True}, include_reasoning=False, user="me", n=1, logprobs=False,
                  tools=[], tool_choice="none", response_format={"type": "text"}, frequency_penalty=0)
    s = chat.request.settings
    assert (s.sampling.temperature, s.sampling.top_p, s.sampling.seed, s.sampling.top_k) == (0.0, 0.5, 3, 40)
    assert (s.sampling.min_p, s.sampling.repetition_penalty, s.max_new_tokens) == (0.05, 1.1, 77)
    assert s.reasoning_effort == "high" and chat.request.stop == ("END",)
    assert chat.stream and chat.include_usage and not chat.include_reasoning
    assert _parse(max_tokens=5, max_completion_tokens=5).request.settings.max_new_tokens == 5


@pytest.mark.parametrize(("body", "words"), [
    ({"max_tokens": 5, "max_completion_tokens": 6}, "disagree"),
    ({"stream_options": {"include_usage": True}}, "only allowed when stream"),
    ({"stream": True, "stream_options": {"include_obfuscation": True}}, "include_usage"),
    ({"stream": "yes"}, "true or false"),
    ({"stop": [""]}, "1 to 256"),
    ({"stop": 5}, "string or a list"),
    ({"temperature": True}, "temperature"),
    ({"seed": 2**40}, "seed"),
    ({"top_logprobs": 2}, "log-probabilities"),
    ({"logit_bias": {"50256": -100}}, "bias"),
    ({"service_tier": "flex"}, "one tier"),
    ({"reasoning": {"effort": "low"}}, "not part of the chat completions API"),
])
def test_bad_fields_are_one_sentence_naming_them(body, words) -> None:
    with pytest.raises(ApiError) as caught:
        _parse(**body)
    assert caught.value.status == 400
    assert words in caught.value.message


@pytest.mark.parametrize(("messages", "words"), [
    ([], "non-empty list"),
    (["hi"], "must be an object"),
    ([{"role": "user", "content": "a"}, {"role": "system", "content": "late"}, {"role": "user", "content": "b"}],
     "after the conversation started"),
    ([{"role": "robot", "content": "a"}], "must be system, developer, user or assistant"),
    ([{"role": "user", "content": 5}], "string or a list of text parts"),
    ([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b",
                                         "tool_calls": [{"id": "1"}]}, {"role": "user", "content": "c"}],
     "offers no tools"),
    ([{"role": "system", "content": "only instructions"}], "last message must be the user's"),
])
def test_bad_conversations_are_refused(messages, words) -> None:
    with pytest.raises(ApiError, match=words):
        parse_chat({"model": MODEL, "messages": messages}, MODEL, 8192)


def test_a_body_that_is_not_an_object_and_a_missing_model() -> None:
    with pytest.raises(ApiError, match="JSON object"):
        parse_chat([1, 2], MODEL, 8192)
    with pytest.raises(ApiError, match="'model' is required"):
        parse_chat({"messages": [{"role": "user", "content": "x"}]}, MODEL, 8192)
    with pytest.raises(ApiError) as caught:
        parse_chat({"model": "other", "messages": [{"role": "user", "content": "x"}]}, MODEL, 8192)
    assert caught.value.status == 404 and caught.value.code == "model_not_found"


def test_stop_strings_cut_at_the_earliest_match_however_the_text_is_split() -> None:
    rng = random.Random(0)
    text = "The answer is 42. Observation: none. END of story, END again."
    for stops in (["END"], ["Observation:", "END"], ["42.", "none"], ["zzz"], ["again.", "story"]):
        found = [i for i in (text.find(s) for s in stops) if i >= 0]
        expected = text[:min(found)] if found else text
        for _ in range(50):
            cuts = sorted(rng.sample(range(1, len(text)), rng.randint(0, 12)))
            pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
            stop = StopText(stops)
            shown = ""
            for piece in pieces:
                shown += stop.feed(piece)
                if stop.matched:
                    break
            shown += stop.flush()
            assert shown == expected, (stops, pieces)
            assert stop.matched == bool(found)


def test_text_that_only_looks_like_the_start_of_a_stop_string_is_released() -> None:
    stop = StopText(["</answer>"])
    assert stop.feed("a </ans") == "a "  # held: it may become the stop string
    assert stop.feed("wer is") == "</answer is"  # it did not
    assert stop.flush() == ""
