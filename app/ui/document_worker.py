"""Reads dropped documents off the UI thread: each file in the sandbox process, one at a time.

Extraction can take seconds (a 300-page PDF) or hit a limit; neither may stall the window or the history
thread, so documents get their own worker. Token counts use the loaded model's own tokenizer.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from tokenizers import Tokenizer

from app.documents.model import Document, DocumentLimits, ExtractionError
from app.tokenizer.counting import count_tokens


class DocumentWorker(QObject):
    progress = Signal(int, int, int)  # ticket, done, total
    extracted = Signal(int, object, int)  # ticket, Document, token count (-1 when no tokenizer is loaded)
    failed = Signal(int, str)

    def __init__(self) -> None:
        super().__init__()
        self._tokenizer: Tokenizer | None = None

    @Slot(str)
    def use_tokenizer(self, path: str) -> None:
        try:
            self._tokenizer = Tokenizer.from_file(path)
        except Exception:  # noqa: BLE001 - token counts then show as estimates; nothing else depends on it
            self._tokenizer = None

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            return -1
        return count_tokens(self._tokenizer, text)

    @Slot(int, str, object, object)
    def extract(self, ticket: int, path: str, limits: DocumentLimits, cancel: threading.Event) -> None:
        from app.documents.sandbox import extract_document

        if cancel.is_set():
            return
        try:
            document: Document = extract_document(
                Path(path), limits, on_progress=lambda done, total: self.progress.emit(ticket, done, total),
                cancel=cancel)
        except ExtractionError as exc:
            self.failed.emit(ticket, exc.user_message)
            return
        except Exception as exc:  # noqa: BLE001 - a document must never take the app down
            self.failed.emit(ticket, f"{Path(path).name} could not be read: {exc}")
            return
        if not cancel.is_set():
            self.extracted.emit(ticket, document, self.count_tokens(document.text))
