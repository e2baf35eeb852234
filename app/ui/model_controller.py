"""Which model the window has open: loading a package, converting a checkpoint into one first, and progress.

Both run on the engine thread (one model in memory at a time); this object keeps the UI thread's view of them.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.engine.events import ModelInfo
from app.storage.settings import EngineSettings
from app.ui.engine_host import EngineHost, OpenBackend, PrepareOffer, Refused
from app.ui.requests import ExportRequest
from app.ui.worker import WorkerClient


class ModelController(QObject):
    loaded = Signal(object)  # ModelInfo
    failed = Signal(str)  # why the model could not be opened (no model is open afterwards)
    refused = Signal(str)  # the folder failed its checks before anything was unloaded (the model in use stays)
    progress = Signal(object)  # LoadProgress of a load or a conversion
    exported = Signal(str)  # the package a conversion wrote
    exportFailed = Signal(str)
    # the package was refused for memory and its prepacked copy would make it fit: (why, the package's folder);
    # no model is open afterwards
    prepareOffered = Signal(str, str)
    # making the prepacked copy was cancelled (nothing of it kept, the package unchanged): the package's folder;
    # no model is open afterwards
    prepareCancelled = Signal(str)

    def __init__(self, engine: WorkerClient[EngineHost]) -> None:
        super().__init__()
        self._engine = engine
        self._info: ModelInfo | None = None
        self._export: ExportRequest | None = None  # the conversion in progress
        self._prepare: threading.Event | None = None  # the prepacked copy being made: its cancel event
        self._closing = False

    # --- asked by the window -----------------------------------------------------------------------------------
    def info(self) -> ModelInfo | None:
        """The open model, or None (none opened yet, or the last one failed to open)."""
        return self._info

    def exporting(self) -> bool:
        return self._export is not None

    def preparing(self) -> bool:
        """A prepacked copy is being made (it can be cancelled)."""
        return self._prepare is not None

    def load(self, path: str, engine: EngineSettings = EngineSettings()) -> None:
        """Opens the package at `path`; `engine` (context length, threads) as Preferences say, read now."""
        self._engine.submit(lambda host, report: host.load(Path(path), engine, report),
                            yielded=self.progress.emit, finished=self._on_loaded, errored=self._on_failed)

    def prepare(self, path: str, engine: EngineSettings = EngineSettings()) -> None:
        """Makes this computer's prepacked copy of the package at `path`, then opens it (progress as a load's);
        `cancel_prepare` stops it."""
        cancel = self._prepare = threading.Event()
        self._engine.submit(lambda host, report: host.prepare(Path(path), report, cancel),
                            yielded=self.progress.emit, finished=lambda _folder: self._on_prepared(cancel, path, engine),
                            errored=lambda message: self._on_prepare_failed(cancel, path, message))

    def cancel_prepare(self) -> None:
        if self._prepare is not None:
            self._prepare.set()

    def open_backend(self, open_backend: OpenBackend) -> None:
        """Uses what `open_backend` opens on the engine thread (a remote engine) as the model."""
        self._engine.submit(lambda host, report: host.load_backend(open_backend, report),
                            yielded=self.progress.emit, finished=self._on_loaded, errored=self._on_failed)

    def export(self, request: ExportRequest) -> None:
        """Converts a Hugging Face checkpoint into a package (`exported` names it; the window then loads it)."""
        self._export = request
        self._engine.submit(lambda host, report: host.export(request, report), yielded=self.progress.emit,
                            finished=lambda package: self._on_exported(request, str(package)),
                            errored=lambda message: self._on_export_failed(request, message))

    def cancel_export(self) -> None:
        if self._export is not None:
            self._export.cancel.set()

    def close(self) -> None:
        """Cancels a conversion or the making of a prepacked copy and closes the model (the window is closing)."""
        self._closing = True
        self.cancel_export()
        self.cancel_prepare()
        self._engine.submit(lambda host, report: host.close(report))

    # --- engine thread results ---------------------------------------------------------------------------------
    def _on_loaded(self, info: ModelInfo | Refused | PrepareOffer) -> None:
        if isinstance(info, Refused):
            self.refused.emit(info.message)
            return
        if isinstance(info, PrepareOffer):
            self._info = None  # the engine closed the previous model before it tried this one
            self.prepareOffered.emit(info.message, str(info.path))
            return
        self._info = info
        self.loaded.emit(info)

    def _on_failed(self, message: str) -> None:
        self._info = None  # the engine closed the previous model before it tried this one
        self.failed.emit(message)

    def _on_prepared(self, cancel: threading.Event, path: str, engine: EngineSettings) -> None:
        if self._prepare is cancel:
            self._prepare = None
        if not self._closing:  # the copy is whole even when a cancel came after its last step
            self.load(path, engine)

    def _on_prepare_failed(self, cancel: threading.Event, path: str, message: str) -> None:
        if self._prepare is cancel:
            self._prepare = None
        self._info = None  # the engine closed the model before it made the copy
        if cancel.is_set():
            self.prepareCancelled.emit(path)
        else:
            self.failed.emit(message)

    def _on_exported(self, request: ExportRequest, package: str) -> None:
        if self._export is request:
            self._export = None
            self.exported.emit(package)

    def _on_export_failed(self, request: ExportRequest, message: str) -> None:
        if self._export is request:
            self._export = None
            self.exportFailed.emit(message)
