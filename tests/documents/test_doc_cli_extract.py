"""`enclave extract`: text with section markers, JSON with sections and metadata, one-sentence errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import doc_files
from app.cli.main import main


def test_text_output_has_page_markers(table_pdf: Path, capsys) -> None:
    assert main(["extract", str(table_pdf)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("=== procurement.pdf (PDF, 3 pages, ")
    assert out.index("--- p. 1 ---") < out.index("Quarterly Procurement Report") < out.index("--- p. 2 ---") \
        < out.index("Widget") < out.index("--- p. 3 ---")


def test_json_output(tmp_path: Path, capsys) -> None:
    path = doc_files.xlsx_two_sheets(tmp_path / "budget.xlsx")
    assert main(["extract", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "budget.xlsx" and data["type"] == "xlsx"
    assert [s["label"] for s in data["sections"]] == ["Budget", "Staff"]
    assert data["metadata"]["pages"] == 2 and data["metadata"]["size_bytes"] == path.stat().st_size


def test_errors_are_one_sentence_and_exit_1(table_pdf: Path, tmp_path: Path, capsys) -> None:
    assert main(["extract", str(table_pdf), "--max-pages", "2"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == ("procurement.pdf has 3 pages, more than the limit of 2; split it or raise the "
                                    "page limit in Settings.")
    assert main(["extract", str(tmp_path / "missing.docx")]) == 1
    assert "missing.docx is no longer there" in capsys.readouterr().err


def test_installed_command_runs(tmp_path: Path) -> None:
    path = doc_files.csv_file(tmp_path / "payments.csv")
    result = subprocess.run([sys.executable, "-m", "app.cli.main", "extract", str(path), "--timeout", "30"],
                            capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "| Müller | Zürich | 1200 |" in result.stdout
