"""CSV and TSV: charset-detected text, dialect sniffed by the csv module, rendered as Markdown tables."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from app.documents.model import DocumentLimits, ProgressFn
from app.documents.readers.base import CharBudget, ReaderResult, Source, limit_warnings
from app.documents.readers.plaintext import read_limited_text
from app.documents.tables import table_sections


def _dialect(sample: str, name: str) -> type[csv.Dialect] | csv.Dialect:
    if name.lower().endswith(".tsv"):
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:  # one column, or too irregular to guess: plain commas is the safest reading
        return csv.excel


def read_csv(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    text, truncated = read_limited_text(source, name, limits)
    csv.field_size_limit(limits.max_chars)
    # Rows are kept only while their Markdown (at least "| " + cell + " " per cell and "|") can still fit: a
    # 20 MB file of one-letter cells would otherwise hold millions of row lists in memory for nothing.
    reading = CharBudget(limits.max_chars)
    rows = []
    for row in csv.reader(io.StringIO(text), _dialect(text[:65536], name)):
        if not reading.charge(1 + sum(len(cell) + 3 for cell in row)):
            break
        rows.append(row)
    progress(1, 1)
    title = Path(name).stem
    budget = CharBudget(limits.max_chars)
    sections = table_sections(title, rows, budget)
    truncated = truncated or reading.exhausted or budget.exhausted
    return ReaderResult(sections, warnings=limit_warnings(truncated), truncated=truncated)
