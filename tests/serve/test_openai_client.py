"""The real `openai` client against the real server on 127.0.0.1, answering from the real tiny model.

The reference for every answer is the same package driven directly through the engine (greedy, same
messages): the API must add nothing and lose nothing. Cancellation and queueing are proven from the engine's
side, by the record the engine thread writes when a request ends.
"""

from __future__ import annotations

import threading

import httpx2
import openai
import pytest

from app.engine.events import FinishReason
from tests.serve.conftest import direct_text

pytestmark = pytest.mark.timeout(300)

HELLO = [("user", "Say hello to the API.")]


def _messages(pairs):
    return [{"role": role, "content": text} for role, text in pairs]


def test_models_lists_the_served_model_with_its_context(served) -> None:
    models = served.client().models.list()
    assert [m.id for m in models.data] == [served.model]
    assert models.data[0].model_extra["context_length"] == served.context
    assert served.client().models.retrieve(served.model).id == served.model
    with pytest.raises(openai.NotFoundError):
        served.client().models.retrieve("gpt-4o")


def test_a_whole_reply_matches_the_engine_directly(served, direct) -> None:
    expected, expected_reasoning, finish = direct_text(direct, HELLO, 24)
    before = len(served.records.items)
    reply = served.client().chat.completions.create(model=served.model, messages=_messages(HELLO),
                                                    max_tokens=24, temperature=0)
    choice = reply.choices[0]
    assert choice.message.content == expected
    assert choice.message.model_extra["reasoning"] == expected_reasoning  # the gpt-oss field...
    assert choice.message.model_extra["reasoning_content"] == expected_reasoning  # ...and its older name
    assert choice.finish_reason == finish
    record = served.records.wait(before + 1)[-1]
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (record.prompt_tokens, record.new_tokens)
    assert record.new_tokens <= 24


def test_a_streamed_reply_is_the_same_reply_in_pieces(served, direct) -> None:
    # The random tiny model writes no harmony header, so its first 64 tokens arrive together once the parser gives
    # up waiting for one; from then on the reply streams token by token.
    expected, _, finish = direct_text(direct, HELLO, 100)
    stream = served.client().chat.completions.create(model=served.model, messages=_messages(HELLO), max_tokens=100,
                                                     temperature=0, stream=True,
                                                     stream_options={"include_usage": True})
    pieces, finishes, usage = [], [], None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    assert "".join(pieces) == expected
    assert len([p for p in pieces if p]) > 10  # it really streamed
    assert finishes == [finish]
    assert usage is not None and usage.completion_tokens <= 100


def test_history_and_instructions_reach_the_model_as_in_the_window(served, direct) -> None:
    conversation = [("user", "First question"), ("assistant", "First answer"), ("user", "Second question")]
    expected, _, _ = direct_text(direct, conversation, 16, system_prompt="Answer in French.")
    reply = served.client().chat.completions.create(
        model=served.model, max_tokens=16, temperature=0,
        messages=[{"role": "developer", "content": "Answer in French."}, *_messages(conversation)])
    assert reply.choices[0].message.content == expected
    plain, _, _ = direct_text(direct, conversation, 16)
    assert plain != expected  # the instructions changed the prompt, so they really were used


def test_stop_strings_cut_the_answer_before_the_first_of_them(served, direct) -> None:
    full, _, _ = direct_text(direct, HELLO, 24)
    stop = full[len(full) // 2: len(full) // 2 + 3]
    assert stop.strip(), f"the tiny model's answer {full!r} has no usable middle"
    cut = full[:full.index(stop)]
    reply = served.client().chat.completions.create(model=served.model, messages=_messages(HELLO), max_tokens=24,
                                                    temperature=0, stop=[stop, "never appears here"])
    assert (reply.choices[0].message.content, reply.choices[0].finish_reason) == (cut, "stop")
    streamed = "".join(c.choices[0].delta.content or "" for c in served.client().chat.completions.create(
        model=served.model, messages=_messages(HELLO), max_tokens=24, temperature=0, stop=stop, stream=True)
        if c.choices)
    assert streamed == cut


def test_the_same_seed_gives_the_same_sampled_reply(served) -> None:
    def sampled(seed: int) -> str:
        return served.client().chat.completions.create(
            model=served.model, messages=_messages(HELLO), max_tokens=12, temperature=1.0, top_p=0.9,
            seed=seed).choices[0].message.content

    assert sampled(7) == sampled(7)
    assert sampled(7) != sampled(8)


def test_requests_without_the_token_are_refused_before_anything_runs(served) -> None:
    before = len(served.records.items)
    bare = httpx2.post(f"{served.url}/chat/completions", json={"model": served.model, "messages": _messages(HELLO)})
    assert bare.status_code == 401 and bare.headers["www-authenticate"] == "Bearer"
    assert "needs the API token" in bare.json()["error"]["message"]
    for key in ("enclave-wrong-token", served.token + "x", served.token[:-1]):
        with pytest.raises(openai.AuthenticationError) as caught:
            served.client(api_key=key).chat.completions.create(model=served.model, messages=_messages(HELLO))
        assert caught.value.status_code == 401
        assert caught.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        served.client(api_key="nope").models.list()
    assert len(served.records.items) == before  # the engine never saw them


@pytest.mark.parametrize(("extra", "named"), [
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
    ({"n": 2}, "n"),
    ({"logprobs": True}, "logprobs"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"frequency_penalty": 0.5}, "frequency_penalty"),
    ({"temperature": 3}, "temperature"),
    ({"top_p": 0}, "top_p"),
    ({"seed": -1}, "seed"),
    ({"reasoning_effort": "minimal"}, "reasoning_effort"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"store": True}, "store"),
])
def test_fields_that_would_change_the_answer_and_are_not_supported_are_refused(served, extra, named) -> None:
    before = len(served.records.items)
    with pytest.raises(openai.BadRequestError) as caught:
        served.client().chat.completions.create(model=served.model, messages=_messages(HELLO), **extra)
    assert caught.value.status_code == 400
    assert caught.value.body["param"] == named
    assert named in caught.value.body["message"]
    assert len(served.records.items) == before


def test_unknown_fields_and_unsupported_messages_are_refused(served) -> None:
    client = served.client()
    cases = [
        ({"extra_body": {"guided_json": {"type": "object"}}}, "guided_json"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
         "image_url"),
        ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure"}]},
         "last message"),
        ({"messages": [{"role": "tool", "content": "42", "tool_call_id": "1"}]}, "no tools"),
        ({"messages": [{"role": "user", "content": "hi", "name": "bob"}]}, "participant names"),
    ]
    for extra, words in cases:
        kwargs = {"model": served.model, "messages": _messages(HELLO), **extra}
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(**kwargs)
        assert words in caught.value.body["message"], caught.value.body


def test_another_model_name_is_not_found(served) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        served.client().chat.completions.create(model="gpt-oss:120b", messages=_messages(HELLO))
    assert caught.value.code == "model_not_found"
    assert served.model in caught.value.body["message"]


def test_a_prompt_longer_than_the_context_is_a_400_with_openai_code(served) -> None:
    long_text = "word " * (served.context + 50)
    with pytest.raises(openai.BadRequestError) as caught:
        served.client().chat.completions.create(model=served.model, messages=[{"role": "user", "content": long_text}],
                                                stream=True)
    assert caught.value.code == "context_length_exceeded"
    assert f"holds {served.context} tokens" in caught.value.body["message"]


def test_a_client_that_disconnects_stops_the_generation(served) -> None:
    """Proven from the engine's side: its last event for the request says CANCELLED after a few tokens."""
    before = len(served.records.items)
    budget = served.context - 100  # seconds of generation on the tiny model if nothing stopped it
    stream = served.client().chat.completions.create(model=served.model, messages=_messages(HELLO),
                                                     max_tokens=budget, temperature=0, stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    stream.close()  # the client goes away in the middle of the reply
    record = served.records.wait(before + 1)[-1]
    assert record.finish_reason is FinishReason.CANCELLED
    assert record.client_gone
    assert 0 < record.new_tokens < budget // 2  # the first piece comes after 64 tokens (see the streaming test)


def test_a_non_streaming_client_that_times_out_stops_the_generation(served) -> None:
    before = len(served.records.items)
    budget = served.context - 100
    with pytest.raises(openai.APITimeoutError):
        served.client(timeout=0.3).chat.completions.create(model=served.model, messages=_messages(HELLO),
                                                           max_tokens=budget, temperature=0)
    record = served.records.wait(before + 1)[-1]
    assert record.finish_reason is FinishReason.CANCELLED and record.client_gone
    assert record.new_tokens < budget


def test_two_clients_are_answered_one_after_the_other(served, direct) -> None:
    expected, _, _ = direct_text(direct, HELLO, 40)
    before = len(served.records.items)
    answers: dict[int, str] = {}
    ready = threading.Barrier(2)

    def ask(i: int) -> None:
        ready.wait(10)
        answers[i] = "".join(c.choices[0].delta.content or "" for c in served.client().chat.completions.create(
            model=served.model, messages=_messages(HELLO), max_tokens=40, temperature=0, stream=True) if c.choices)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    first, second = sorted(served.records.wait(before + 2)[before:], key=lambda r: r.started)
    assert second.started >= first.ended  # the engine ran them one at a time, never interleaved
    assert answers == {0: expected, 1: expected}  # each got its whole reply, nothing mixed in
    assert {first.finish_reason, second.finish_reason} <= {FinishReason.STOP, FinishReason.LENGTH}
