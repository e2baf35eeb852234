"""Opening the encrypted history: with the OS keyring, with a passphrase the user types, or, when the file is
damaged, a throwaway history so that chatting still works (the damaged file is left untouched)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.ui.history_host import HistoryClient, Opened, OpenOutcome

EPHEMERAL_NOTE = "This session's conversations are kept only until Enclave closes."


class HistoryOpener(QObject):
    opened = Signal(object)  # a warning to show (str) or None; the conversations can be listed now
    failed = Signal(str)
    passphraseNeeded = Signal(bool)  # True when the database is new (the user chooses a passphrase)
    wrongPassphrase = Signal(str)

    def __init__(self, history: HistoryClient) -> None:
        super().__init__()
        self._history = history

    def open(self, passphrase: str | None = None) -> None:
        self._history.open(passphrase, finished=self._on_opened)

    def close(self) -> None:
        self._history.close()

    def _on_opened(self, outcome: OpenOutcome) -> None:
        if outcome.opened is Opened.OPEN:
            self.opened.emit(outcome.message)
        elif outcome.opened in (Opened.NEW_PASSPHRASE, Opened.PASSPHRASE):
            self.passphraseNeeded.emit(outcome.opened is Opened.NEW_PASSPHRASE)
        elif outcome.opened is Opened.WRONG_PASSPHRASE:
            self.wrongPassphrase.emit(outcome.message or "")
        else:
            self.failed.emit(outcome.message or "The conversation history could not be opened.")
            if outcome.opened is Opened.EPHEMERAL:
                self.opened.emit(EPHEMERAL_NOTE)
