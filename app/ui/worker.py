"""The one worker pattern of the window's three threads (engine, history, documents), after napari's qthreading.

A `Worker` lives on its own QThread (the composition root, app.ui.application, creates and joins the threads)
and owns one host object that must only be touched from that thread: the loaded model, the open history store,
the document reader. It runs jobs one at a time, in the order they were submitted. A job is a plain callable
`job(host, report)`; `report(item)` streams an item back (a generation event, a progress step) while it runs.

Each job answers with the same four signals, tagged with the job's ticket: `started`, `yielded` (each reported
item), then `finished` (the job's return value) or `errored` (one sentence). The UI thread submits through a
`WorkerClient`, which hands out the tickets and runs the caller's callbacks on the UI thread; nothing else
crosses threads. Cancelling is the job's business: it closes over a `threading.Event` that the UI thread sets
(the worker's event loop is busy while a job runs, so a queued "stop" would arrive too late).
"""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

translate = QCoreApplication.translate  # app.ui.i18n's name for it; imported here directly (i18n imports Qt only)

H = TypeVar("H")
Report = Callable[[object], None]
Job = Callable[[H, Report], Any]  # runs on the worker's thread


class Worker(QObject, Generic[H]):
    """Runs jobs on `host`, on the thread this object was moved to."""

    started = Signal(int)  # ticket
    yielded = Signal(int, object)  # ticket, reported item
    errored = Signal(int, str)  # ticket, one sentence
    finished = Signal(int, object)  # ticket, the job's return value

    def __init__(self, host: H) -> None:
        super().__init__()
        self.host = host

    @Slot(int, object)
    def run(self, ticket: int, job: Job[H]) -> None:
        self.started.emit(ticket)
        try:
            result = job(self.host, lambda item: self.yielded.emit(ticket, item))
        except Exception as exc:  # noqa: BLE001 - every failure reaches the caller as a sentence, none is swallowed
            if not _is_enclaves(exc):
                traceback.print_exc()
            self.errored.emit(ticket, human_message(exc))
            return
        self.finished.emit(ticket, result)


def _is_enclaves(exc: BaseException) -> bool:
    """Enclave's own exception classes (LoadError, StorageError, ExtractionError, ...) carry a sentence for the
    user: no traceback for those. Anything else is a bug or a library's surprise, and stderr gets the trace."""
    return type(exc).__module__.split(".")[0] == "app"


def human_message(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else translate("Worker", "{error} (no details)").format(error=type(exc).__name__)


@dataclass
class _Callbacks:
    started: Callable[[], None] | None
    yielded: Callable[[Any], None] | None
    finished: Callable[[Any], None] | None
    errored: Callable[[str], None] | None
    latest: Hashable | None


class WorkerClient(QObject, Generic[H]):
    """The UI thread's side of one Worker: `submit` never blocks; callbacks run on the UI thread."""

    _request = Signal(int, object)
    unhandled = Signal(str)  # a failure of a job that was given no `errored` callback

    def __init__(self, worker: Worker[H]) -> None:
        super().__init__()
        self._tickets = itertools.count(1)
        self._pending: dict[int, _Callbacks] = {}
        self._latest: dict[Hashable, int] = {}
        self._request.connect(worker.run)
        worker.started.connect(self._on_started)
        worker.yielded.connect(self._on_yielded)
        worker.finished.connect(self._on_finished)
        worker.errored.connect(self._on_errored)

    def submit(self, job: Job[H], *, started: Callable[[], None] | None = None,
               yielded: Callable[[Any], None] | None = None, finished: Callable[[Any], None] | None = None,
               errored: Callable[[str], None] | None = None, latest: Hashable | None = None) -> int:
        """Queues `job`; returns its ticket. With `latest`, a later job given the same key supersedes this one:
        this one still runs, but its callbacks are dropped (a slow old search must not overwrite a new one)."""
        ticket = next(self._tickets)
        self._pending[ticket] = _Callbacks(started, yielded, finished, errored, latest)
        if latest is not None:
            self._latest[latest] = ticket
        self._request.emit(ticket, job)
        return ticket

    def pending(self) -> int:
        """Jobs submitted that have not finished yet (tests wait for 0 to read what the database holds)."""
        return len(self._pending)

    def _live(self, ticket: int) -> _Callbacks | None:
        callbacks = self._pending.get(ticket)
        if callbacks is None or (callbacks.latest is not None and self._latest.get(callbacks.latest) != ticket):
            return None
        return callbacks

    def _done(self, ticket: int) -> _Callbacks | None:
        callbacks = self._live(ticket)
        self._pending.pop(ticket, None)
        if callbacks is not None and callbacks.latest is not None and self._latest.get(callbacks.latest) == ticket:
            del self._latest[callbacks.latest]
        return callbacks

    @Slot(int)
    def _on_started(self, ticket: int) -> None:
        callbacks = self._live(ticket)
        if callbacks is not None and callbacks.started is not None:
            callbacks.started()

    @Slot(int, object)
    def _on_yielded(self, ticket: int, item: object) -> None:
        callbacks = self._live(ticket)
        if callbacks is not None and callbacks.yielded is not None:
            callbacks.yielded(item)

    @Slot(int, object)
    def _on_finished(self, ticket: int, value: object) -> None:
        callbacks = self._done(ticket)
        if callbacks is not None and callbacks.finished is not None:
            callbacks.finished(value)

    @Slot(int, str)
    def _on_errored(self, ticket: int, message: str) -> None:
        superseded = ticket in self._pending and self._live(ticket) is None
        callbacks = self._done(ticket)
        if callbacks is not None and callbacks.errored is not None:
            callbacks.errored(message)
        elif not superseded:
            self.unhandled.emit(message)
