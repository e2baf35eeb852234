"""What the documents thread owns: the loaded model's tokenizer, for the token count on each document's chip.

Extraction can take seconds (a 300-page PDF) or hit a limit; neither may stall the window or the history
thread, so documents get a thread of their own. Each file is read in the sandbox process, one at a time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from app.documents.model import Document, DocumentLimits, ErrorKind, ExtractionError
from app.tokenizer.counting import count_tokens
from app.ui.i18n import translate
from app.ui.worker import Report


@dataclass(frozen=True)
class Extracted:
    document: Document
    tokens: int  # -1 when no tokenizer is loaded


@dataclass(frozen=True)
class ReadFailure:
    """A file that could not be read: why (for a plain summary on its chip) and the reader's full sentence."""

    kind: ErrorKind
    message: str


@dataclass(frozen=True)
class ReadProgress:
    done: int
    total: int


class DocumentHost:
    def __init__(self) -> None:
        self._tokenizer: Tokenizer | None = None

    def use_tokenizer(self, path: str) -> None:
        try:
            self._tokenizer = Tokenizer.from_file(path)
        except Exception:  # noqa: BLE001 - token counts then show as estimates; nothing else depends on it
            self._tokenizer = None

    def extract(self, path: Path, limits: DocumentLimits, cancel: threading.Event,
                report: Report) -> Extracted | ReadFailure | None:
        """The document and its token count, or why it could not be read; None when `cancel` was set (the chip
        is gone)."""
        from app.documents.sandbox import extract_document

        if cancel.is_set():
            return None
        try:
            document = extract_document(path, limits, cancel=cancel, follow_picked_link=True,  # the user's pick
                                        on_progress=lambda done, total: report(ReadProgress(done, total)))
        except ExtractionError as exc:
            return ReadFailure(exc.kind, exc.user_message)
        except Exception as exc:  # noqa: BLE001 - a document must never take the app down
            return ReadFailure(ErrorKind.UNREADABLE, translate("Documents", "{name} could not be read: {reason}").format(
                name=path.name, reason=exc))
        if cancel.is_set():
            return None
        return Extracted(document, -1 if self._tokenizer is None else count_tokens(self._tokenizer, document.text))
