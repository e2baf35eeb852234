"""The parser never raises: random token streams (control tokens anywhere, unknown ids) and truncated real output.

Seeded loops rather than hypothesis (not a dependency); together they run in a few seconds.
"""

from __future__ import annotations

import copy
import random

from app.engine.harmony import (
    Conversation,
    HarmonyFormatError,
    MessageEnded,
    MessageStarted,
    Role,
    StreamingParser,
    TextDelta,
    parse_parsed_messages,
    render_conversation,
)
from app.tokenizer import special_tokens as st

CONTROL = [st.START, st.END, st.MESSAGE, st.CHANNEL, st.CONSTRAIN, st.RETURN, st.CALL, st.ENDOFTEXT,
           st.STARTOFTEXT, 200014, 201087]


def _run_and_check(codec, ids: list[int], role: Role | None) -> None:
    """Feeds ids one by one; the deltas between a start and an end must add up to that message's text."""
    parser = StreamingParser(codec, role=role)
    events = []
    for token in ids:
        events += parser.feed(token)
    events += parser.finish()
    open_text: list[str] | None = None
    ended = 0
    for event in events:
        if isinstance(event, MessageStarted):
            assert open_text is None, "a message started inside another"
            open_text = []
        elif isinstance(event, TextDelta):
            assert open_text is not None, "text outside a message"
            open_text.append(event.text)
        elif isinstance(event, MessageEnded):
            assert open_text is not None
            assert "".join(open_text) == event.parsed.message.text
            open_text = None
            ended += 1
    assert open_text is None, "finish() left a message open"
    assert ended == len(parser.messages)


def test_random_token_streams_never_raise(codec) -> None:
    rng = random.Random(1234)
    words = [codec.encode_ordinary(w) for w in ("assistant", "analysis", "final", "commentary", " to=functions.f",
                                                  "json", " hello", "😊", "user", "functions.f")]
    for _ in range(600):
        ids: list[int] = []
        for _ in range(rng.randint(0, 60)):
            pick = rng.random()
            if pick < 0.3:
                ids.append(rng.choice(CONTROL))
            elif pick < 0.6:
                ids += rng.choice(words)
            elif pick < 0.95:
                ids.append(rng.randrange(0, st.NUM_MERGEABLE))
            else:
                ids.append(rng.choice([-1, st.VOCAB_SIZE, st.VOCAB_SIZE + 7, 2**31]))
        _run_and_check(codec, ids, rng.choice([Role.ASSISTANT, None]))


def test_truncated_real_output_never_raises_and_keeps_finished_messages(codec, harmony_cases) -> None:
    rng = random.Random(99)
    for case in harmony_cases[::5]:
        ids = render_conversation(codec, case.messages)
        full = parse_parsed_messages(codec, ids)
        for cut in sorted(rng.sample(range(len(ids) + 1), min(12, len(ids) + 1))):
            prefix = ids[:cut]
            _run_and_check(codec, prefix, None)
            parsed = parse_parsed_messages(codec, prefix)
            finished = [p for p in parsed if p.end_token is not None]
            assert [p.message for p in finished] == [p.message for p in full[:len(finished)]], (case.name, cut)
            assert all(p.malformed for p in parsed if p.end_token is None)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def test_mangled_conversation_json_fails_only_with_a_format_error(codec, harmony_cases) -> None:
    """Any part of a conversation replaced by a value of another JSON type: read and render either work or
    raise HarmonyFormatError (one sentence for the CLI), never a TypeError from deep inside."""
    rng = random.Random(5)
    junk = [None, 5, 2.5, True, "x", [], {}, [1, "a"], {"a": 1}]
    for case in harmony_cases[::7]:
        original = Conversation(case.messages).to_dict()
        paths = list(_paths(original))
        for _ in range(60):
            mangled = copy.deepcopy(original)
            path = rng.choice(paths[1:])
            target = mangled
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = rng.choice(junk)
            try:
                conversation = Conversation.from_dict(mangled)
                render_conversation(codec, conversation.messages)
            except HarmonyFormatError:
                pass
