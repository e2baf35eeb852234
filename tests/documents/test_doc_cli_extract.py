"""`enclave extract`: text with section markers, JSON with sections and metadata, one-sentence errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import doc_files
import app.storage.settings as settings_module
from app.cli.main import main
from app.documents.model import DocumentLimits
from app.storage.settings import AppSettings


@pytest.fixture(autouse=True)
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's settings file lives in the test's folder, never the user's."""
    path = tmp_path / "config" / "settings.json"
    monkeypatch.setattr(settings_module, "default_settings_path", lambda: path)
    return path


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
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}  # not the user's settings (Linux)
    result = subprocess.run([sys.executable, "-m", "app.cli.main", "extract", str(path), "--timeout", "30"],
                            capture_output=True, text=True, encoding="utf-8", timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "| Müller | Zürich | 1200 |" in result.stdout


def test_limits_come_from_the_apps_settings(table_pdf: Path, settings_file: Path, capsys) -> None:
    AppSettings(path=settings_file, document_limits=DocumentLimits(max_pages=2)).save()
    assert main(["extract", str(table_pdf)]) == 1
    assert "more than the limit of 2" in capsys.readouterr().err
    assert main(["extract", str(table_pdf), "--max-pages", "3"]) == 0  # the flag overrides for one run
    assert "--- p. 3 ---" in capsys.readouterr().out


def test_bad_numbers_are_one_sentence(table_pdf: Path, capsys) -> None:
    assert main(["extract", str(table_pdf), "--max-pages", "0"]) == 1
    assert capsys.readouterr().err == "enclave extract: --max-pages must be greater than 0, got 0.\n"
    assert main(["extract", str(table_pdf), "--timeout", "-1"]) == 1
    assert capsys.readouterr().err == "enclave extract: --timeout must be greater than 0, got -1.\n"


BAD_FILES = {
    "encrypted PDF": (lambda d, pdf: doc_files.locked_pdf(pdf, d / "locked.pdf"), "password"),
    "corrupt PDF": (lambda d, pdf: _write(d / "broken.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 20), "damaged"),
    "zip bomb as DOCX": (lambda d, pdf: doc_files.zip_bomb(d / "invoice.docx", "word/document.xml",
                                                           {"[Content_Types].xml": doc_files.CONTENT_TYPES}),
                         "zip bomb"),
    "zip bomb as XLSX": (lambda d, pdf: doc_files.zip_bomb(d / "ledger.xlsx", "xl/worksheets/sheet1.xml",
                                                           {"[Content_Types].xml": doc_files.CONTENT_TYPES}),
                         "zip bomb"),
    "2 GB file": (lambda d, pdf: doc_files.sparse_file(d / "scan.pdf"), "2,048 MB"),
    "binary junk .txt": (lambda d, pdf: doc_files.binary_junk(d / "notes.txt"), "binary"),
    "unsupported type": (lambda d, pdf: _write(d / "data.bin3", bytes(range(256)) * 16), "data.bin3"),
    "deleted file": (lambda d, pdf: d / "minutes.docx", "no longer there"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_every_bad_input_is_one_sentence_and_exit_1(case: str, table_pdf: Path, tmp_path: Path, capsys) -> None:
    make, words = BAD_FILES[case]
    path = make(tmp_path, table_pdf)
    assert main(["extract", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and path.name in lines[0] and words in lines[0], captured.err
    assert "Traceback" not in captured.err
