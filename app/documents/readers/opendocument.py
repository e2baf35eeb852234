"""OpenDocument text (.odt) with odfpy, which parses its XML through defusedxml.sax.

Walks the body in order: headings (text:h with their outline level) open sections, paragraphs and list items
become text, tables become Markdown.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax import SAXException

from odf import teletype
from odf.namespaces import TABLENS, TEXTNS
from odf.opendocument import load
from odf.table import TableRow

from app.documents.model import DocumentLimits, ErrorKind, ExtractionError, ProgressFn
from app.documents.readers.base import CharBudget, ReaderResult, limit_warnings
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


def _walk(node, outline: OutlineBuilder, in_list: bool = False) -> None:
    for child in node.childNodes:
        if outline.full:
            return
        qname = getattr(child, "qname", None)
        if qname == (TEXTNS, "h"):
            level = int(child.getAttribute("outlinelevel") or 1)
            outline.heading(level, teletype.extractText(child))
        elif qname == (TEXTNS, "p"):
            text = teletype.extractText(child)
            outline.block(("- " if in_list else "") + text)
        elif qname == (TABLENS, "table"):
            outline.block(markdown_table(_table_rows(child)))
        elif qname in _CONTAINERS:
            _walk(child, outline, in_list or qname[1] == "list")


def read_odt(path: Path, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    try:
        document = load(str(path))
    except (KeyError, ValueError, zipfile.BadZipFile, SAXException) as exc:
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is damaged or not an OpenDocument text ({exc}).")
    budget = CharBudget(limits.max_chars)
    outline = OutlineBuilder(budget)
    _walk(document.text, outline)
    progress(1, 1)
    warnings = limit_warnings(budget.exhausted)
    return ReaderResult(outline.sections(), warnings=warnings, truncated=budget.exhausted)

