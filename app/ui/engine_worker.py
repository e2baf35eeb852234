"""The engine worker: one QObject on its own QThread that owns the model session.

The UI thread talks to it only through queued signals (requests in, events out). It never touches a widget
or a UI model: every GenerationEvent the engine yields is re-emitted as-is through `event`, tagged with the
request id so the controller can drop events of a request it no longer shows.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Signal, Slot

from app.engine.events import FinishReason, GenerationEvent, LoadProgress, ModelInfo
from app.ui.requests import ExportRequest, GenerateRequest


class ChatBackend(Protocol):
    """What the worker needs from a loaded model (app.ui.backend adapts the real engine to it)."""

    info: ModelInfo

    def reply(self, request: GenerateRequest) -> Iterator[GenerationEvent]: ...

    def close(self) -> None: ...


OpenModel = Callable[[Path, Callable[[LoadProgress], None]], ChatBackend]
ExportModel = Callable[[ExportRequest, Callable[[LoadProgress], None]], Path]


class EngineWorker(QObject):
    """Runs loads, exports and generations off the UI thread, one at a time, in the order requested."""

    modelLoaded = Signal(object)  # ModelInfo
    modelFailed = Signal(str)  # human message
    progress = Signal(object)  # LoadProgress
    event = Signal(int, object)  # request id, GenerationEvent
    exportFinished = Signal(int, object)  # request id, Path of the package
    exportFailed = Signal(int, str)

    def __init__(self, open_model: OpenModel, export_model: ExportModel | None = None) -> None:
        super().__init__()
        self._open_model = open_model
        self._export_model = export_model
        self._backend: ChatBackend | None = None

    @Slot(str)
    def load_model(self, path: str) -> None:
        self._close_backend()
        try:
            self._backend = self._open_model(Path(path), self.progress.emit)
        except Exception as exc:  # noqa: BLE001 - every failure must reach the user as a message
            self.modelFailed.emit(_human_message(exc))
            return
        self.modelLoaded.emit(self._backend.info)

    @Slot(object)
    def generate(self, request: GenerateRequest) -> None:
        if self._backend is None:
            self.event.emit(request.request_id, GenerationEvent(finish_reason=FinishReason.ERROR,
                                                               error="No model is loaded yet."))
            return
        try:
            for item in self._backend.reply(request):
                self.event.emit(request.request_id, item)
                if item.finished:
                    return
        except Exception as exc:  # noqa: BLE001 - errors cross threads as events, never swallowed
            traceback.print_exc()
            self.event.emit(request.request_id, GenerationEvent(finish_reason=FinishReason.ERROR,
                                                               error=_human_message(exc)))

    @Slot(object)
    def export(self, request: ExportRequest) -> None:
        if self._export_model is None:
            self.exportFailed.emit(request.request_id, "Exporting is not available in this build.")
            return
        try:
            package = self._export_model(request, self.progress.emit)
        except Exception as exc:  # noqa: BLE001
            self.exportFailed.emit(request.request_id, _human_message(exc))
            return
        self.exportFinished.emit(request.request_id, package)

    @Slot()
    def shutdown(self) -> None:
        self._close_backend()

    def _close_backend(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def _human_message(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else f"{type(exc).__name__} (no details)"
