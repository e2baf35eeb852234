"""The plain dataclasses that go in and out of HistoryStore (safe to pass through queued Qt signals).

Decrypted text lives only in these objects, never on disk. A row whose ciphertext fails authentication is
still returned, with empty text and `decrypt_error` set, so one damaged message never hides the rest of a
conversation; the strict single-item getters raise TamperedDataError instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from app.engine.chat_request import REASONING_EFFORTS  # noqa: F401 - one definition, named here for the store


class Role(enum.Enum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


class MessageStatus(enum.Enum):
    COMPLETE = "complete"
    STREAMING = "streaming"  # being written right now; only ever true while the app runs
    STOPPED = "stopped"  # the user pressed Stop; partial text kept
    ERROR = "error"  # generation failed; see Message.error
    INTERRUPTED = "interrupted"  # found "streaming" at open: the app was killed mid-reply; partial text kept


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created: float  # seconds since the epoch (UTC)
    updated: float
    system_prompt: str = ""
    reasoning_effort: str = "medium"
    sampling: dict[str, object] = field(default_factory=dict)  # ChatSettings.sampling_json() of app.engine
    model_id: str | None = None
    decrypt_error: str | None = None


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    position: int  # 0, 1, 2 ... within the conversation; the history is one linear list
    role: Role
    content: str  # final-channel text
    reasoning: str  # analysis-channel text
    status: MessageStatus
    created: float
    updated: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    timings: dict[str, object] = field(default_factory=dict)  # ttft_s, decode_tok_s, seconds, ...
    error: str | None = None  # why generation failed (status ERROR)
    decrypt_error: str | None = None
    version: int = 1  # a reply: which of its versions this is (Regenerate keeps the earlier ones)
    versions: int = 1  # a reply: how many versions it has


@dataclass(frozen=True)
class Attachment:
    id: int
    conversation_id: int
    message_id: int | None  # the user message it was sent with, if any
    file_name: str
    mime: str
    size: int  # bytes of the original file
    created: float
    text: str | None = None  # extracted text; None when not loaded (list_attachments without text)
    metadata: dict[str, object] = field(default_factory=dict)
    has_data: bool = False  # whether the original bytes are stored (get_attachment_data)
    decrypt_error: str | None = None


@dataclass(frozen=True)
class SearchHit:
    """One conversation matching a search; `message_id` is None when only the title matched."""

    conversation_id: int
    title: str
    message_id: int | None
    snippet: str
    matches: int  # how many of the conversation's title and messages matched
