"""Word (.docx) with python-docx: paragraphs and tables in body order, split into heading sections.

DOCX has no pages until Word lays it out, so sections follow the headings. Page numbers are still worth having
for citations: Word records where each page began at its last save (w:lastRenderedPageBreak), other writers
leave explicit page breaks, and docProps/app.xml (read through defusedxml) holds the saved page count. A heading
section's `number` is the page it starts on when the file has such marks, else None.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from typing import Any

import docx
from defusedxml import ElementTree
from docx.table import Table

from app.documents.model import DocumentLimits, ErrorKind, ExtractionError, ProgressFn
from app.documents.readers.base import CharBudget, ReaderResult, Source, limit_warnings
from app.documents.readers.outline import OutlineBuilder
from app.documents.tables import markdown_table

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING = re.compile(r"^(?:heading|überschrift|titre|título|titolo|kop)\s*(\d)$", re.IGNORECASE)


def saved_page_count(source: Source) -> int | None:
    """<Pages> from docProps/app.xml, which Word and LibreOffice write on save; None if absent."""
    with zipfile.ZipFile(source.open()) as archive:
        try:
            data = archive.read("docProps/app.xml")
        except KeyError:
            return None
    root = ElementTree.fromstring(data)
    for element in root:
        if element.tag.endswith("}Pages") and (element.text or "").strip().isdigit():
            return int(element.text.strip())
    return None


def page_break_counter(body: Any) -> Callable[[Any], int] | None:
    """Counts page starts inside an element: Word's rendered-page marks when the file has any (they include the
    pages explicit breaks start, so the two are never added), else explicit page breaks; None without either."""
    if next(body.iter(_W + "lastRenderedPageBreak"), None) is not None:
        return lambda element: sum(1 for _ in element.iter(_W + "lastRenderedPageBreak"))
    if any(br.get(_W + "type") == "page" for br in body.iter(_W + "br")):
        return lambda element: sum(1 for br in element.iter(_W + "br") if br.get(_W + "type") == "page")
    return None


def _heading_level(style_name: str) -> int | None:
    if style_name == "Title":
        return 1
    match = _HEADING.match(style_name)
    return int(match.group(1)) if match else None


def _table_rows(table: Table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            # python-docx repeats a merged cell once per grid column; keep it once.
            cells.append("" if cell._tc is previous else cell.text)
            previous = cell._tc
        rows.append(cells)
    return rows


def read_docx(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    try:
        document = docx.Document(source.open())
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is damaged or not a Word document ({exc}).")
    body = document.element.body
    count_breaks = page_break_counter(body)
    pages = saved_page_count(source)
    if count_breaks is not None:
        pages = max(pages or 0, 1 + count_breaks(body))
    if pages is not None and pages > limits.max_pages:
        raise ExtractionError(ErrorKind.TOO_MANY_PAGES, f"{name} has {pages:,} pages, more than the limit of "
                                                        f"{limits.max_pages:,}.")
    page = 1 if count_breaks is not None else None
    budget = CharBudget(limits.max_chars)
    outline = OutlineBuilder(budget, first_page=page)
    # Style names by id, looked up once: python-docx's paragraph.style rescans every style for each paragraph
    # that uses the default style, which made a 200-page document take seconds.
    names = {style.style_id: style.name or "" for style in document.styles}
    for item in document.iter_inner_content():
        if outline.full:
            break
        if count_breaks is not None:
            page += count_breaks(item._element)
        if isinstance(item, Table):
            outline.block(markdown_table(_table_rows(item)))
            continue
        style = names.get(item._p.style or "", "")
        level = _heading_level(style)
        if level is not None:
            outline.heading(level, item.text, page)
        else:
            outline.block(("- " if style.startswith("List") else "") + item.text)
    sections = outline.sections()
    progress(1, 1)
    warnings = limit_warnings(budget.exhausted)
    return ReaderResult(sections, pages=pages, warnings=warnings, truncated=budget.exhausted)
