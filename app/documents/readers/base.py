"""What every reader returns, and the character budget that stops a huge sheet or text file early."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from app.documents.model import DocumentLimits, ProgressFn, Section


@dataclass
class ReaderResult:
    sections: list[Section]
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False
    language: str | None = None


class Reader(Protocol):
    def __call__(self, path: Path, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult: ...


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
