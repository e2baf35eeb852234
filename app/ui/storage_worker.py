"""The history store on its own thread, and the UI-side client that calls it without blocking.

The store (SQLite + AES-GCM) is used from exactly one thread: this worker's. It has its own thread, apart
from the engine worker, because the engine worker is busy for the whole length of a reply, and the user may
switch conversations (a database read) while a reply streams.

The client turns each call into a queued signal carrying a ticket; the result comes back as a queued signal
and the client runs the caller's callback on the UI thread. Calls run in the order they were made.
"""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

StoreFactory = Callable[[str | None], Any]  # passphrase (None: keyring or ENCLAVE_PASSPHRASE) -> store
EphemeralFactory = Callable[[], Any]  # a throwaway store, used when the real history cannot be opened


class StorageWorker(QObject):
    opened = Signal(object)  # the store's key warning (str) in passphrase mode, else None
    openFailed = Signal(str)
    passphraseNeeded = Signal(bool)  # True when the database is new (the user chooses a passphrase)
    wrongPassphrase = Signal(str)  # the passphrase given does not unlock the history: ask again
    result = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, store_factory: StoreFactory, ephemeral_factory: EphemeralFactory | None = None) -> None:
        super().__init__()
        self._factory = store_factory
        self._ephemeral_factory = ephemeral_factory
        self._store: Any = None

    @Slot(object)
    def open(self, passphrase: str | None = None) -> None:
        from app.storage.errors import PassphraseRequiredError, WrongPassphraseError

        try:
            self._store = self._factory(passphrase)
        except PassphraseRequiredError as exc:
            self.passphraseNeeded.emit(bool(getattr(exc, "new_database", False)))
            return
        except WrongPassphraseError as exc:
            self.wrongPassphrase.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - reported to the user, never swallowed
            self.openFailed.emit(str(exc) or type(exc).__name__)
            self._open_ephemeral()
            return
        self.opened.emit(getattr(self._store, "key_warning", None))

    def _open_ephemeral(self) -> None:
        """Chatting keeps working when the history file is damaged; the damaged file is left untouched."""
        if self._ephemeral_factory is None:
            return
        try:
            self._store = self._ephemeral_factory()
        except Exception as exc:  # noqa: BLE001
            self.openFailed.emit(f"Even a temporary history could not be created: {exc}")
            return
        self.opened.emit("This session's conversations are kept only until Enclave closes.")

    @Slot(int, str, object)
    def call(self, ticket: int, method: str, arguments: tuple[tuple, dict]) -> None:
        args, kwargs = arguments
        if self._store is None:
            self.failed.emit(ticket, "The conversation history is not available.")
            return
        try:
            value = getattr(self._store, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure reaches the caller as a message
            if not _is_expected(exc):
                traceback.print_exc()
            self.failed.emit(ticket, str(exc) or type(exc).__name__)
            return
        self.result.emit(ticket, value)

    @Slot()
    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _is_expected(exc: Exception) -> bool:
    from app.storage.errors import StorageError

    return isinstance(exc, StorageError)


class StorageClient(QObject):
    """Lives on the UI thread; `call(method, *args, then=..., failed=...)` never blocks."""

    _request = Signal(int, str, object)
    error = Signal(str)  # failures that had no failure callback

    def __init__(self, worker: StorageWorker) -> None:
        super().__init__()
        self._tickets = itertools.count(1)
        self._pending: dict[int, tuple[Callable[[Any], None] | None, Callable[[str], None] | None]] = {}
        self._request.connect(worker.call)
        worker.result.connect(self._on_result)
        worker.failed.connect(self._on_failed)

    def call(self, method: str, *args: Any, then: Callable[[Any], None] | None = None,
             failed: Callable[[str], None] | None = None, **kwargs: Any) -> int:
        ticket = next(self._tickets)
        self._pending[ticket] = (then, failed)
        self._request.emit(ticket, method, (args, kwargs))
        return ticket

    def pending(self) -> int:
        return len(self._pending)

    @Slot(int, object)
    def _on_result(self, ticket: int, value: object) -> None:
        then, _ = self._pending.pop(ticket, (None, None))
        if then is not None:
            then(value)

    @Slot(int, str)
    def _on_failed(self, ticket: int, message: str) -> None:
        _, failed = self._pending.pop(ticket, (None, None))
        if failed is not None:
            failed(message)
        else:
            self.error.emit(message)
