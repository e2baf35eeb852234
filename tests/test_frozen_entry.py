"""A frozen build has no `python -m`: the document sandbox re-runs the app's own entry point with a flag."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import app.cli.main as cli_main
from app.documents import sandbox


def test_flag_names_agree() -> None:
    assert cli_main.SANDBOX_FLAG == sandbox.SANDBOX_FLAG


def test_entry_point_runs_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    note = tmp_path / "note.txt"
    note.write_text("The depot key is in the blue box.\n", encoding="utf-8")
    # What a frozen executable does: the app's own entry point, given the sandbox flag.
    monkeypatch.setattr(sandbox, "sandbox_command", lambda: [sys.executable, "-m", "app", sandbox.SANDBOX_FLAG])
    document = sandbox.extract_document(note)
    assert "blue box" in document.text
