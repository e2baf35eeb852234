"""build_prompt and HarmonyStream: what the chat engine uses, checked against openai-harmony."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from app.engine.events import Channel
from app.engine.harmony import (
    STOP_TOKEN_IDS,
    HarmonyStream,
    Message,
    SystemSettings,
    TurnEnd,
    build_prompt,
    render_message,
)
from app.engine.harmony.prompt import drop_finished_reasoning, system_message
from app.engine.harmony.conversation import DeveloperContent
from app.tokenizer import special_tokens as st
from tests.support.harmony_corpus import weather_tool, to_openai_harmony

A, U = Message.assistant, Message.user


def test_build_prompt_matches_openai_harmony(codec, harmony_encoding) -> None:
    from openai_harmony import Role as OhRole

    history = [U("Weather in Oslo?"), A("Look it up.", "analysis"),
               A('{"location":"Oslo"}', "commentary", "functions.get_current_weather", "<|constrain|>json"),
               Message.tool_result("functions.get_current_weather", '{"t": -3}')]
    settings = SystemSettings(browser_tool=True, python_tool=True)
    for effort in ("low", "medium", "high"):
        ids = build_prompt(codec, settings, "Be brief.", [weather_tool()], history, effort, dt.date(2026, 11, 25))
        expected = [system_message(settings, effort, "2026-11-25"),
                    Message.developer(DeveloperContent.with_functions("Be brief.", [weather_tool()])), *history]
        theirs = harmony_encoding.render_conversation_for_completion(to_openai_harmony(expected), OhRole.ASSISTANT)
        assert ids == theirs
        text = harmony_encoding.decode_utf8(ids)
        assert f"Reasoning: {effort}" in text and "Current date: 2026-11-25" in text
        assert "## browser" in text and "## python" in text and "namespace functions {" in text
        assert "Look it up." in text  # a tool call in flight keeps its reasoning
        assert text.endswith("<|start|>assistant")


def test_build_prompt_without_developer_message(codec, harmony_encoding) -> None:
    text = harmony_encoding.decode_utf8(build_prompt(codec, history_messages=[U("Hi")]))
    assert "<|start|>developer" not in text
    assert text.startswith("<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.")


def test_past_reasoning_is_dropped_from_every_finished_turn() -> None:
    history = [U("q1"), A("r1", "analysis"), A("a1", "final"), U("q2"), A("r2", "analysis"), A("a2", "final"),
               U("q3"), A("r3", "analysis"), A("{}", "commentary", "functions.f", "<|constrain|>json"),
               Message.tool_result("functions.f", "ok")]
    kept = [m.text for m in drop_finished_reasoning(history)]
    assert kept == ["q1", "a1", "q2", "a2", "q3", "r3", "{}", "ok"]


def test_harmony_stream_routes_channels_and_stops_on_return(codec) -> None:
    messages = [A("Let me think.", "analysis"), A("Ünïcode answer 👋", "final")]
    ids: list[int] = []
    for m in messages:
        ids += render_message(codec, m)
    ids = ids[1 + len(codec.encode_ordinary("assistant")):]  # the prompt ended with <|start|>assistant
    ids[-1] = st.RETURN
    stream = HarmonyStream(codec)
    deltas = []
    for token in ids:
        assert not stream.done
        deltas += stream.feed(token)
    assert stream.done and stream.turn_end is TurnEnd.RETURN and ids[-1] in STOP_TOKEN_IDS
    assert "".join(d.text for d in deltas if d.channel is Channel.ANALYSIS) == "Let me think."
    assert "".join(d.text for d in deltas if d.channel is Channel.FINAL) == "Ünïcode answer 👋"
    assert stream.final_text == "Ünïcode answer 👋"
    assert [p.message.channel for p in stream.messages] == ["analysis", "final"]


def test_harmony_stream_reports_tool_calls(codec) -> None:
    call = A('{"location":"Oslo"}', "commentary", "functions.get_current_weather", "<|constrain|>json")
    ids = render_message(codec, call)[1 + len(codec.encode_ordinary("assistant")):]
    stream = HarmonyStream(codec)
    deltas = [d for t in ids for d in stream.feed(t)]
    assert stream.turn_end is TurnEnd.CALL
    assert [(c.recipient, c.arguments) for c in stream.tool_calls] == [
        ("functions.get_current_weather", '{"location":"Oslo"}')]
    assert {d.recipient for d in deltas} == {"functions.get_current_weather"}
    assert {d.channel for d in deltas} == {Channel.COMMENTARY}


def test_harmony_stream_surfaces_text_without_a_header(codec) -> None:
    stream = HarmonyStream(codec)
    deltas = [d for t in codec.encode_ordinary("plain answer") for d in stream.feed(t)] + stream.finish()
    assert "".join(d.text for d in deltas) == "plain answer"
    assert stream.messages[0].malformed and stream.turn_end is None


def test_app_code_never_imports_openai_harmony() -> None:
    code = ("import sys, app.engine.harmony, app.cli.harmony; "
            "print(any(m.split('.')[0] == 'openai_harmony' for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
