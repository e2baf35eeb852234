"""UI-side view models: what the chat view shows, kept by the controllers on the UI thread.

These are deliberately separate from app.storage's records: the view needs transient state (a reply that is
still streaming, how long the model has been thinking) that does not belong in the database. What a finished
reply keeps (its timings, why it ended, the passages it cites) is stored in the message's `timings` JSON;
`reply_timings` writes it and `message_from_record` reads it back, treating it as untrusted (a damaged or
foreign record loses the part that does not parse, never the message).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from app.documents.grounding import Citation
from app.engine.events import FinishReason
from app.storage.models import Message, MessageStatus


class MessageState(enum.Enum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    STOPPED = "stopped"
    ERROR = "error"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class ReplyStats:
    """Counters and rates of one reply, as the engine's last event reported them."""

    prompt_tokens: int = 0
    new_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens reused from the KV cache
    ttft_s: float | None = None
    decode_tok_s: float | None = None


@dataclass
class ChatMessage:
    role: str  # "user" | "assistant"
    text: str = ""
    reasoning: str = ""
    state: MessageState = MessageState.COMPLETE
    message_id: int | None = None  # database id once stored
    thought_seconds: float | None = None
    error: str | None = None
    finish_reason: FinishReason | None = None  # why a reply ended (a length limit is shown under it)
    citations: tuple[Citation, ...] = ()  # passages given to the model; [n] in the text is citations[n - 1]
    stats: ReplyStats = field(default_factory=ReplyStats)
    documents: tuple[str, ...] = ()  # a user's message: the documents attached when it was sent
    version: int = 1  # a reply: which of its versions (Regenerate keeps the earlier ones) this is
    versions: int = 1  # a reply: how many versions it has


@dataclass
class ConversationSummary:
    conversation_id: int
    title: str
    updated: float = 0.0
    snippet: str = ""  # while searching: the text around the first match


STATE_OF_STATUS = {
    MessageStatus.COMPLETE: MessageState.COMPLETE,
    MessageStatus.STREAMING: MessageState.STREAMING,
    MessageStatus.STOPPED: MessageState.STOPPED,
    MessageStatus.ERROR: MessageState.ERROR,
    MessageStatus.INTERRUPTED: MessageState.INTERRUPTED,
}


def reply_timings(message: ChatMessage) -> dict[str, object]:
    """What a finished reply keeps in the history besides its text."""
    stats = message.stats
    timings: dict[str, object] = {"cached_tokens": stats.cached_tokens,
                                  "finish_reason": message.finish_reason.value if message.finish_reason else None}
    measured = {"ttft_s": stats.ttft_s, "decode_tok_s": stats.decode_tok_s, "thought_seconds": message.thought_seconds}
    timings.update({name: value for name, value in measured.items() if value is not None})
    if message.citations:
        timings["citations"] = [c.to_json() for c in message.citations]
    return timings


def user_timings(documents: tuple[str, ...]) -> dict[str, object]:
    """What a user's message keeps besides its text: the names of the documents that went with it."""
    return {"documents": list(documents)} if documents else {}


def message_from_record(record: Message) -> ChatMessage:
    timings = record.timings if isinstance(record.timings, dict) else {}
    stored = timings.get("citations")
    citations = tuple(c for c in map(Citation.from_json, stored) if c is not None) if isinstance(stored, list) else ()
    names = timings.get("documents")
    documents = tuple(n for n in names if isinstance(n, str)) if isinstance(names, list) else ()
    return ChatMessage(
        role=record.role.value, text=record.content, reasoning=record.reasoning,
        state=STATE_OF_STATUS.get(record.status, MessageState.COMPLETE), message_id=record.id,
        thought_seconds=_number(timings.get("thought_seconds")), error=record.error or record.decrypt_error,
        finish_reason=_finish_reason(timings.get("finish_reason")), citations=citations,
        stats=ReplyStats(prompt_tokens=record.prompt_tokens or 0, new_tokens=record.completion_tokens or 0,
                         cached_tokens=int(_number(timings.get("cached_tokens")) or 0),
                         ttft_s=_number(timings.get("ttft_s")), decode_tok_s=_number(timings.get("decode_tok_s"))),
        documents=documents, version=record.version, versions=record.versions,
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _finish_reason(value: object) -> FinishReason | None:
    try:
        return FinishReason(value)
    except ValueError:
        return None  # a record from another version, or damaged: no note, the text still shows
