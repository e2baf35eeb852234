"""Requests the UI thread sends to its workers: plain data, safe to pass through queued signals.

Cancellation is a `threading.Event` carried inside the request: the engine worker's event loop is busy
while it generates, so a queued "stop" signal would only arrive after the reply had finished. Setting an
Event from the UI thread is thread-safe and is checked by the generator between tokens.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path

from app.storage.settings import SamplingDefaults as SamplingSettings  # one definition for settings and requests

_ids = itertools.count(1)


def next_request_id() -> int:
    return next(_ids)


@dataclass(frozen=True)
class HistoryTurn:
    """One earlier message of the conversation, as the engine needs it to rebuild the prompt."""

    role: str  # "user" | "assistant"
    text: str
    reasoning: str = ""


@dataclass(frozen=True)
class GenerateRequest:
    conversation_id: int
    history: tuple[HistoryTurn, ...]
    user_text: str
    system_prompt: str = ""
    reasoning_effort: str = "medium"
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    documents: tuple[object, ...] = ()  # extracted app.documents objects attached to the conversation
    request_id: int = field(default_factory=next_request_id)
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class ExportRequest:
    source: Path
    output: Path
    target: str
    request_id: int = field(default_factory=next_request_id)
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)
