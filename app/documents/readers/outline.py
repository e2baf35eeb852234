"""Builds heading sections for formats without pages (DOCX, ODT, Markdown, HTML, e-mail bodies).

A section runs from one heading to the next and starts with the heading as a Markdown "#" line, so the model
sees the structure and a citation can name the heading. A heading directly followed by a sub-heading is folded
into it rather than left as an empty section.
"""

from __future__ import annotations

from app.documents.model import Section
from app.documents.readers.base import CharBudget

PREAMBLE_LABEL = "beginning"  # text before the first heading


class OutlineBuilder:
    def __init__(self, budget: CharBudget, first_page: int | None = None) -> None:
        self._budget = budget
        self._number = first_page  # page where the current section starts, when the format knows pages
        self._sections: list[Section] = []
        self._label = PREAMBLE_LABEL
        self._headed = False
        self._lines: list[str] = []
        self._has_body = False

    @property
    def full(self) -> bool:
        return self._budget.exhausted

    def heading(self, level: int, text: str, page: int | None = None) -> None:
        text = " ".join(text.split())
        if not text or not self._budget.take(text):
            return
        if self._has_body:
            self._flush()
        if not self._lines:
            self._number = page
        self._lines.append("#" * max(1, min(level, 6)) + " " + text)
        self._label = text
        self._headed = True

    def block(self, text: str) -> None:
        text = text.strip("\n")
        if not text.strip() or self._budget.exhausted:
            return
        text = self._budget.fit(text)  # the part of a huge table or paragraph that still fits
        if not text.strip():
            return
        self._lines.append(text)
        self._has_body = True

    def _flush(self) -> None:
        if self._lines:
            kind = "heading" if self._headed else "text"
            self._sections.append(Section(kind, self._label, "\n\n".join(self._lines), self._number))
        self._lines, self._has_body = [], False

    def sections(self) -> list[Section]:
        self._flush()
        return self._sections
