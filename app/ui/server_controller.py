"""The window's switch for the local API server: the model the window has open, served on 127.0.0.1.

The server's requests run on the window's own engine thread, in line with the user's replies (one model in
memory, one generation at a time): `WindowEngine` hands each request from the server's thread to the UI thread
through a queued signal, and the UI thread submits it to the engine's worker like any other job. Events go
straight from the engine thread to the server's event loop; the UI thread only hears that a request finished.
Off by default; the organisation's policy (ServerAllowed) can forbid it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from app.engine.chat_request import ChatRequest
from app.engine.events import ModelInfo
from app.policy import Policy
from app.serve.engine_queue import MAX_WAITING, NoModelError, QueueFullError, Sink
from app.serve.token import ServerToken, server_token
from app.storage.secrets import SecretStoreError
from app.ui.engine_host import EngineHost
from app.ui.model_controller import ModelController
from app.ui.worker import WorkerClient


@dataclass(frozen=True)
class ServerState:
    running: bool
    url: str = ""
    requests: int = 0  # finished since the server started
    error: str = ""  # why it could not start (one sentence)


class WindowEngine(QObject):
    """`ServedEngine` on the window's engine thread (see the module docstring)."""

    _submitted = Signal(object, object)  # request, sink; emitted on the server's thread

    def __init__(self, engine: WorkerClient[EngineHost], models: ModelController) -> None:
        super().__init__()
        self._engine = engine
        self._models = models
        self._waiting = 0  # server requests submitted and not finished (counted from two threads)
        self._lock = threading.Lock()
        self._submitted.connect(self._on_submitted)

    def model(self) -> ModelInfo | None:
        return self._models.info()

    def submit(self, request: ChatRequest, sink: Sink) -> None:
        if self._models.info() is None:
            raise NoModelError("No model is open in Enclave; open one in the window first.")
        with self._lock:
            if self._waiting >= MAX_WAITING:
                raise QueueFullError(f"{self._waiting} requests are already waiting for the model; try again later.")
            self._waiting += 1
        self._submitted.emit(request, sink)

    @Slot(object, object)
    def _on_submitted(self, request: ChatRequest, sink: Sink) -> None:
        def done(*_args: object) -> None:
            with self._lock:
                self._waiting -= 1

        self._engine.submit(lambda host, _report: host.serve(request, sink), finished=done,
                            errored=lambda message: done())


class ServerController(QObject):
    stateChanged = Signal(object)  # ServerState
    _finished = Signal(object)  # RequestRecord, from the engine thread

    def __init__(self, engine: WorkerClient[EngineHost], models: ModelController, policy: Policy) -> None:
        super().__init__()
        self._engine = WindowEngine(engine, models)
        self._policy = policy
        self._server = None  # app.serve.server.LocalServer while running (imported when first started)
        self._token: ServerToken | None = None
        self._state = ServerState(running=False)
        self._finished.connect(self._on_finished)

    # --- asked by the window -----------------------------------------------------------------------------------
    def allowed(self) -> bool:
        return self._policy.server_allowed

    def state(self) -> ServerState:
        return self._state

    def token(self) -> ServerToken:
        """The API token (from the keyring, made on first use)."""
        if self._token is None:
            self._token = server_token()
        return self._token

    def start(self, port: int) -> bool:
        from app.serve.api import ChatApi
        from app.serve.server import LocalServer, ServerError

        if self._server is not None:
            return True
        if not self._policy.server_allowed:
            return self._fail(self.tr("Your organisation's policy does not allow the local API server."))
        try:
            token = self.token()
            server = LocalServer(ChatApi(self._engine, token, on_request=self._finished.emit), port)
            server.start()
        except (ServerError, SecretStoreError) as exc:
            return self._fail(str(exc))
        self._server = server
        self._set(ServerState(running=True, url=server.url))
        return True

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        self._set(ServerState(running=False))

    def renew_token(self) -> ServerToken:
        """A new token; the old one is refused from the next request on (a running server keeps running)."""
        try:
            self._token = server_token(renew=True)
        except SecretStoreError as exc:
            self._fail(str(exc))
            return self.token()
        if self._server is not None:
            self._server.api.token = self._token
        return self._token

    # --- internals -----------------------------------------------------------------------------------------------
    def _on_finished(self, _record: object) -> None:
        if self._state.running:
            self._set(ServerState(running=True, url=self._state.url, requests=self._state.requests + 1))

    def _fail(self, message: str) -> bool:
        self._set(ServerState(running=False, error=message))
        return False

    def _set(self, state: ServerState) -> None:
        self._state = state
        self.stateChanged.emit(state)
