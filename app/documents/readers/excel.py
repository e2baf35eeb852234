"""Excel (.xlsx) with openpyxl in read-only mode (streams rows; uses defusedxml when installed, and it is).

Every sheet becomes Markdown table sections labelled with the sheet name. Formulas show their last value saved
by Excel (data_only), which is what the user saw on screen.
"""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl

from app.documents.model import DocumentLimits, ErrorKind, ExtractionError, ProgressFn, Section
from app.documents.readers.base import CharBudget, ReaderResult, Source, limit_warnings
from app.documents.tables import table_sections


def _value(value: object) -> object:
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def read_xlsx(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    try:
        workbook = openpyxl.load_workbook(source.open(), read_only=True, data_only=True)
    except (KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is damaged or not an Excel workbook ({exc}).")
    try:
        sheets = workbook.worksheets
        if len(sheets) > limits.max_pages:
            raise ExtractionError(ErrorKind.TOO_MANY_PAGES, f"{name} has {len(sheets):,} sheets, more than the "
                                                            f"limit of {limits.max_pages:,}.")
        budget = CharBudget(limits.max_chars)  # raw values: stops reading once even they cannot fit
        rendered = CharBudget(limits.max_chars)  # the Markdown the model reads, separators and headers included
        sections: list[Section] = []
        for number, sheet in enumerate(sheets, start=1):
            # Read-only mode trusts the sheet's declared dimension, which some writers get wrong (too small
            # drops data; a crafted huge one pads every row): read the rows that are really there instead.
            sheet.reset_dimensions()
            rows = []
            for row in sheet.iter_rows(values_only=True):
                values = [_value(v) for v in row]
                # Charged with separators, so even a flood of empty cells uses up the budget.
                if not budget.take("|".join("" if v is None else str(v) for v in values)):
                    break
                if any(v is not None for v in values):
                    rows.append(values)
            sections.extend(table_sections(sheet.title, rows, rendered, number=number))
            progress(number, len(sheets))
            if budget.exhausted or rendered.exhausted:
                break
    finally:
        workbook.close()
    truncated = budget.exhausted or rendered.exhausted
    return ReaderResult(sections, pages=len(sheets), warnings=limit_warnings(truncated), truncated=truncated)
