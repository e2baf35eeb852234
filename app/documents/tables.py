"""Tables as Markdown, the one table syntax the model reads reliably.

Long tables (spreadsheets, CSV) are split into sections of a few hundred rows, each repeating the header row,
so a retrieved block of rows still says what its columns mean and a citation can name "rows 201-300".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.documents.model import Section, SectionKind
from app.documents.readers.base import CharBudget

ROWS_PER_SECTION = 200


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def markdown_table(rows: Sequence[Sequence[object]]) -> str:
    """The first row is the header; short rows are padded so every line has the same number of cells."""
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    if width == 0:
        return ""
    lines = []
    for i, row in enumerate(rows):
        cells = [_cell(v) for v in row] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "---|" * width)
    return "\n".join(lines)


def trim_empty(rows: list[list[object]]) -> list[list[object]]:
    """Drops trailing empty cells and fully empty rows/columns (spreadsheets report formatted-but-empty cells)."""
    kept = [r for r in rows if any(_cell(v) for v in r)]
    if not kept:
        return []
    width = max((max((i + 1 for i, v in enumerate(r) if _cell(v)), default=0) for r in kept), default=0)
    used = [c for c in range(width) if any(c < len(r) and _cell(r[c]) for r in kept)]
    return [[r[c] if c < len(r) else None for c in used] for r in kept]


def table_sections(title: str, rows: Iterable[list[object]], budget: CharBudget,
                   rows_per_section: int = ROWS_PER_SECTION, kind: SectionKind = "sheet",
                   number: int | None = None) -> list[Section]:
    """Splits a header + data table into Markdown sections labelled "<title> rows a-b" (rows count data rows).

    Every character of the Markdown is charged to `budget` as it is written, the repeated header rows and
    the "| " separators included (a CSV of one-letter cells grows 2.5x as a table); the table ends where the
    budget does, and the budget says so (`exhausted`)."""
    rows = trim_empty(list(rows))
    if not rows:
        return []
    header, data = rows[0], rows[1:]
    whole = len(data) <= rows_per_section
    sections = []
    for start in range(0, max(len(data), 1), rows_per_section):
        block = data[start:start + rows_per_section]
        lines = markdown_table([header, *block]).split("\n")
        kept = []
        for line in lines:
            if not budget.take(line + "\n"):
                break
            kept.append(line)
        if not kept or (len(kept) <= 2 and block):  # not even one data row fitted
            break
        shown = max(0, len(kept) - 2)
        label = title if whole and shown == len(block) else f"{title} rows {start + 1}-{start + shown}"
        sections.append(Section(kind, label, "\n".join(kept), number))
        if budget.exhausted:
            break
    return sections
