"""OpenDocument text (.odt) with odfpy, which parses its XML through defusedxml.sax.

Walks the body in order: headings (text:h with their outline level) open sections, paragraphs and list items
become text, tables become Markdown. Page numbers come from the soft page breaks LibreOffice saves.
"""

from __future__ import annotations

import zipfile
from xml.sax import SAXException

from odf import teletype
from odf.namespaces import TABLENS, TEXTNS
from odf.opendocument import load
from odf.table import TableRow
from odf.text import SoftPageBreak

from app.documents.model import DocumentLimits, ErrorKind, ExtractionError, ProgressFn
from app.documents.readers.base import CharBudget, ReaderResult, Source, limit_warnings
from app.documents.readers.outline import OutlineBuilder
from app.documents.tables import markdown_table

_CONTAINERS = {(TEXTNS, "section"), (TEXTNS, "list"), (TEXTNS, "list-item"), (TEXTNS, "list-header")}


def _table_rows(table) -> list[list[str]]:
    rows = []
    for row in table.getElementsByType(TableRow):
        cells = []
        for cell in row.childNodes:
            if getattr(cell, "qname", None) == (TABLENS, "table-cell"):
                repeat = int(cell.getAttribute("numbercolumnsrepeated") or 1)
                text = "\n".join(teletype.extractText(p) for p in cell.childNodes if hasattr(p, "qname"))
                cells.extend([text] * min(repeat, 64))  # trailing empty cells are often "repeated 1000"
        rows.append(cells)
    return rows


class _Walker:
    """Walks the body in order. `page` follows LibreOffice's soft page breaks (written on save where its layout
    started a new page); it stays None for files without them, where pages are unknown."""

    def __init__(self, outline: OutlineBuilder, page: int | None) -> None:
        self.outline = outline
        self.page = page

    def _count_breaks(self, element) -> None:
        if self.page is not None:
            self.page += len(element.getElementsByType(SoftPageBreak))

    def walk(self, node, in_list: bool = False) -> None:
        for child in node.childNodes:
            if self.outline.full:
                return
            qname = getattr(child, "qname", None)
            if qname == (TEXTNS, "soft-page-break"):
                self.page = None if self.page is None else self.page + 1
            elif qname == (TEXTNS, "h"):
                self._count_breaks(child)
                level = int(child.getAttribute("outlinelevel") or 1)
                self.outline.heading(level, teletype.extractText(child), self.page)
            elif qname == (TEXTNS, "p"):
                self._count_breaks(child)
                self.outline.block(("- " if in_list else "") + teletype.extractText(child))
            elif qname == (TABLENS, "table"):
                self._count_breaks(child)
                self.outline.block(markdown_table(_table_rows(child)))
            elif qname in _CONTAINERS:
                self.walk(child, in_list or qname[1] == "list")


def read_odt(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    try:
        document = load(source.open())
    except (KeyError, ValueError, zipfile.BadZipFile, SAXException) as exc:
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is damaged or not an OpenDocument text ({exc}).")
    breaks = len(document.text.getElementsByType(SoftPageBreak))
    pages = breaks + 1 if breaks else None
    if pages is not None and pages > limits.max_pages:
        raise ExtractionError(ErrorKind.TOO_MANY_PAGES, f"{name} has {pages:,} pages, more than the limit of "
                                                        f"{limits.max_pages:,}.")
    budget = CharBudget(limits.max_chars)
    first_page = 1 if breaks else None
    walker = _Walker(OutlineBuilder(budget, first_page=first_page), first_page)
    walker.walk(document.text)
    progress(1, 1)
    warnings = limit_warnings(budget.exhausted)
    return ReaderResult(walker.outline.sections(), pages=pages, warnings=warnings, truncated=budget.exhausted)
