"""Run inside the document sandbox child by test_guard: tries to reach a loopback server the test started."""

from __future__ import annotations

import socket


def connect(port: int, progress) -> str:  # noqa: ANN001 - the sandbox's progress callback
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    return "connected"
