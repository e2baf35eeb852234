"""The history settings' actions, carried out on the history thread: retention, where the key is, changing the
passphrase, moving the key between the OS keyring and a passphrase, deleting everything.

Each answers with one sentence: `done` for the status bar, `failed` for a warning the user must read.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.storage.store import HistoryStore
from app.ui.history_host import HistoryClient
from app.ui.i18n import translate


class HistoryLifecycle(QObject):
    done = Signal(str)
    failed = Signal(str)
    retained = Signal(int)  # conversations deleted because they were older than the retention
    deletedAll = Signal()  # the history file and its key are gone: open a new one

    def __init__(self, history: HistoryClient) -> None:
        super().__init__()
        self._history = history

    def key_status(self, finished: Callable[[dict[str, object] | None], None]) -> None:
        """Where the key is now (None when the history is not available)."""
        self._history.call(lambda store: store.key_status(), finished=finished,
                           errored=lambda _message: finished(None))

    def apply_retention(self, days: int) -> None:
        self._history.call(lambda store: store.delete_older_than(days), finished=self.retained.emit,
                           errored=self.failed.emit)

    def change_passphrase(self, current: str, new: str) -> None:
        self._run(lambda store: store.change_passphrase(current, new),
                  translate("History", "The passphrase was changed and the history encrypted again under a "
                                       "new key."))

    def use_passphrase(self, new: str) -> None:
        self._run(lambda store: store.use_passphrase(new),
                  translate("History", "The history is now protected by your passphrase."))

    def use_keyring(self, current: str) -> None:
        self._run(lambda store: store.use_keyring(current),
                  translate("History", "The history's key is now kept in the OS keyring."))

    def delete_all(self) -> None:
        self._history.call(lambda store: store.delete_all(), finished=lambda _r: self.deletedAll.emit(),
                           errored=self.failed.emit)

    def _run(self, change: Callable[[HistoryStore], None], done: str) -> None:
        self._history.call(change, finished=lambda _r: self.done.emit(done), errored=self.failed.emit)
