"""The one engine behind the server: requests wait in line and run one at a time, in the order they came.

A loaded model answers one reply at a time (its KV cache follows one conversation), so the server never runs
two generations at once: `submit` puts the request in line and returns; the engine's thread streams each
event to the request's `sink` (which must be quick: the server's sink hands it to its event loop). A request
whose client left while it waited is skipped with one CANCELLED event, so a line of abandoned requests costs
nothing.

Two implementations: `EngineThread` here, for `enclave serve`, owns the model on a thread of its own; the
window's (app.ui.server_controller) puts the requests on the window's engine thread, in line with the user's
own replies, so the model is never loaded twice.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from app.engine.chat_request import ChatRequest
from app.engine.events import FinishReason, GenerationEvent, ModelInfo

Sink = Callable[[GenerationEvent], None]
MAX_WAITING = 16  # requests in line before the server answers 429: a runaway script must not queue forever


class QueueFullError(RuntimeError):
    """Too many requests are waiting for the engine."""


class NoModelError(RuntimeError):
    """The engine has no model loaded (the window's server while no model is open)."""


class ServedEngine(Protocol):
    """What the server needs of an engine."""

    def model(self) -> ModelInfo | None:
        """The model that answers now (None: none is loaded)."""

    def submit(self, request: ChatRequest, sink: Sink) -> None:
        """Puts `request` in line; its events go to `sink` from the engine's thread, the last one finished.
        Raises QueueFullError or NoModelError instead of queueing."""


class ReplyBackend(Protocol):
    info: ModelInfo

    def reply(self, request: ChatRequest) -> Iterator[GenerationEvent]: ...


def run_reply(backend: ReplyBackend, request: ChatRequest, sink: Sink) -> None:
    """Runs one request on `backend`, streaming to `sink`; always ends with a finished event, whatever fails."""
    if request.cancel.is_set():
        sink(GenerationEvent(finish_reason=FinishReason.CANCELLED))
        return
    try:
        for event in backend.reply(request):
            sink(event)
            if event.finished:
                return
    except Exception as exc:  # noqa: BLE001 - the client gets the sentence; the engine goes on with the next one
        sink(GenerationEvent(finish_reason=FinishReason.ERROR, error=str(exc) or type(exc).__name__))
        return
    sink(GenerationEvent(finish_reason=FinishReason.ERROR, error="The model stopped without finishing the reply."))


class EngineThread:
    """One loaded model on its own thread, answering the server's requests in order."""

    def __init__(self, backend: ReplyBackend, *, max_waiting: int = MAX_WAITING) -> None:
        self._backend = backend
        self._jobs: queue.Queue[tuple[ChatRequest, Sink] | None] = queue.Queue()
        self._max_waiting = max_waiting
        self._waiting = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="enclave-serve-engine", daemon=True)
        self._thread.start()

    def model(self) -> ModelInfo | None:
        return self._backend.info

    def submit(self, request: ChatRequest, sink: Sink) -> None:
        with self._lock:
            if self._waiting >= self._max_waiting:
                raise QueueFullError(f"{self._waiting} requests are already waiting for the model; try again later.")
            self._waiting += 1
        self._jobs.put((request, sink))

    def close(self) -> None:
        """Lets the request that runs finish (cancel it first to hurry it), then ends the thread."""
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            with self._lock:
                self._waiting -= 1
            run_reply(self._backend, *job)
