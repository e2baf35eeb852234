"""Our parser against openai-harmony's on well-formed tokens, and its recovery from malformed model output."""

from __future__ import annotations

import json
import re

from app.engine.harmony import (
    Message,
    MessageEnded,
    MessageStarted,
    Role,
    StreamingParser,
    TextDelta,
    ToolCallCompleted,
    TurnEnd,
    TurnEnded,
    parse_messages,
    parse_parsed_messages,
    render_conversation,
    render_message,
)
from app.tokenizer import special_tokens as st
from tests.support.harmony_corpus import random_conversations


def _dicts(messages) -> list[dict]:
    return json.loads(json.dumps([m.to_dict() for m in messages]))


def _as_upstream(theirs) -> list[dict]:
    """openai-harmony 0.0.8 reads a lone `<|constrain|>json` header word as the *recipient*; its later source
    (and its own test_streamable_parser_constrained_output_without_recipient) reads it as the content type.
    We follow the fix: otherwise a structured `final` answer would look like a tool call to "<|constrain|>json"."""
    out = _dicts(theirs)
    for message in out:
        if "content_type" not in message and str(message.get("recipient", "")).startswith("<|constrain|>"):
            message["content_type"] = message.pop("recipient")
    return out


def _completion_ids(codec, messages: list[Message]) -> list[int]:
    """What the model would sample after `<|start|>assistant`: the messages with their start+role cut off,
    and `<|return|>` instead of the last `<|end|>` after a final answer (as openai-harmony's training render)."""
    ids: list[int] = []
    prefix = 1 + len(codec.encode_ordinary("assistant"))
    for i, message in enumerate(messages):
        rendered = render_message(codec, message)
        ids += rendered[prefix:] if i == 0 else rendered
    if messages[-1].channel == "final":
        ids[-1] = st.RETURN
    return ids


def test_whole_conversations_parse_like_openai_harmony(codec, harmony_encoding, harmony_cases) -> None:
    compared = 0
    for case in harmony_cases:
        ids = render_conversation(codec, case.messages, auto_drop_analysis=False)
        ours = parse_messages(codec, ids, role=None)
        if case.has_named_non_tool:
            # openai-harmony raises on `user:alice`; we read the name back.
            assert [m.name for m in ours] == [m.name for m in case.messages], case.name
            continue
        theirs = harmony_encoding.parse_messages_from_completion_tokens(ids, None)
        assert _dicts(ours) == _as_upstream(theirs), case.name
        assert not any(p.malformed for p in parse_parsed_messages(codec, ids) if p.message.role is not Role.ASSISTANT)
        compared += 1
    assert compared >= 60


def test_random_conversations_parse_like_openai_harmony(codec, harmony_encoding) -> None:
    compared = 0
    for index, messages in enumerate(random_conversations(150)):
        ids = render_conversation(codec, messages)
        try:
            theirs = harmony_encoding.parse_messages_from_completion_tokens(ids, None)
        except Exception:  # openai-harmony refuses e.g. `user:bob`; ours must still not raise
            parse_messages(codec, ids)
            continue
        assert _dicts(parse_messages(codec, ids)) == _as_upstream(theirs), f"random conversation {index}"
        compared += 1
    assert compared >= 30


def test_assistant_completions_parse_like_openai_harmony(codec, harmony_encoding, harmony_cases) -> None:
    from openai_harmony import Role as OhRole

    compared = 0
    for case in harmony_cases:
        tail = list(case.messages)
        while tail and tail[0].role is not Role.ASSISTANT:
            tail.pop(0)
        tail = [m for m in tail if m.role is Role.ASSISTANT][:4]
        if not tail:
            continue
        ids = _completion_ids(codec, tail)
        ours = parse_parsed_messages(codec, ids, role=Role.ASSISTANT)
        theirs = harmony_encoding.parse_messages_from_completion_tokens(ids, OhRole.ASSISTANT)
        assert _dicts([p.message for p in ours]) == _as_upstream(theirs), case.name
        assert not any(p.malformed for p in ours), (case.name, [p.problems for p in ours])
        compared += 1
    assert compared >= 40


def test_streamed_deltas_match_openai_harmony_token_by_token(codec, harmony_encoding, harmony_cases) -> None:
    from openai_harmony import StreamableParser

    for case in harmony_cases[::3]:
        if case.has_named_non_tool:
            continue
        ids = render_conversation(codec, case.messages)
        theirs = StreamableParser(harmony_encoding, None)
        ours = StreamingParser(codec, role=None)
        for position, token in enumerate(ids):
            theirs.process(token)
            delta = "".join(e.text for e in ours.feed(token) if isinstance(e, TextDelta)) or None
            assert delta == theirs.last_content_delta, f"{case.name} at token {position}"


def test_utf8_split_across_tokens_is_held_back(codec) -> None:
    """Token 9552 is b' \\xf0\\x9f' (openai-harmony's tests): half an emoji must not be shown as U+FFFD."""
    emoji_ids = codec.encode_ordinary("👋🏾 ok")
    pieces = [codec.token_bytes(t) for t in emoji_ids]
    assert any(_is_partial_utf8(p) for p in pieces), "the sample must split a character across tokens"
    parser = StreamingParser(codec)
    parser.feed_many([st.CHANNEL] + codec.encode_ordinary("final") + [st.MESSAGE])
    deltas = [e.text for t in emoji_ids for e in parser.feed(t) if isinstance(e, TextDelta)]
    assert "".join(deltas) == "👋🏾 ok"
    assert all("\ufffd" not in d for d in deltas)


def _is_partial_utf8(raw: bytes | None) -> bool:
    try:
        (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_invalid_utf8_becomes_replacement_like_openai_harmony(codec) -> None:
    # openai-harmony's test_streamable_parser_invalid_utf8_decoding: [9552, 9552] then "worked".
    ids = [st.START] + codec.encode_ordinary("assistant") + [st.MESSAGE, 9552, 9552] + codec.encode_ordinary("worked")
    assert parse_messages(codec, ids + [st.END])[0].text == " \ufffd \ufffdworked"


def test_event_sequence_for_analysis_then_tool_call(codec) -> None:
    ids = (codec.encode_ordinary("") + [st.CHANNEL] + codec.encode_ordinary("analysis") + [st.MESSAGE]
           + codec.encode_ordinary("Need weather.") + [st.END, st.START] + codec.encode_ordinary("assistant")
           + [st.CHANNEL] + codec.encode_ordinary("commentary to=functions.get_weather") + codec.encode_ordinary(" ")
           + [st.CONSTRAIN] + codec.encode_ordinary("json") + [st.MESSAGE] + codec.encode_ordinary('{"city":"Oslo"}')
           + [st.CALL])
    events = StreamingParser(codec).feed_many(ids)
    kinds = [type(e).__name__ for e in events if not isinstance(e, TextDelta)]
    assert kinds == ["MessageStarted", "MessageEnded", "MessageStarted", "MessageEnded", "ToolCallCompleted",
                     "TurnEnded"]
    second = [e for e in events if isinstance(e, MessageStarted)][1]
    assert (second.channel, second.recipient, second.content_type) == \
        ("commentary", "functions.get_weather", "<|constrain|>json")
    call = next(e for e in events if isinstance(e, ToolCallCompleted))
    assert (call.recipient, call.arguments) == ("functions.get_weather", '{"city":"Oslo"}')
    assert events[-1] == TurnEnded(TurnEnd.CALL)
    assert "".join(e.text for e in events if isinstance(e, TextDelta) and e.channel == "analysis") == "Need weather."


def _ids(codec, *pieces) -> list[int]:
    """Pieces are text (encoded as plain text) or ints (control token ids)."""
    out: list[int] = []
    for piece in pieces:
        out += [piece] if isinstance(piece, int) else codec.encode_ordinary(piece)
    return out


def test_missing_message_token_keeps_the_text(codec) -> None:
    ids = _ids(codec, "I must refuse", st.END, st.START, "assistant", st.CHANNEL, "final", st.MESSAGE,
               "Sorry.", st.RETURN)
    parsed = parse_parsed_messages(codec, ids, role=Role.ASSISTANT)
    assert [p.message.text for p in parsed] == ["I must refuse", "Sorry."]
    assert parsed[0].malformed and not parsed[1].malformed
    assert parsed[1].message.channel == "final"


def test_missing_message_token_with_channel_keeps_channel(codec) -> None:
    ids = _ids(codec, st.CHANNEL, "analysis I must refuse", st.END)
    parsed = parse_parsed_messages(codec, ids, role=Role.ASSISTANT)
    assert (parsed[0].message.channel, parsed[0].message.text) == ("analysis", "I must refuse")


def test_unknown_channel_is_kept_and_flagged(codec) -> None:
    ids = _ids(codec, st.CHANNEL, "thoughts", st.MESSAGE, "hmm", st.END)
    parsed = parse_parsed_messages(codec, ids, role=Role.ASSISTANT)
    assert parsed[0].message.channel == "thoughts" and parsed[0].message.text == "hmm"
    assert any("unknown channel" in p for p in parsed[0].problems)


def test_stray_control_tokens_in_content_are_dropped(codec) -> None:
    ids = _ids(codec, st.CHANNEL, "final", st.MESSAGE, "a", st.MESSAGE, "b", st.CONSTRAIN, "c", 200014, "d",
               st.RETURN)
    parsed = parse_parsed_messages(codec, ids, role=Role.ASSISTANT)
    assert parsed[0].message.text == "abcd" and parsed[0].malformed


def test_text_after_end_becomes_its_own_flagged_message(codec) -> None:
    ids = _ids(codec, st.CHANNEL, "final", st.MESSAGE, "Answer.", st.END, " And more text", st.RETURN)
    parsed = parse_parsed_messages(codec, ids, role=Role.ASSISTANT)
    assert [p.message.text for p in parsed] == ["Answer.", "And more text"]
    assert parsed[1].malformed and parsed[1].message.role is Role.ASSISTANT


def test_forgotten_end_before_next_header(codec) -> None:
    ids = _ids(codec, st.CHANNEL, "analysis", st.MESSAGE, "think", st.CHANNEL, "final", st.MESSAGE, "done",
               st.RETURN)
    parsed = parse_parsed_messages(codec, ids, role=Role.ASSISTANT)
    assert [(p.message.channel, p.message.text) for p in parsed] == [("analysis", "think"), ("final", "done")]
    assert parsed[0].problems == ("<|channel|> came before <|end|>",)
    assert parsed[1].problems == ("missing <|start|> before the message",)
    assert parsed[1].end_token == st.RETURN


def test_truncation_returns_the_partial_message(codec) -> None:
    ids = _ids(codec, st.CHANNEL, "final", st.MESSAGE, "The answer is") + [9552]  # ends inside an emoji
    parser = StreamingParser(codec)
    deltas = [e.text for e in parser.feed_many(ids) if isinstance(e, TextDelta)]
    tail = parser.finish()
    ended = [e for e in tail if isinstance(e, MessageEnded)]
    assert ended and ended[0].parsed.message.text == "The answer is \ufffd"
    assert ended[0].parsed.end_token is None and ended[0].parsed.malformed
    assert "".join(deltas) + "".join(e.text for e in tail if isinstance(e, TextDelta)) == "The answer is \ufffd"
    assert parser.turn_end is None


def test_header_that_never_ends_streams_as_text(codec) -> None:
    words = " ".join(["word"] * 100)
    parser = StreamingParser(codec, max_header_tokens=16)
    events = parser.feed_many(codec.encode_ordinary(words))
    assert any(isinstance(e, MessageStarted) and e.malformed for e in events)
    events += parser.finish()
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == words


def test_unknown_token_ids_do_not_raise(codec) -> None:
    ids = _ids(codec, st.CHANNEL, "final", st.MESSAGE, "x") + [10**9, -5] + _ids(codec, "y", st.RETURN)
    parsed = parse_parsed_messages(codec, ids, role=Role.ASSISTANT)
    assert parsed[0].message.text == "x\ufffd\ufffdy" and parsed[0].malformed


def test_constrained_final_answer_is_not_a_tool_call(codec) -> None:
    ids = _ids(codec, st.CHANNEL, "final ", st.CONSTRAIN, "json", st.MESSAGE, '{"ok":true}', st.RETURN)
    parsed = parse_parsed_messages(codec, ids, role=Role.ASSISTANT)[0]
    assert (parsed.message.recipient, parsed.message.content_type) == (None, "<|constrain|>json")
    assert not parsed.is_tool_call and not parsed.malformed


def test_named_author_round_trips(codec) -> None:
    message = Message(Role.USER, Message.user("hi").content, name="alice")
    assert parse_messages(codec, render_message(codec, message)) == [message]


def test_stray_return_between_messages_still_ends_the_turn(codec) -> None:
    parser = StreamingParser(codec)
    events = parser.feed_many(_ids(codec, st.CHANNEL, "final", st.MESSAGE, "Hi.", st.END, st.RETURN))
    assert events[-1] == TurnEnded(TurnEnd.RETURN) and not parser.messages[0].malformed


def test_endoftext_ends_the_turn_and_is_flagged(codec) -> None:
    parser = StreamingParser(codec)
    events = parser.feed_many(_ids(codec, st.CHANNEL, "final", st.MESSAGE, "Hi.", st.ENDOFTEXT))
    assert parser.turn_end is TurnEnd.END_OF_TEXT and events[-1] == TurnEnded(TurnEnd.END_OF_TEXT)
    assert parser.messages[0].message.text == "Hi." and parser.messages[0].malformed


def test_text_without_a_header_streams_from_its_first_tokens(codec) -> None:
    """A model that skips the header (a random-weight one, or a real one going astray) is shown at once, not
    after `max_header_tokens` (64 tokens: ~13 s of a blank reply at 20b widths on a CPU)."""
    ids = codec.encode_ordinary("Hello, world! This reply has no header at all, and it goes on for a while.")
    parser = StreamingParser(codec)
    shown_after = [any(isinstance(e, TextDelta) for e in parser.feed(token)) for token in ids]
    assert shown_after.index(True) <= 1  # "Hello" then "," — the comma cannot be part of a header
    events = parser.finish()
    parsed = parser.messages[0]
    assert parsed.message.text == "Hello, world! This reply has no header at all, and it goes on for a while."
    assert parsed.malformed and parsed.message.role is Role.ASSISTANT and any(isinstance(e, MessageEnded) for e in events)


def test_a_run_of_plain_words_is_not_taken_for_a_header_for_long(codec) -> None:
    words = " ".join(["word"] * 30)
    parser = StreamingParser(codec)  # the default max_header_tokens (64)
    shown_after = [any(isinstance(e, TextDelta) for e in parser.feed(token)) for token in codec.encode_ordinary(words)]
    assert shown_after.index(True) <= 9  # more words than a header has
    parser.finish()
    assert parser.messages[0].message.text == words


def test_headers_that_openai_harmony_writes_are_never_cut_short(codec) -> None:
    """Every header shape of the format (recipient before or after the channel, constrained content types,
    named authors, a tool answering) still reaches <|message|> intact."""
    headers = ["<|channel|>analysis", "<|channel|>final", " to=functions.get_current_weather<|channel|>commentary"
               " <|constrain|>json", "<|channel|>commentary to=functions.lookup_order <|constrain|>json",
               "<|channel|>analysis to=python code", " to=browser.search<|channel|>analysis"]
    for header in headers:
        ids = _ids(codec, *_split_specials(header), st.MESSAGE, "body", st.END)
        parsed = parse_parsed_messages(codec, ids, role=Role.ASSISTANT)
        assert len(parsed) == 1 and not parsed[0].malformed and parsed[0].message.text == "body", header
    for author in ("functions.get_current_weather to=assistant", "user:alice", "assistant"):
        ids = [st.START] + _ids(codec, *_split_specials(author + "<|channel|>commentary"), st.MESSAGE, "x", st.END)
        parsed = parse_parsed_messages(codec, ids, role=None)
        assert len(parsed) == 1 and parsed[0].message.text == "x", author


def _split_specials(text: str) -> list:
    """"a<|channel|>b" -> ["a", CHANNEL, "b"] for _ids."""
    out: list = []
    for part in re.split(r"(<\|channel\|>|<\|constrain\|>)", text):
        if part == st.CHANNEL_TOKEN:
            out.append(st.CHANNEL)
        elif part == st.CONSTRAIN_TOKEN:
            out.append(st.CONSTRAIN)
        elif part:
            out.append(part)
    return out
