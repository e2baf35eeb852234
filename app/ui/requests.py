"""The conversion the window asks the engine thread for: plain data, safe to pass between threads.

Cancellation is a `threading.Event` carried inside the request: the engine thread's event loop is busy while
it converts, so a queued "cancel" would only arrive after the conversion had finished. Setting an Event from
the UI thread is thread-safe and the exporter checks it between tensors. (A reply is an
app.engine.assistant.ChatRequest, cancelled the same way.)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ExportRequest:
    source: Path
    output: Path
    target: str
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)
