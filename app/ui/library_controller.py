"""The window's side of the model library: downloads, imports, checks and removals on the library thread.

One job at a time (a second one is refused with a sentence while the first runs). Each job closes over a
`threading.Event` for Cancel, reports `app.library.progress.Progress` while it runs, and ends in `finished`
(its result: a LibraryEntry, or a Removed) or `failed` (one sentence). The model in use is never touched here:
the window decides what to open once a job has finished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.ui.worker import WorkerClient


class LibraryHost:
    """What the library thread owns: nothing but a way to the library (registry.json is re-read per job)."""

    def library(self):
        from app.library.library import Library

        return Library()


class LibraryController(QObject):
    progress = Signal(object)  # Progress of the job in flight
    finished = Signal(str, object)  # the job's label, its result
    failed = Signal(str)  # one sentence (a cancelled job says so, and that what was fetched is kept)

    def __init__(self, worker: WorkerClient[LibraryHost]) -> None:
        super().__init__()
        self._worker = worker
        self._label: str | None = None
        self._cancel: threading.Event | None = None
        self._checking = False

    # --- asked by the window -----------------------------------------------------------------------------------
    def busy(self) -> str | None:
        """The label of the job in flight, or None."""
        return self._label

    def entries(self) -> list:
        """The installed models, read now (the registry is a small JSON file)."""
        from app.library.library import Library

        return Library().entries()

    def download(self, ref: str, access, target: str | None, label: str) -> bool:
        return self._start(label, lambda library, progress, cancel: library.download(
            ref, access, convert_to=target, progress=progress, cancel=cancel))

    def import_folder(self, folder: Path, *, copy: bool, target: str | None) -> bool:
        return self._start(self.tr("Importing {name}").format(name=folder.name), lambda library, progress, cancel: library.import_folder(
            folder, copy=copy, convert_to=target, progress=progress, cancel=cancel))

    def verify(self, name: str) -> bool:
        return self._start(self.tr("Checking {name}").format(name=name), lambda library, progress, cancel: library.verify(
            name, progress=progress, cancel=cancel), checking=True)

    def remove(self, name: str) -> bool:
        return self._start(self.tr("Removing {name}").format(name=name),
                           lambda library, _progress, _cancel: library.remove(name))

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    # --- the job -------------------------------------------------------------------------------------------------
    def checking(self) -> bool:
        """Whether the job that just ended (or runs) is a check, which opens nothing afterwards."""
        return self._checking

    def _start(self, label: str, action: Callable, checking: bool = False) -> bool:
        if self._label is not None:
            self.failed.emit(self.tr("Wait until “{job}” has finished, or cancel it.").format(job=self._label))
            return False
        cancel = threading.Event()
        self._label, self._cancel, self._checking = label, cancel, checking

        cancelled = self.tr("{job}: cancelled. What was already fetched is kept; starting it again resumes.").format(
            job=label)

        def job(host: LibraryHost, report) -> object:
            from app.library.errors import Cancelled, LibraryError

            try:
                return action(host.library(), report, cancel)
            except Cancelled:
                raise LibraryError(cancelled) from None

        self._worker.submit(job, yielded=self.progress.emit, finished=lambda result: self._done(label, result),
                            errored=self._failed)
        return True

    def _done(self, label: str, result: object) -> None:
        self._label = self._cancel = None
        self.finished.emit(label, result)

    def _failed(self, message: str) -> None:
        self._label = self._cancel = None
        self.failed.emit(message)
