"""Opening the encrypted history: with the OS keyring, with a passphrase the user types, or, when the file is
damaged, a throwaway history so that chatting still works (the damaged file is left untouched). A user who
cancels the passphrase prompt also gets a throwaway history, and can unlock the real one later."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.ui.history_host import HistoryClient, Opened, OpenOutcome
from app.ui.i18n import translate

def ephemeral_note() -> str:
    return translate("History", "This session's conversations are kept only until Enclave closes.")


class HistoryOpener(QObject):
    opened = Signal(object)  # a warning to show (str) or None; the conversations can be listed now
    locked = Signal(str)  # the user left the history locked: a throwaway one is in use (why, for the status bar)
    replaced = Signal()  # another history took the place of the one open before: its ids mean nothing now
    failed = Signal(str)
    passphraseNeeded = Signal(bool)  # True when the database is new (the user chooses a passphrase)
    wrongPassphrase = Signal(str)

    def __init__(self, history: HistoryClient) -> None:
        super().__init__()
        self._history = history
        self._opened = 0  # histories opened so far in this run (real or throwaway)

    def open(self, passphrase: str | None = None) -> None:
        self._history.open(passphrase, finished=self._on_opened)

    def use_temporary(self) -> None:
        """Chat in a throwaway history until the user unlocks the real one (after cancelling the prompt)."""
        self._history.open_temporary(finished=self._on_opened)

    def close(self) -> None:
        self._history.close()

    def _on_opened(self, outcome: OpenOutcome) -> None:
        if outcome.opened in (Opened.OPEN, Opened.EPHEMERAL, Opened.TEMPORARY):
            self._opened += 1
            if self._opened > 1:
                self.replaced.emit()
        if outcome.opened is Opened.OPEN:
            self.opened.emit(outcome.message)
        elif outcome.opened is Opened.TEMPORARY:
            self.locked.emit(outcome.message or EPHEMERAL_NOTE)
        elif outcome.opened in (Opened.NEW_PASSPHRASE, Opened.PASSPHRASE):
            self.passphraseNeeded.emit(outcome.opened is Opened.NEW_PASSPHRASE)
        elif outcome.opened is Opened.WRONG_PASSPHRASE:
            self.wrongPassphrase.emit(outcome.message or "")
        else:
            self.failed.emit(outcome.message or translate("History", "The conversation history could not be opened."))
            if outcome.opened is Opened.EPHEMERAL:
                self.opened.emit(ephemeral_note())
