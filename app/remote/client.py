"""HTTP to a remote engine (httpx2, already in the app through huggingface_hub), with errors a user understands.

Every exchange runs inside the network guard's scope for that one host, so nothing else becomes reachable
while a remote reply streams. The client trusts the pinned CA bundle when one is given, else the operating
system's certificates; it never reads proxy settings, .netrc or SSL_* variables from the environment
(`trust_env=False`): where a conversation goes is decided by the endpoint and the policy, nothing else.

Cancelling: a reply that streams is read chunk by chunk, and a watcher closes the connection as soon as the
request's cancel event is set, so Stop works even while the server is still reading the prompt; the server
sees the disconnect and stops generating.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import httpx2

from app.netguard import NetworkBlockedError, network_allowed
from app.remote.endpoint import RemoteEndpoint, RemoteError
from app.serve.wire import CONTEXT_LENGTH_EXCEEDED, MODEL_NOT_FOUND

CONNECT_TIMEOUT_S = 15.0
_CANCEL_POLL_S = 0.1


class RemoteCancelled(Exception):
    """The caller cancelled while the reply streamed."""


class RemoteClient:
    """One remote engine's API, with the user's token."""

    def __init__(self, endpoint: RemoteEndpoint, token: str | None) -> None:
        self.endpoint = endpoint
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token.strip()}"
        try:
            verify: ssl.SSLContext | bool = (ssl.create_default_context(cafile=str(endpoint.ca_bundle))
                                             if endpoint.ca_bundle else True)
        except (OSError, ValueError) as exc:  # ssl.SSLError: not a PEM bundle
            raise RemoteError(f"The CA bundle {endpoint.ca_bundle} could not be read as PEM certificates "
                              f"({exc}).") from exc
        self._http = httpx2.Client(
            base_url=endpoint.url + "/", headers=headers, verify=verify, trust_env=False, follow_redirects=False,
            timeout=httpx2.Timeout(endpoint.timeout_s, connect=min(CONNECT_TIMEOUT_S, endpoint.timeout_s)))
        self._reason = f"Remote engine {endpoint.host}"

    def close(self) -> None:
        self._http.close()

    def list_models(self) -> list[dict[str, Any]]:
        """The server's /v1/models entries (each has at least an `id`)."""
        with network_allowed([self.endpoint.host], reason=self._reason):
            try:
                response = self._http.get("models")
            except httpx2.HTTPError as exc:
                raise self._translate(exc) from exc
            body = self._json_or_raise(response)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise RemoteError(f"{self.endpoint.url} answered /models without a list of models; it is not an "
                              "OpenAI-compatible API.")
        return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]

    def stream_chat(self, body: dict[str, Any], cancel: threading.Event) -> Iterator[dict[str, Any]]:
        """POSTs a streaming chat completion and yields each JSON chunk; raises RemoteError or RemoteCancelled."""
        with network_allowed([self.endpoint.host], reason=self._reason):
            try:
                with self._http.stream("POST", "chat/completions", json=body,
                                       headers={"Accept": "text/event-stream"}) as response:
                    if response.status_code != 200:
                        response.read()
                        self._json_or_raise(response)
                    yield from self._events(response, cancel)
            except RemoteCancelled:
                raise
            except httpx2.HTTPError as exc:
                if cancel.is_set():
                    raise RemoteCancelled() from exc
                raise self._translate(exc) from exc

    # ------------------------------------------------------------------------------------------ internals
    def _events(self, response: httpx2.Response, cancel: threading.Event) -> Iterator[dict[str, Any]]:
        kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind != "text/event-stream":
            raise RemoteError(f"{self.endpoint.url} answered a streaming request with {kind or 'no content type'} "
                              "instead of server-sent events.")
        done = threading.Event()

        def close_on_cancel() -> None:
            while not done.wait(_CANCEL_POLL_S):
                if cancel.is_set():
                    response.close()  # unblocks the read below; the server sees the disconnect
                    return

        watcher = threading.Thread(target=close_on_cancel, name="enclave-remote-cancel", daemon=True)
        watcher.start()
        try:
            for event in httpx2.EventSource(response):
                if cancel.is_set():
                    raise RemoteCancelled()
                data = event.data.strip()
                if not data:
                    continue
                if data == "[DONE]":
                    return
                try:
                    chunk = json.loads(data)
                except ValueError as exc:
                    raise RemoteError(f"{self.endpoint.host} sent a reply that is not JSON ({exc}).") from exc
                if isinstance(chunk, dict) and isinstance(chunk.get("error"), dict):
                    raise RemoteError(f"The remote engine failed while answering: {_message(chunk)}.")
                if isinstance(chunk, dict):
                    yield chunk
        except (httpx2.StreamClosed, httpx2.ReadError, httpx2.RemoteProtocolError) as exc:
            if cancel.is_set():
                raise RemoteCancelled() from exc
            raise
        finally:
            done.set()
            watcher.join()

    def _json_or_raise(self, response: httpx2.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if status == 200:
            if body is None:
                raise RemoteError(f"{self.endpoint.url} answered with something that is not JSON; it is not an "
                                  "OpenAI-compatible API.")
            return body
        detail = _message(body) if isinstance(body, dict) else ""
        code = _code(body) if isinstance(body, dict) else None
        host = self.endpoint.host
        if status in (401, 403):
            raise RemoteError(f"{host} refused the token (HTTP {status}); enter the token its administrator gave "
                              "you again.")
        if status == 404 and (code == MODEL_NOT_FOUND or "model" in detail.lower()):
            raise RemoteError(f"{host} does not serve the model that was asked for: {detail or 'not found'}.")
        if status == 404:
            raise RemoteError(f"{self.endpoint.url} has no OpenAI-compatible API (HTTP 404); check the URL "
                              "(it usually ends in /v1).")
        if code == CONTEXT_LENGTH_EXCEEDED or _mentions_context(detail):
            raise RemoteError(f"The conversation is too long for the remote model's context "
                              f"({detail.rstrip('.') or f'HTTP {status}'}); start a new chat or attach less.")
        if status == 429:
            raise RemoteError(f"{host} is busy (HTTP 429): {detail or 'too many requests'}; try again shortly.")
        if status >= 500:
            raise RemoteError(f"{host} failed (HTTP {status}){': ' + detail if detail else ''}.")
        raise RemoteError(f"{host} refused the request (HTTP {status}){': ' + detail if detail else ''}.")

    def _translate(self, exc: httpx2.HTTPError) -> RemoteError:
        host, url, timeout = self.endpoint.host, self.endpoint.url, self.endpoint.timeout_s
        causes = list(_causes(exc))
        if any(isinstance(c, NetworkBlockedError) for c in causes):
            blocked = next(c for c in causes if isinstance(c, NetworkBlockedError))
            return RemoteError(str(blocked))
        if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes):
            cert = next(c for c in causes if isinstance(c, ssl.SSLCertVerificationError))
            hint = ("check the CA bundle chosen for it" if self.endpoint.ca_bundle
                    else "choose the CA bundle your organisation gave you")
            return RemoteError(f"The TLS certificate of {host} is not trusted ({cert.verify_message or cert}); "
                               f"{hint}.")
        tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
        if tls is not None:
            return RemoteError(f"The TLS connection to {host} failed ({tls}); is it an https server?")
        if isinstance(exc, httpx2.ConnectTimeout):
            return RemoteError(f"{host} did not accept a connection within {min(CONNECT_TIMEOUT_S, timeout):.0f} s; "
                               "is the server up and reachable from here?")
        if isinstance(exc, httpx2.TimeoutException):
            return RemoteError(f"{host} did not answer within {timeout:.0f} s; the server may be overloaded.")
        if any(isinstance(c, socket.gaierror) for c in causes):
            return RemoteError(f"{host} could not be found (no such name on this network).")
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return RemoteError(f"Nothing answers at {url} (connection refused); is the server running?")
        if isinstance(exc, httpx2.RemoteProtocolError):
            return RemoteError(f"{host} closed the connection in the middle of the reply.")
        if isinstance(exc, httpx2.ConnectError):
            return RemoteError(f"Could not connect to {url} ({exc}).")
        return RemoteError(f"The connection to {host} failed ({exc}).")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _message(body: dict[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, dict):
        text = error.get("message")
    elif isinstance(error, str):
        text = error
    else:
        text = body.get("message") or body.get("detail")
    shown = "".join(ch if ch.isprintable() else " " for ch in str(text or "")).strip()
    return shown if len(shown) <= 300 else shown[:297] + "..."


def _code(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _mentions_context(detail: str) -> bool:
    text = detail.lower()
    return "context length" in text or "context window" in text or "maximum context" in text
