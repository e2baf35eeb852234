"""PowerPoint (.pptx) with python-pptx: one section per slide (title, text boxes, tables, speaker notes).

Shapes are read top-to-bottom, left-to-right, which is the order people read a slide in; the order in the
file is the order they were drawn.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator

import pptx
from pptx.enum.shapes import MSO_SHAPE_TYPE

from app.documents.model import DocumentLimits, ErrorKind, ExtractionError, ProgressFn, Section
from app.documents.readers.base import CharBudget, ReaderResult, Source, limit_warnings
from app.documents.tables import markdown_table


def _shapes_in_reading_order(shapes: Iterable) -> Iterator:
    for shape in sorted(shapes, key=lambda s: ((s.top or 0), (s.left or 0))):
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes_in_reading_order(shape.shapes)
        else:
            yield shape


def _slide_text(slide) -> str:
    parts = []
    title_shape = slide.shapes.title
    if title_shape is not None and title_shape.text_frame.text.strip():
        parts.append("## " + " ".join(title_shape.text_frame.text.split()))
    for shape in _shapes_in_reading_order(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if shape.has_table:
            rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
            parts.append(markdown_table(rows))
        elif shape.has_text_frame and shape.text_frame.text.strip():
            parts.append(shape.text_frame.text.strip())
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            parts.append("Speaker notes: " + notes.text.strip())
    return "\n\n".join(parts)


def read_pptx(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    try:
        presentation = pptx.Presentation(source.open())
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is damaged or not a PowerPoint file ({exc}).")
    slides = list(presentation.slides)
    if len(slides) > limits.max_pages:
        raise ExtractionError(ErrorKind.TOO_MANY_PAGES, f"{name} has {len(slides):,} slides, more than the "
                                                        f"limit of {limits.max_pages:,}.")
    budget = CharBudget(limits.max_chars)
    sections = []
    for number, slide in enumerate(slides, start=1):
        text = budget.fit(_slide_text(slide))
        if budget.exhausted and not text:
            break
        if text:
            sections.append(Section("slide", f"slide {number}", text, number))
        progress(number, len(slides))
        if budget.exhausted:
            break
    warnings = limit_warnings(budget.exhausted)
    return ReaderResult(sections, pages=len(slides), warnings=warnings, truncated=budget.exhausted)
