"""Running the API on 127.0.0.1 with uvicorn: bound to the loopback address only, inside the network guard's scope.

The listening socket is made here, not by uvicorn, for two reasons: the address is fixed to 127.0.0.1 (no
option, no configuration file can widen it), and a port that is taken becomes one sentence before anything
starts. The guard's scope (`network_allowed(["127.0.0.1"], ...)`) is open exactly while the server runs, so
the status bar says "Online: Local API server on 127.0.0.1:PORT" and nothing else in the process may reach
beyond loopback meanwhile.

uvicorn is told exactly which protocol and event loop to use (h11 and asyncio, both pure Python) instead of
looking them up by name, so the frozen app carries what it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.netguard import network_allowed
from app.serve.api import ChatApi

HOST = "127.0.0.1"
DEFAULT_PORT = 8484
GRACEFUL_STOP_S = 3.0


class ServerError(RuntimeError):
    """The server could not start; the message is one sentence."""


@dataclass(frozen=True)
class TlsFiles:
    """A certificate chain and its private key (PEM), for clients that insist on https even on loopback."""

    certificate: Path
    key: Path


class LocalServer:
    """The API served on 127.0.0.1:`port` (0: any free port) until `stop()`."""

    def __init__(self, api: ChatApi, port: int = DEFAULT_PORT, *, tls: TlsFiles | None = None) -> None:
        if not 0 <= port <= 65535:
            raise ServerError(f"The port must be between 1 and 65535, not {port}.")
        self.api = api
        self.tls = tls
        self._requested_port = port
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        # Set when the serving thread has finished. Waits use it, not Thread.join: on Python 3.11 a join that
        # Ctrl+C/SIGTERM interrupts marks the thread stopped while it still runs, so the next join returned at
        # once and the process exited under a thread still shutting uvicorn down ("Exception in thread" after
        # "Stopped.": tests/serve/test_serve_cli.py, about 1 run in 7 under load).
        self._finished = threading.Event()
        self._scope: contextlib.ExitStack | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The base URL clients use (OpenAI clients take it as base_url)."""
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Binds and starts serving on a thread of its own; returns once the port accepts connections."""
        config = self._config()
        scope = contextlib.ExitStack()
        port = self._requested_port
        scope.enter_context(network_allowed([HOST], reason=f"Local API server on {HOST}:{port or 'a free port'}"))
        try:
            self._socket = _listen(port)
        except BaseException:
            scope.close()
            raise
        self.port = self._socket.getsockname()[1]
        self._scope = scope
        self._server = uvicorn.Server(config)
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="enclave-serve-http", daemon=True)
        self._thread.start()

    def serve_forever(self, on_ready: Callable[[], None] | None = None) -> None:
        """Starts (unless started) and blocks until `stop()`, Ctrl+C or SIGTERM (what service managers send).

        `on_ready` (the CLI's "Press Ctrl+C to stop" lines) runs after SIGTERM is caught and inside the Ctrl+C
        handling: a signal sent the moment that line appears stops the server cleanly instead of killing it
        (a test that signalled right after the line met the handler not yet installed, exit -15)."""
        if self._server is None:
            self.start()
        assert self._thread is not None
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _interrupt)
        try:
            if on_ready is not None:
                on_ready()
            while not self._finished.wait(0.5):  # a wait with a timeout lets Ctrl+C through on every platform
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Cancels the replies in flight, lets their connections close, and closes the port and the scope."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self.api.cancel_all()
        server.should_exit = True
        if thread is not None:
            self._finished.wait(GRACEFUL_STOP_S + 5)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        if self._scope is not None:
            self._scope.close()
            self._scope = None

    def _serve(self) -> None:
        assert self._server is not None and self._socket is not None
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        finally:
            self._finished.set()

    def _config(self) -> uvicorn.Config:
        tls = self.tls
        if tls is not None:
            for path in (tls.certificate, tls.key):
                if not Path(path).is_file():
                    raise ServerError(f"The TLS file {path} does not exist.")
        config = uvicorn.Config(
            self.api.app, http=H11Protocol, ws="none", loop="none", lifespan="off", log_config=None,
            log_level="warning", access_log=False, server_header=False, timeout_graceful_shutdown=int(GRACEFUL_STOP_S),
            ssl_certfile=str(tls.certificate) if tls else None, ssl_keyfile=str(tls.key) if tls else None)
        try:
            config.load()
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise ServerError(f"The TLS certificate {tls.certificate if tls else ''} and key could not be used "
                              f"({exc}).") from exc
        return config


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: no other program may share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            raise ServerError(f"Port {port} on {HOST} is already in use by another program; choose another "
                              "port.") from exc
        if exc.errno in (errno.EACCES, getattr(errno, "WSAEACCES", -1)):
            raise ServerError(f"This computer does not allow Enclave to listen on port {port}; choose a port "
                              "above 1024.") from exc
        raise ServerError(f"Could not listen on {HOST}:{port} ({exc.strerror or exc}).") from exc
    sock.set_inheritable(False)
    return sock
