"""Multi-turn chat on the tiny package: harmony prompts, history, and prefix reuse across turns."""

from __future__ import annotations

from app.engine.chat import ChatSession
from app.engine.events import Channel
from app.engine.generator import GenerationConfig, Generator
from app.engine.harmony import Role
from app.engine.session import LoadedModel


def test_second_turn_prefills_only_what_changed(tiny_model: LoadedModel) -> None:
    chat = ChatSession(tiny_model, generator=Generator(tiny_model, max_length=512), date="2025-06-01")
    first = list(chat.send("Hello there!", None, GenerationConfig(max_new_tokens=12)))
    first_prompt = list(chat.last_prompt)
    assert first[-1].finished and first[-1].cached_tokens == 0
    assert [m.role for m in chat.history][:1] == [Role.USER] and chat.history[-1].role is Role.ASSISTANT

    second = list(chat.send("Tell me more.", None, GenerationConfig(max_new_tokens=4)))
    reused = second[-1].cached_tokens
    # Everything up to the first turn's `<|start|>assistant` is reused; the new turn starts where it differs.
    assert reused >= len(first_prompt) - 1
    assert chat.last_prompt[:reused] == first_prompt[:reused] + chat.last_prompt[len(first_prompt):reused]
    assert second[-1].prompt_tokens == len(chat.last_prompt)


def test_events_carry_channels_and_the_reply_is_recorded(tiny_model: LoadedModel) -> None:
    chat = ChatSession(tiny_model, generator=Generator(tiny_model, max_length=512), date="2025-06-01")
    events = list(chat.send("Hi", None, GenerationConfig(max_new_tokens=10)))
    assert all(e.channel in set(Channel) for e in events)
    answer, reasoning = chat.reply_text()
    shown = "".join(e.text for e in events if e.channel is not Channel.ANALYSIS)
    assert answer == shown
    assert sum(len(e.token_ids) for e in events) == events[-1].new_tokens


def test_a_reply_without_a_header_is_shown_from_its_first_tokens(tiny_model: LoadedModel) -> None:
    """The random-weight model never writes `<|channel|>…<|message|>`; its text must still stream at once rather
    than after the parser's 64-token header limit (about 13 s of a blank reply at 20b widths on a CPU)."""
    chat = ChatSession(tiny_model, generator=Generator(tiny_model, max_length=512), date="2025-06-01")
    events = list(chat.send("Hi", None, GenerationConfig(max_new_tokens=40)))
    first_shown = next(e.new_tokens for e in events if e.text)
    print(f"first text after {first_shown} tokens")
    assert first_shown <= 9
