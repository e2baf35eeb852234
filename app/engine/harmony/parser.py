"""Token ids -> harmony messages, one token at a time, without ever raising on what the model emits.

Well-formed output parses exactly as openai-harmony's `StreamableParser` (header rules ported from its
`parse_header_from_string`: channel after `<|channel|>`, `to=recipient`, content type such as
`<|constrain|>json`). Where openai-harmony would raise, we recover and mark the message `malformed`, because a
chat app must show the user whatever the model said:

- text with no `<|start|>`/`<|message|>` (header never closed): the header text becomes the content, like
  openai-harmony's non-strict mode; a header that cannot be one (`header_can_continue`: a character no
  header word has, such as a newline or a comma, or more words than a header holds) or that runs past
  `max_header_tokens` is treated the same way at once, so a model that forgot the header streams from its
  first tokens instead of after 64 of them;
- `<|start|>` or `<|channel|>` inside content (the model forgot `<|end|>`): the message ends and a new one begins;
- other stray control tokens are dropped; unknown ids become U+FFFD; an unknown channel is kept but flagged;
- end of input mid-message (max tokens): the partial message is returned, flagged as truncated.

Text deltas never split a UTF-8 character: bytes go through an incremental decoder that holds back an
unfinished character, and invalid bytes become U+FFFD exactly where openai-harmony puts them.
"""

from __future__ import annotations

import codecs
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from app.engine.harmony.codec import HarmonyCodec
from app.engine.harmony.conversation import DEFAULT_CHANNELS, Message, Role, TextContent
from app.tokenizer import special_tokens as st

# Rust's `char::is_whitespace` (Unicode White_Space), used by openai-harmony's `trim()` and channel scan.
_RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# Rust's `split_ascii_whitespace` (no \x0b).
_ASCII_WHITESPACE = re.compile("[ \t\n\x0c\r]+")
_CHANNEL_END = re.compile(f"[{re.escape(_RUST_WHITESPACE)}<]")

_ROLES = {r.value: r for r in Role}
# What the words of a header are made of: roles, `name:alice`, `to=functions.get_weather`, channel names,
# content types (`json`, `<|constrain|>json`), as openai-harmony renders them. Header text with any other
# character (a newline, a comma, a quote, a non-ASCII letter) is the model writing without a header.
_HEADER_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.:=/-@+<|>")
# role, name, recipient, channel, content type, plus slack for a channel name with a space ("odd channel").
MAX_HEADER_WORDS = 8
# <|endoftext|> is not part of the harmony format, but gpt-oss's generation_config lists it as an EOS id.
_STOP_TOKENS = frozenset((st.END, st.RETURN, st.CALL, st.ENDOFTEXT))


class TurnEnd(enum.Enum):
    """Why the assistant's turn ended: a final answer (<|return|>) or a tool call (<|call|>)."""

    RETURN = "return"
    CALL = "call"
    END_OF_TEXT = "endoftext"  # <|endoftext|>: outside the format, but an EOS id in gpt-oss's generation_config


_TURN_ENDS = {st.RETURN: TurnEnd.RETURN, st.CALL: TurnEnd.CALL, st.ENDOFTEXT: TurnEnd.END_OF_TEXT}


@dataclass(frozen=True)
class ParsedMessage:
    """A finished message, with what (if anything) was wrong with the tokens it came from."""

    message: Message
    problems: tuple[str, ...] = ()
    end_token: int | None = None  # <|end|>, <|return|> or <|call|>; None if the input stopped first

    @property
    def malformed(self) -> bool:
        return bool(self.problems)

    @property
    def is_tool_call(self) -> bool:
        """An assistant message addressed to a tool (e.g. `functions.get_weather`)."""
        return self.message.role is Role.ASSISTANT and self.message.recipient not in (None, "all")


@dataclass(frozen=True)
class MessageStarted:
    role: Role
    channel: str | None
    recipient: str | None
    content_type: str | None
    name: str | None = None
    malformed: bool = False


@dataclass(frozen=True)
class TextDelta:
    text: str
    channel: str | None
    recipient: str | None


@dataclass(frozen=True)
class MessageEnded:
    parsed: ParsedMessage


@dataclass(frozen=True)
class ToolCallCompleted:
    """An assistant message to a tool has ended: `arguments` is its full content (JSON for functions)."""

    recipient: str
    arguments: str
    channel: str | None
    content_type: str | None
    parsed: ParsedMessage


@dataclass(frozen=True)
class TurnEnded:
    reason: TurnEnd


ParserEvent = MessageStarted | TextDelta | MessageEnded | ToolCallCompleted | TurnEnded


@dataclass
class _Header:
    """The fields openai-harmony reads from a header, plus what was wrong with it."""

    role: Role
    name: str | None = None
    channel: str | None = None
    recipient: str | None = None
    content_type: str | None = None
    problems: list[str] = field(default_factory=list)


def _trim(text: str) -> str:
    return text.strip(_RUST_WHITESPACE)


def _cut_channel(text: str, problems: list[str]) -> tuple[str | None, str]:
    """Removes `<|channel|>NAME` from header text: (NAME or None, rest)."""
    idx = text.find(st.CHANNEL_TOKEN)
    if idx < 0:
        return None, text
    after = text[idx + len(st.CHANNEL_TOKEN):]
    match = _CHANNEL_END.search(after)
    end = match.start() if match else len(after)
    if end == 0:
        problems.append("<|channel|> is not followed by a channel name")
        return None, text[:idx] + after
    return after[:end], text[:idx] + after[end:]


def parse_header(text: str, role: Role | None) -> _Header:
    """openai-harmony's header rules; where it would raise, a best guess plus a problem note."""
    problems: list[str] = []
    channel, rest = _cut_channel(text, problems)
    rest = _trim(rest)
    if st.CONSTRAIN_TOKEN in rest:
        # "to=foo<|constrain|>json" (no space): make the content type its own word.
        rest = _trim(rest.replace(st.CONSTRAIN_TOKEN, f" {st.CONSTRAIN_TOKEN}"))
    parts = [p for p in _ASCII_WHITESPACE.split(rest) if p]
    role_word: str | None = None
    if role is None:
        if not parts:
            problems.append("the header names no role")
            role = Role.ASSISTANT
        else:
            role_word = parts[0]
            if role_word in _ROLES:
                role = _ROLES[role_word]
            elif len(parts) > 1 or role_word.startswith("to="):
                parts.pop(0)  # an unknown author with a recipient: a tool answering (e.g. functions.x to=assistant)
                role = Role.TOOL
            elif role_word.partition(":")[0] in _ROLES:
                # "user:alice", as we render named authors (openai-harmony cannot read these back).
                role_word, _, name = role_word.partition(":")
                parts.pop(0)
                return _finish_header(_Header(_ROLES[role_word], name=name, channel=channel, problems=problems), parts)
            else:
                problems.append(f"unknown role {role_word!r}")
                parts.pop(0)
                role = Role.ASSISTANT
    if parts and parts[0] == role.value:
        parts.pop(0)
    header = _Header(role=role, name=role_word if role is Role.TOOL else None, channel=channel, problems=problems)
    return _finish_header(header, parts)


def _finish_header(header: _Header, parts: list[str]) -> _Header:
    """Reads recipient and content type from the header's remaining words (openai-harmony's rules)."""
    if parts:
        count = len(parts)
        last = parts.pop()
        if last.startswith("to="):
            header.recipient = last[3:]
        elif count == 1 and not last.startswith(st.CONSTRAIN_TOKEN):
            header.recipient = last
        else:
            header.content_type = last
            if parts:
                raw = parts.pop()
                header.recipient = raw[3:] if raw.startswith("to=") else raw
        if parts:
            header.problems.append(f"unexpected text in the header: {' '.join(parts)!r}")
    return header


def header_can_continue(text: str) -> bool:
    """Whether `text` (a header's text so far) can still be the start of a harmony header."""
    return all(ch in _HEADER_CHARACTERS for ch in text) and len(text.split()) <= MAX_HEADER_WORDS


def salvage_header(text: str, role: Role | None) -> tuple[_Header, str]:
    """A header that never reached <|message|>: keep its channel and role, and return the rest as content."""
    problems = ["no <|message|> after the header"]
    channel, rest = _cut_channel(text, problems)
    rest = _trim(rest)
    words = rest.split(None, 1)
    if role is None:
        role = _ROLES.get(words[0], Role.ASSISTANT) if words else Role.ASSISTANT
    if words and words[0] == role.value:
        rest = words[1] if len(words) > 1 else ""
    return _Header(role=role, channel=channel, problems=problems), rest


class StreamingParser:
    """Feeds on token ids, yields events. `role` is the role of a message whose `<|start|>role` was in the prompt.

    For a completion sampled after `<|start|>assistant`, pass `role=Role.ASSISTANT` (the default); to parse a
    whole rendered conversation, pass `role=None`.
    """

    def __init__(
        self,
        codec: HarmonyCodec,
        role: Role | None = Role.ASSISTANT,
        valid_channels: Sequence[str] = DEFAULT_CHANNELS,
        max_header_tokens: int = 64,
    ) -> None:
        self._codec = codec
        self._valid_channels = frozenset(valid_channels)
        self._max_header_tokens = max_header_tokens
        self.messages: list[ParsedMessage] = []
        self.turn_end: TurnEnd | None = None
        # State: header tokens while in a header (None outside one); the open message while in content.
        self._header: list[int] | None = [] if role is not None else None
        self._header_role: Role | None = role
        self._header_problems: list[str] = []
        self._open: _Header | None = None
        self._text: list[str] = []
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    @property
    def in_message(self) -> bool:
        return self._open is not None

    @property
    def current_channel(self) -> str | None:
        return self._open.channel if self._open else None

    @property
    def current_text(self) -> str:
        return "".join(self._text)

    def feed(self, token: int) -> list[ParserEvent]:
        """Consumes one token id; returns what it completed (often one TextDelta, often nothing)."""
        events: list[ParserEvent] = []
        if self._open is not None:
            self._feed_content(token, events)
        elif self._header is not None:
            self._feed_header(token, events)
        else:
            self._feed_between(token, events)
        return events

    def feed_many(self, tokens: Iterable[int]) -> list[ParserEvent]:
        events: list[ParserEvent] = []
        for token in tokens:
            events += self.feed(token)
        return events

    def finish(self) -> list[ParserEvent]:
        """End of input (the model hit max tokens or was stopped): closes whatever is open."""
        events: list[ParserEvent] = []
        if self._open is not None:
            self._end_message(None, events, problem="the output stopped before the message ended")
        elif self._header and salvage_header(self._codec.decode(self._header), self._header_role)[1]:
            # Only a header with text in it is worth a message; a bare `<|start|>assistant` is not.
            self._salvage(events, problem="the output stopped inside a message header")
            self._end_message(None, events, problem=None)
        self._header = None
        return events

    # -- states -------------------------------------------------------------------------------------------

    def _feed_between(self, token: int, events: list[ParserEvent]) -> None:
        if token == st.START:
            self._begin_header(None)
        elif token in _STOP_TOKENS:
            self._note_turn_end(token, events)  # e.g. `<|end|><|return|>`: no text, but the turn is over
        else:
            # Text (or <|channel|>) with no <|start|>: the model skipped `<|start|>assistant`. Read it as a header.
            self._begin_header(Role.ASSISTANT, "missing <|start|> before the message")
            self._feed_header(token, events)

    def _feed_header(self, token: int, events: list[ParserEvent]) -> None:
        assert self._header is not None
        if token == st.MESSAGE:
            header = parse_header(self._codec.decode(self._header), self._header_role)
            header.problems[:0] = self._header_problems
            self._open_message(header, events)
        elif token == st.START:
            if self._header:
                self._salvage(events, problem="a new <|start|> came before <|message|>")
                self._end_message(None, events, problem=None)
            self._begin_header(None)
        elif token in _STOP_TOKENS:
            if self._header:
                self._salvage(events, problem=None)
                self._end_message(token, events, problem=None)
            else:
                self._header = None
                self._note_turn_end(token, events)
        elif self._codec.is_special(token) and token not in (st.CHANNEL, st.CONSTRAIN):
            self._header_problems.append(f"stray {self._codec.special_text(token)} in the header was dropped")
        else:
            self._header.append(token)
            if len(self._header) > self._max_header_tokens:
                self._salvage(events, problem=f"the header ran past {self._max_header_tokens} tokens")
            elif not header_can_continue(self._codec.decode(self._header)):
                self._salvage(events, problem="text that cannot be a header came before <|message|>")

    def _feed_content(self, token: int, events: list[ParserEvent]) -> None:
        assert self._open is not None
        if token in _STOP_TOKENS:
            self._end_message(token, events, problem=None)
        elif token in (st.START, st.CHANNEL):
            role = self._open.role
            self._end_message(None, events, problem=f"{self._codec.special_text(token)} came before <|end|>")
            if token == st.START:
                self._begin_header(None)
            else:
                self._begin_header(role, "missing <|start|> before the message")
                self._header.append(token)  # type: ignore[union-attr]
        elif self._codec.is_special(token):
            self._open.problems.append(f"stray {self._codec.special_text(token)} in the content was dropped")
        else:
            raw = self._codec.token_bytes(token)
            if raw is None:
                self._open.problems.append(f"unknown token id {token} became U+FFFD")
                self._emit_text(self._utf8.decode(b"", final=True) + "\ufffd", events)
                self._utf8.reset()
            else:
                self._emit_text(self._utf8.decode(raw), events)

    # -- helpers ------------------------------------------------------------------------------------------

    def _begin_header(self, role: Role | None, problem: str | None = None) -> None:
        self._header = []
        self._header_role = role
        self._header_problems = [problem] if problem else []

    def _open_message(self, header: _Header, events: list[ParserEvent]) -> None:
        if header.channel is not None and header.channel not in self._valid_channels:
            header.problems.append(f"unknown channel {header.channel!r}")
        if header.role is Role.ASSISTANT and header.channel is None:
            header.problems.append("assistant message without a channel")
        self._open = header
        self._header = None
        self._text = []
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        events.append(MessageStarted(header.role, header.channel, header.recipient, header.content_type,
                                     header.name, malformed=bool(header.problems)))

    def _salvage(self, events: list[ParserEvent], problem: str | None) -> None:
        """Turns the pending header into an open message whose content is the header's text."""
        assert self._header is not None
        header, text = salvage_header(self._codec.decode(self._header), self._header_role)
        header.problems[:0] = self._header_problems
        if problem:
            header.problems.append(problem)
        self._open_message(header, events)
        self._emit_text(text, events)

    def _emit_text(self, text: str, events: list[ParserEvent]) -> None:
        if text:
            assert self._open is not None
            self._text.append(text)
            events.append(TextDelta(text, self._open.channel, self._open.recipient))

    def _end_message(self, end_token: int | None, events: list[ParserEvent], problem: str | None) -> None:
        header = self._open
        assert header is not None
        self._emit_text(self._utf8.decode(b"", final=True), events)
        if problem:
            header.problems.append(problem)
        if end_token == st.CALL and header.recipient is None:
            header.problems.append("<|call|> ended a message that has no recipient")
        if end_token == st.ENDOFTEXT:
            header.problems.append("<|endoftext|> ended the message instead of <|end|> or <|return|>")
        message = Message(header.role, (TextContent("".join(self._text)),), name=header.name,
                          channel=header.channel, recipient=header.recipient, content_type=header.content_type)
        parsed = ParsedMessage(message, tuple(header.problems), end_token)
        self.messages.append(parsed)
        self._open = None
        self._text = []
        events.append(MessageEnded(parsed))
        if parsed.is_tool_call and end_token is not None:
            events.append(ToolCallCompleted(message.recipient or "", message.text, message.channel,
                                            message.content_type, parsed))
        self._note_turn_end(end_token, events)

    def _note_turn_end(self, end_token: int | None, events: list[ParserEvent]) -> None:
        if end_token in _TURN_ENDS:
            self.turn_end = _TURN_ENDS[end_token]
            events.append(TurnEnded(self.turn_end))


def parse_parsed_messages(codec: HarmonyCodec, tokens: Iterable[int], role: Role | None = None) -> list[ParsedMessage]:
    """All messages in `tokens` with their problem notes (the streaming parser, run to the end)."""
    parser = StreamingParser(codec, role=role)
    parser.feed_many(tokens)
    parser.finish()
    return parser.messages


def parse_messages(codec: HarmonyCodec, tokens: Iterable[int], role: Role | None = None) -> list[Message]:
    """openai-harmony's `parse_messages_from_completion_tokens`, minus the exceptions."""
    return [p.message for p in parse_parsed_messages(codec, tokens, role)]
