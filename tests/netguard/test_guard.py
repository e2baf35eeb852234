"""The network guard against real sockets: real servers on loopback, real lookups, real threads and processes.

The suite runs with the guard installed (tests/conftest.py), so these tests see exactly what the app sees.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from app import netguard
from app.netguard import NetworkBlockedError, network_allowed

LOOPBACK_SERVER = "Test server on loopback"


@contextmanager
def http_server() -> Iterator[int]:
    """A real HTTP server on 127.0.0.1 (bound inside a scope, as the app's own server will be)."""
    with network_allowed(["127.0.0.1"], reason=LOOPBACK_SERVER):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_outside_a_scope_every_internet_socket_and_lookup_is_refused() -> None:
    before = netguard.state().blocked
    with pytest.raises(NetworkBlockedError, match=r"^Enclave is offline and refused a lookup of example\.com"):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(NetworkBlockedError, match="a lookup of localhost"):
        socket.gethostbyname("localhost")
    with pytest.raises(NetworkBlockedError, match=r"a connection to 93\.184\.216\.34:80"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
            pytest.raises(NetworkBlockedError, match=r"sending to 8\.8\.8\.8:53"):
        udp.sendto(b"\x00", ("8.8.8.8", 53))
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as tcp6, \
            pytest.raises(NetworkBlockedError, match=r"a connection to \[::1\]:9"):
        tcp6.connect(("::1", 9))
    with socket.socket() as server, pytest.raises(NetworkBlockedError, match="listening on 0.0.0.0:8080"):
        server.bind(("0.0.0.0", 8080))
    with pytest.raises(NetworkBlockedError, match="reverse lookup"):
        socket.gethostbyaddr("127.0.0.1")
    with pytest.raises(urllib.error.URLError) as caught:
        _fetch("https://huggingface.co/api/models")
    assert isinstance(caught.value.reason, NetworkBlockedError)  # libraries see an ordinary OSError
    assert netguard.state().blocked == before + 8
    assert netguard.state().recent_blocked[-1].endswith("a lookup of huggingface.co")


def test_a_loopback_server_is_reachable_only_inside_its_scope() -> None:
    with http_server() as port:
        with pytest.raises(urllib.error.URLError, match=rf"refused a connection to 127\.0\.0\.1:{port}"):
            _fetch(f"http://127.0.0.1:{port}/")  # loopback is not special
        with network_allowed(["127.0.0.1"], reason="Local API server"):
            assert netguard.state().describe() == "Online: Local API server"
            assert _fetch(f"http://127.0.0.1:{port}/") == b"hello"
            with pytest.raises(urllib.error.URLError, match=r"only 127\.0\.0\.1 may be reached now "
                                                            r"\(Local API server\)"):
                _fetch(f"http://localhost:{port}/")  # a name the scope does not list is not looked up
        with pytest.raises(urllib.error.URLError):
            _fetch(f"http://127.0.0.1:{port}/")
    assert netguard.state().describe() == "Offline"


def test_a_named_host_scope_allows_the_addresses_its_lookup_returned() -> None:
    with http_server() as port, network_allowed(["localhost"], reason="Downloading from a mirror"):
        with pytest.raises(NetworkBlockedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()  # not looked up through the scope yet
        addresses = {info[4][0] for info in socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)}
        assert "127.0.0.1" in addresses
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        assert _fetch(f"http://localhost:{port}/") == b"hello"


def test_a_scope_covers_every_thread_while_it_is_open() -> None:
    results: list[object] = []

    def worker(port: int, opened: threading.Event, done: threading.Event) -> None:
        opened.wait(10)
        try:
            results.append(_fetch(f"http://127.0.0.1:{port}/"))
        except OSError as exc:
            results.append(exc)
        done.set()

    with http_server() as port:
        opened, done = threading.Event(), threading.Event()
        thread = threading.Thread(target=worker, args=(port, opened, done))
        thread.start()
        with network_allowed(["127.0.0.1"], reason="Download with a thread pool"):
            opened.set()
            assert done.wait(10)
        thread.join()
        assert results == [b"hello"]


def test_unix_sockets_stay_allowed() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"dbus")
        assert b.recv(4) == b"dbus"
    assert a.family == socket.AF_UNIX


def test_state_listeners_hear_scopes_and_refusals() -> None:
    heard: list[str] = []
    remove = netguard.add_listener(lambda state: heard.append(state.describe()))
    try:
        with network_allowed(["127.0.0.1"], reason="Serving"):
            pass
        with pytest.raises(NetworkBlockedError):
            socket.getaddrinfo("example.org", 80)
    finally:
        remove()
    assert heard == ["Online: Serving", "Offline", "Offline"]
    with pytest.raises(ValueError, match="at least one host"):
        with network_allowed([" "], reason="nothing"):
            pass
    with pytest.raises(ValueError, match="reason"):
        with network_allowed(["127.0.0.1"], reason=""):
            pass


def test_the_cli_and_the_document_sandbox_run_behind_the_guard(tmp_path) -> None:
    """A fresh `enclave` process and a fresh sandbox child both refuse a connection to a live loopback server."""
    probe = ("import json, socket, sys\n"
             "from app.cli.main import main\n"
             "main(['policy', 'show', '--json'])\n"
             "try:\n"
             "    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)\n"
             "    print('CONNECTED')\n"
             "except OSError as exc:\n"
             "    print(type(exc).__name__)\n")
    with http_server() as port:
        out = subprocess.run([sys.executable, "-c", probe, str(port)], capture_output=True, text=True,
                             timeout=120, check=True).stdout
        assert out.strip().splitlines()[-1] == "NetworkBlockedError"

        from app.documents.model import DocumentLimits, ExtractionError
        from app.documents.sandbox import run_isolated

        # The child's own seccomp filter (app/documents/confinement.py, Linux) refuses the socket itself before
        # the guard sees a connect; elsewhere the guard refuses the connect.
        with pytest.raises(ExtractionError, match="NetworkBlockedError: Enclave is offline|PermissionError"):
            run_isolated("tests.netguard.sandbox_probe:connect", [port], name="probe.txt",
                         limits=DocumentLimits())
    assert json.loads(out[:out.rindex("}") + 1])["source"].startswith("none")
