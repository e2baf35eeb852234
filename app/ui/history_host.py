"""What the history thread owns: the open store (SQLite + AES-GCM), and the UI side's typed calls into it.

The store is used from exactly one thread, this one. It has its own thread, apart from the engine's, because
the engine thread is busy for the whole length of a reply and the user may switch conversations (a database
read) while a reply streams. A call is a callable on the store, `history.call(lambda store: store.rename(cid,
title), finished=...)`, checked by the type checker like any method call (no method names in strings).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from app.storage.errors import PassphraseRequiredError, StorageError, WrongPassphraseError
from app.storage.store import HistoryStore
from app.ui.i18n import translate
from app.ui.worker import Report, WorkerClient

R = TypeVar("R")
StoreFactory = Callable[[str | None], HistoryStore]  # passphrase (None: keyring or ENCLAVE_PASSPHRASE) -> store
EphemeralFactory = Callable[[], HistoryStore]  # a throwaway store, used when the real history cannot be opened
def temporary_note() -> str:
    return translate("History", "Your history is locked, so this session's conversations are kept only until "
                                "Enclave closes; unlock it from the status bar or the File menu.")


class Opened(enum.Enum):
    """How an attempt to open the history ended."""

    OPEN = "open"  # the real history is open
    NEW_PASSPHRASE = "new_passphrase"  # no keyring and a new database: the user chooses a passphrase
    PASSPHRASE = "passphrase"  # no keyring: the user types the passphrase
    WRONG_PASSPHRASE = "wrong_passphrase"  # the passphrase given does not unlock the history: ask again
    EPHEMERAL = "ephemeral"  # the history could not be opened: a throwaway one keeps the chat working
    TEMPORARY = "temporary"  # the user left the history locked: a throwaway one until they unlock it
    FAILED = "failed"  # not even a throwaway history could be made (or unlocking failed: the one in use stays)


@dataclass(frozen=True)
class OpenOutcome:
    opened: Opened
    message: str | None = None  # the key warning (OPEN), or why the history is not open


class HistoryUnavailable(StorageError):
    """A call came before the history was opened, or after opening it failed for good."""


class HistoryHost:
    def __init__(self, store_factory: StoreFactory, ephemeral_factory: EphemeralFactory | None = None) -> None:
        self._factory = store_factory
        self._ephemeral_factory = ephemeral_factory
        self._store: HistoryStore | None = None

    def open(self, passphrase: str | None) -> OpenOutcome:
        """Opens the real history; one already open (a throwaway one while it was locked, or one that was just
        deleted) is closed once the new one is open, and kept if opening fails."""
        try:
            store = self._factory(passphrase)
        except PassphraseRequiredError as exc:
            new = bool(getattr(exc, "new_database", False))
            return OpenOutcome(Opened.NEW_PASSPHRASE if new else Opened.PASSPHRASE)
        except WrongPassphraseError as exc:
            return OpenOutcome(Opened.WRONG_PASSPHRASE, str(exc))
        except Exception as exc:  # noqa: BLE001 - reported to the user, never swallowed
            if self._store is not None and self._store.is_open:
                return OpenOutcome(Opened.FAILED, str(exc) or type(exc).__name__)
            return self._open_ephemeral(str(exc) or type(exc).__name__)
        self.close()
        self._store = store
        return OpenOutcome(Opened.OPEN, getattr(self._store, "key_warning", None))

    def open_temporary(self) -> OpenOutcome:
        """The user cancelled the passphrase prompt: a throwaway history until they unlock the real one."""
        outcome = self._open_ephemeral("")
        if outcome.opened is Opened.EPHEMERAL:
            return OpenOutcome(Opened.TEMPORARY, temporary_note())
        return outcome

    def _open_ephemeral(self, why: str) -> OpenOutcome:
        """Chatting keeps working when the history file is damaged; the damaged file is left untouched."""
        if self._ephemeral_factory is None:
            return OpenOutcome(Opened.FAILED, why)
        try:
            self._store = self._ephemeral_factory()
        except Exception as exc:  # noqa: BLE001
            return OpenOutcome(Opened.FAILED, translate("History", "{reason} Even a temporary history could not be "
                                                                   "created: {error}").format(reason=why, error=exc))
        return OpenOutcome(Opened.EPHEMERAL, why)

    def store(self) -> HistoryStore:
        if self._store is None:
            raise HistoryUnavailable("The conversation history is not available.")
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


class HistoryClient(WorkerClient[HistoryHost]):
    """The UI thread's typed calls into the store."""

    def call(self, fn: Callable[[HistoryStore], R], *, finished: Callable[[R], None] | None = None,
             errored: Callable[[str], None] | None = None, latest: str | None = None) -> int:
        def job(host: HistoryHost, _report: Report) -> R:
            return fn(host.store())

        return self.submit(job, finished=finished, errored=errored, latest=latest)

    def open(self, passphrase: str | None, finished: Callable[[OpenOutcome], None]) -> int:
        return self.submit(lambda host, _report: host.open(passphrase), finished=finished)

    def open_temporary(self, finished: Callable[[OpenOutcome], None]) -> int:
        return self.submit(lambda host, _report: host.open_temporary(), finished=finished)

    def close(self) -> int:
        return self.submit(lambda host, _report: host.close())
