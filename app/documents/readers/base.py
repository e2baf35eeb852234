"""What every reader is given and returns, and the character budget that stops a huge sheet or text file early."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Protocol

from app.documents.model import DocumentLimits, ProgressFn, Section


@dataclass(frozen=True)
class Source:
    """The file's bytes, read once from a descriptor whose identity was checked (app/documents/extract.py).

    Readers parse these bytes and never open the path again: a path can be swapped for a link, a pipe or a
    bigger file between a check and a second open; the bytes cannot."""

    data: bytes

    def open(self) -> io.BytesIO:
        """A fresh stream over the bytes (each parser seeks on its own)."""
        return io.BytesIO(self.data)


@dataclass
class ReaderResult:
    sections: list[Section]
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False
    language: str | None = None


class Reader(Protocol):
    def __call__(self, source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult: ...


class CharBudget:
    """Counts extracted characters so readers stop at DocumentLimits.max_chars instead of filling memory."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.exhausted = False

    def take(self, text: str) -> bool:
        """Charges `text`; returns False (and marks the budget exhausted) once it no longer fits."""
        if len(text) > self.left:
            self.exhausted = True
            return False
        self.left -= len(text)
        return True


def limit_warnings(truncated: bool) -> list[str]:
    """The warning every reader adds when DocumentLimits.max_chars cut the document short."""
    return ["The text limit was reached; the rest of the document was left out."] if truncated else []
