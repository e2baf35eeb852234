"""UI-side view models: what the chat view shows, kept by ChatController on the UI thread.

These are deliberately separate from app.storage's records: the view needs transient state (a reply that is
still streaming, how long the model has been thinking) that does not belong in the database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class MessageState(enum.Enum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    STOPPED = "stopped"
    ERROR = "error"
    INTERRUPTED = "interrupted"


@dataclass
class ChatMessage:
    role: str  # "user" | "assistant"
    text: str = ""
    reasoning: str = ""
    state: MessageState = MessageState.COMPLETE
    message_id: int | None = None  # database id once stored
    thought_seconds: float | None = None
    error: str | None = None
    stats: dict[str, object] = field(default_factory=dict)
    citations: list[dict[str, object]] = field(default_factory=list)


@dataclass
class ConversationSummary:
    conversation_id: int
    title: str
    updated: float = 0.0
