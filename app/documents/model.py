"""What extraction produces and the limits it runs under.

These dataclasses cross a process boundary (the sandbox pickles them back to the app) and are stored next to
the conversation, so they hold plain values only. A `Section` is the unit a citation points at: a PDF page, a
Word heading, a spreadsheet sheet (or a block of its rows), a slide, or a plain-text file.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

SectionKind = Literal["page", "heading", "sheet", "slide", "text"]


@dataclass(frozen=True)
class Section:
    """One citable piece of a document.

    `label` is what a human reads in a citation ("p. 12", "2.3 Termination", "Budget rows 1-100", "slide 4").
    `number` is the 1-based page or slide number when the format has one, so a viewer can jump to it.
    """

    kind: SectionKind
    label: str
    text: str
    number: int | None = None


@dataclass(frozen=True)
class DocumentMetadata:
    size_bytes: int
    chars: int
    pages: int | None = None  # PDF pages, slides, sheets; None where the format has no pages (DOCX, TXT)
    language: str | None = None  # source-code language, from the extension
    truncated: bool = False  # True when the text hit DocumentLimits.max_chars and the rest was left out


@dataclass(frozen=True)
class Document:
    name: str  # file name only, never the full path (the path may name a user's private folders)
    type: str  # "pdf", "docx", "xlsx", "pptx", "odt", "txt", "markdown", "html", "csv", "json", "code", "eml"
    sections: tuple[Section, ...]
    metadata: DocumentMetadata
    warnings: tuple[str, ...] = ()  # e.g. "pages 3 and 7 are images only (no text layer)"

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values; `from_dict` inverts it (the sandbox sends documents as JSON, not pickle)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(name=data["name"], type=data["type"],
                   sections=tuple(Section(**s) for s in data["sections"]),
                   metadata=DocumentMetadata(**data["metadata"]), warnings=tuple(data.get("warnings", ())))


@dataclass(frozen=True)
class DocumentLimits:
    """Safety limits for reading one untrusted file; the UI exposes them as settings.

    Defaults fit an 8 GB laptop: a 1 GiB parser process, a minute per file, 2000 pages, 100 MB files. Archive
    limits apply to the zip container of DOCX/XLSX/PPTX/ODT and are checked before anything is inflated.
    """

    max_file_bytes: int = 100 * 1024 * 1024
    max_pages: int = 2000
    timeout_s: float = 60.0
    memory_mb: int = 1024
    max_chars: int = 20_000_000  # extracted text; beyond this the rest is cut and the document marked truncated
    max_archive_members: int = 10_000
    max_archive_bytes: int = 512 * 1024 * 1024  # sum of the declared uncompressed sizes
    max_compression_ratio: float = 200.0  # per member larger than 1 MiB uncompressed

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_pages", "memory_mb", "max_chars", "max_archive_members",
                     "max_archive_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"DocumentLimits.{name} must be positive, got {getattr(self, name)}")
        if self.timeout_s <= 0 or self.max_compression_ratio <= 1:
            raise ValueError(f"DocumentLimits: timeout_s must be > 0 and max_compression_ratio > 1, got "
                             f"{self.timeout_s} and {self.max_compression_ratio}")


class ErrorKind(enum.Enum):
    """Why a file could not be read; the UI can pick an icon or offer a fix (e.g. raise a limit) from it."""

    MISSING = "missing"
    UNREADABLE = "unreadable"
    TOO_LARGE = "too_large"
    TOO_MANY_PAGES = "too_many_pages"
    UNSUPPORTED = "unsupported"
    NOT_TEXT = "not_text"
    ENCRYPTED = "encrypted"
    CORRUPT = "corrupt"
    ARCHIVE_BOMB = "archive_bomb"
    NO_TEXT_LAYER = "no_text_layer"
    EMPTY = "empty"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASHED = "crashed"
    CANCELLED = "cancelled"


class ExtractionError(Exception):
    """A file could not be read. `user_message` is one sentence for the chip or the terminal."""

    def __init__(self, kind: ErrorKind, user_message: str) -> None:
        super().__init__(kind, user_message)
        self.kind = kind
        self.user_message = user_message

    def __str__(self) -> str:
        return self.user_message


ProgressFn = Callable[[int, int], None]
"""Called as progress(done, total) by extractors, per page/slide/sheet; the sandbox forwards it to the caller."""


def no_progress(done: int, total: int) -> None:
    """Default progress callback, so extractors never need a None check."""
