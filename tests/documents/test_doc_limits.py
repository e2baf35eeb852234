"""The text limit holds for what comes out, after every transformation, for every format.

Reproduced before the fix (default 20 M-character limit unless noted): a 4.96 MB one-line JSON nested 100 deep
became 255,450,298 characters (re-indented after the check); a 20 MB CSV of 10 M one-letter cells became
50,524,988 (the Markdown table's pipes and repeated headers were never counted); an XLSX of "|" cells under a
1 M limit became 2,724,971 (the budget counted the raw values, not the escaped Markdown).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.documents.model import DocumentLimits
from app.documents.sandbox import extract_document


def _within(path: Path, limit: int):
    document = extract_document(path, DocumentLimits(max_chars=limit))
    assert len(document.text) <= limit, f"{path.name}: {len(document.text):,} characters under a {limit:,} limit"
    assert document.metadata.chars <= limit
    return document


def test_deeply_nested_json_is_not_blown_up_by_reindenting(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100 + ",".join(["1"] * 300_000) + "]" * 100)  # 0.6 MB on one line
    document = _within(deep, 20_000_000)
    assert len(document.text) <= 2 * deep.stat().st_size  # kept as written: indenting would be 51x
    small = tmp_path / "records.json"
    small.write_text(json.dumps([{"id": i, "name": f"depot {i}"} for i in range(40)]))  # one long line
    assert "\n" in _within(small, 20_000_000).text  # ordinary minified JSON is still indented for chunking


def test_csv_table_counts_its_markdown(tmp_path: Path) -> None:
    cells = tmp_path / "cells.csv"
    cells.write_text("a,b\n" * 250_000)  # 1 MB of one-letter cells: 2.5 MB as a Markdown table
    document = _within(cells, 1_000_000)
    assert document.metadata.truncated and any("text limit" in w for w in document.warnings)
    assert document.text.startswith("| a | b |")


def test_xlsx_table_counts_escaped_cells(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Budget")
    for _ in range(20_000):
        sheet.append(["|", "|", "|", "|", "|"])
    path = tmp_path / "pipes.xlsx"
    book.save(path)
    document = _within(path, 200_000)
    assert document.metadata.truncated and "\\|" in document.text


@pytest.mark.parametrize("kind", ["html", "md", "txt"])
def test_one_huge_block_is_cut_not_dropped(tmp_path: Path, kind: str) -> None:
    if kind == "html":
        row = "<tr>" + "<td>x</td>" * 20 + "</tr>"
        body = f"<html><body><h1>Sheet</h1><table>{row * 5000}</table></body></html>"
    else:
        body = "# Notes\n\n" + ("word " * 200_000)
    path = tmp_path / f"big.{kind}"
    path.write_text(body)
    document = _within(path, 50_000)
    assert document.metadata.truncated and len(document.text) > 40_000  # what fits is kept
