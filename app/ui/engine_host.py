"""What the engine thread owns: the loaded model (an `Assistant`) and the exporter. No Qt here.

The engine thread's `Worker` runs its jobs on this host: loading a model, one reply, one export, closing. Only
that thread touches it, so the loaded model never needs a lock. Loading closes the previous model first: two
13-65 GB models never share memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.engine.chat_request import ChatRequest
from app.engine.events import FinishReason, GenerationEvent, LoadProgress, ModelInfo
from app.engine.session import CopyWouldFit
from app.serve.engine_queue import Sink, run_reply
from app.storage.settings import EngineSettings
from app.ui.requests import ExportRequest
from app.ui.worker import Report, human_message, translate


class ChatBackend(Protocol):
    """What the engine thread needs of a loaded model: app.engine.assistant.Assistant, or a test's script."""

    info: ModelInfo

    def reply(self, request: ChatRequest) -> Iterator[GenerationEvent]: ...

    def close(self) -> None: ...


OpenModel = Callable[[Path, Callable[[LoadProgress], None], EngineSettings], ChatBackend]
OpenBackend = Callable[[Callable[[LoadProgress], None]], ChatBackend]  # e.g. connecting to a remote engine
ExportModel = Callable[[ExportRequest, Callable[[LoadProgress], None]], Path]
# Checks a folder before the model in use is closed (opening is verifying) and returns the folder to load.
PrepareModel = Callable[[Path, Callable[[LoadProgress], None]], Path]


@dataclass(frozen=True)
class Refused:
    """What `load` returns when the folder failed its checks: nothing was unloaded."""

    message: str


@dataclass(frozen=True)
class PrepareOffer:
    """What `load` returns when the package was refused for memory and its prepacked copy would make it fit
    (app.engine.prepacked): no model is loaded; the window offers `prepare`."""

    message: str
    path: Path


class NoModelError(RuntimeError):
    """A reply was asked for before any model was loaded."""


class EngineHost:
    def __init__(self, open_model: OpenModel, export_model: ExportModel | None = None,
                 prepare_model: PrepareModel | None = None) -> None:
        self._open_model = open_model
        self._export_model = export_model
        self._prepare_model = prepare_model
        self._backend: ChatBackend | None = None

    def load(self, path: Path, engine: EngineSettings, report: Report) -> ModelInfo | Refused | PrepareOffer:
        """Opens the model at `path` as `engine` (Preferences) says, progress through `report`. A folder that fails
        its checks is Refused and the model in use stays; a failure after that leaves no model loaded."""
        if self._prepare_model is not None:
            try:
                path = self._prepare_model(path, report)
            except Exception as exc:  # noqa: BLE001 - every refusal reaches the user as its sentence
                return Refused(human_message(exc))
        self.close()
        try:
            self._backend = self._open_model(path, report, engine)
        except CopyWouldFit as exc:
            return PrepareOffer(human_message(exc), exc.package)
        return self._backend.info

    def prepare(self, path: Path, report: Report, cancel: threading.Event | None = None) -> Path:
        """Makes this computer's prepacked copy of the package at `path` (with no model open: it reads the
        package's weights a part at a time); returns the copy's folder. `cancel` (set on the UI thread) stops it
        between steps with app.engine.prepacked.PrepareCancelled, nothing of the copy left."""
        from app.engine.prepacked import derive_copy

        self.close()
        return derive_copy(path, progress=report, cancel=cancel).folder

    def load_backend(self, open_backend: OpenBackend, report: Report) -> ModelInfo:
        """Replaces the model with what `open_backend` opens (a remote engine); a failure leaves none loaded."""
        self.close()
        self._backend = open_backend(report)
        return self._backend.info

    def serve(self, request: ChatRequest, sink: Sink) -> None:
        """One request of the local API server (app.serve), in line with the window's own replies; `sink` gets
        every event, the last one finished, even when no model is open."""
        if self._backend is None:
            sink(GenerationEvent(finish_reason=FinishReason.ERROR, error=translate("Engine", "No model is open in Enclave.")))
            return
        run_reply(self._backend, request, sink)

    def reply(self, request: ChatRequest, report: Report) -> None:
        """Streams the reply's events through `report`, up to and including the finishing one."""
        if self._backend is None:
            raise NoModelError("No model is loaded yet.")
        for event in self._backend.reply(request):
            report(event)
            if event.finished:
                return

    def export(self, request: ExportRequest, report: Report) -> Path:
        if self._export_model is None:
            raise NoModelError("Exporting is not available in this build.")
        return self._export_model(request, report)

    def close(self, _report: Report | None = None) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None
