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
        return self.charge(len(text))

    def fit(self, text: str) -> str:
        """Charges and returns as much of `text` as still fits, cut at its last line break inside the room when
        it has one (a table keeps whole rows); "" when nothing fits. Marks the budget exhausted when it cuts."""
        if self.take(text):
            return text
        room = self.left
        cut = text.rfind("\n", 0, room + 1)
        kept = text[:cut] if cut > 0 else text[:room]
        self.left -= len(kept)
        self.exhausted = True
        return kept

    def charge(self, count: int) -> bool:
        """Charges `count` characters (for text not built yet); False once they no longer fit."""
        if count > self.left:
            self.exhausted = True
            return False
        self.left -= count
        return True


def limit_warnings(truncated: bool) -> list[str]:
    """The warning every reader adds when DocumentLimits.max_chars cut the document short."""
    return ["The text limit was reached; the rest of the document was left out."] if truncated else []
