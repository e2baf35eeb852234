"""Fixtures that build the real main window with temporary history and settings files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("ENCLAVE_PASSPHRASE", "test-passphrase-not-secret")


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Headless runs have no OS keyring: the history falls back to ENCLAVE_PASSPHRASE, as in CI."""
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def make_app(qtbot, tmp_path: Path, no_keyring, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable]:
    monkeypatch.setenv("ENCLAVE_LIBRARY", str(tmp_path / "library"))  # each window test has its own model library
    built = []

    def make(open_model, export_model=None, *, database: Path | None = None, on_history_failed=None,
             ask_passphrase=None, open_history: bool = True):
        from app.ui.application import build_app

        parts = build_app(database=database or tmp_path / "history.db", settings_path=tmp_path / "settings.json",
                          open_model=open_model, export_model=export_model or (lambda req, progress: req.output))
        qtbot.addWidget(parts.window)
        if on_history_failed is not None:  # replaces the modal dialog, which would block a headless test
            parts.window.report_history_failures(on_history_failed)
        if ask_passphrase is not None:  # the passphrase prompt is a modal dialog too
            parts.window.ask_passphrase_with(ask_passphrase)
        parts.window.show()
        if open_history:
            parts.opener.open()
        built.append(parts)
        return parts

    yield make
    for parts in built:
        parts.shutdown()


def accept_export(out: Path, target: str = "cpu"):
    """An export planner that says yes at once (the real one asks the user in a modal dialog)."""
    from app.ui.requests import ExportRequest

    return lambda folder, parent: ExportRequest(source=folder.path, output=out, target=target)
