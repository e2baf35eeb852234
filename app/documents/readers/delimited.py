"""CSV and TSV: charset-detected text, dialect sniffed by the csv module, rendered as Markdown tables."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from app.documents.model import DocumentLimits, ProgressFn
from app.documents.readers.base import ReaderResult, Source, limit_warnings
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
    rows = list(csv.reader(io.StringIO(text), _dialect(text[:65536], name)))
    progress(1, 1)
    title = Path(name).stem
    return ReaderResult(table_sections(title, rows), warnings=limit_warnings(truncated), truncated=truncated)
