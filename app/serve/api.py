"""The OpenAI-compatible HTTP API (Starlette): `/v1/models` and `/v1/chat/completions`, streaming or not.

Each chat request is parsed (app.serve.request), put in line on the one engine (app.serve.engine_queue), and
answered from the engine's events: as server-sent events (`stream: true`) or as one JSON object. The reply
starts only once the engine's first event is there, so a prompt the context cannot hold is a proper HTTP 400
(`context_length_exceeded`), not a stream that ends in an error.

Cancellation follows the client: a task waits for the connection's `http.disconnect`, and the streaming body's
`finally` runs when Starlette stops it; either sets the request's cancel event, and the engine stops between
two tokens (or skips the request if it is still in line). Every finished request is reported once, with the
engine's own last event, to `on_request` (the CLI prints it; the window counts it).

Security: every route needs the bearer token (constant-time compare); the Host header must name the loopback
address, so a web page that rebinds a DNS name to 127.0.0.1 gets nothing; bodies are capped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.engine.events import Channel, FinishReason, GenerationEvent, ModelInfo
from app.serve import wire
from app.serve.engine_queue import NoModelError, QueueFullError, ServedEngine
from app.serve.request import ApiChat, ApiError, parse_chat
from app.serve.token import ServerToken

MAX_BODY_BYTES = 16 * 2**20  # a whole 131k-token conversation is ~0.6 MB of text; JSON escaping at most doubles it
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class RequestRecord:
    """One finished chat request, as the engine ended it."""

    number: int
    model: str
    stream: bool
    prompt_tokens: int
    new_tokens: int
    finish_reason: FinishReason
    error: str | None
    started: float  # time.monotonic() of the engine's first event
    ended: float  # time.monotonic() of its last
    client_gone: bool  # the client disconnected before the reply was complete

    def describe(self) -> str:
        why = {FinishReason.CANCELLED: "cancelled" + (" (the client disconnected)" if self.client_gone else ""),
               FinishReason.ERROR: f"failed: {self.error}"}.get(self.finish_reason, self.finish_reason.value)
        return (f"request {self.number}: {self.model}, {self.prompt_tokens} prompt tokens, {self.new_tokens} new, "
                f"{why}, {self.ended - self.started:.2f} s")


class ChatApi:
    """The ASGI app plus what it shares between requests (the cancel events of requests in flight)."""

    def __init__(self, engine: ServedEngine, token: ServerToken, *,
                 on_request: Callable[[RequestRecord], None] = lambda _r: None) -> None:
        self.engine = engine
        self.token = token
        self.on_request = on_request
        self._numbers = itertools.count(1)
        self._in_flight: set[threading.Event] = set()
        self._lock = threading.Lock()
        self._created = wire.now()
        self.app = Starlette(
            routes=[Route("/v1/models", self.models, methods=["GET"]),
                    Route("/v1/models/{model_id:path}", self.model, methods=["GET"]),
                    Route("/v1/chat/completions", self.chat_completions, methods=["POST"])],
            middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(LOOPBACK_HOSTS))],
            exception_handlers={404: self._not_found, 405: self._not_allowed},
        )

    def cancel_all(self) -> None:
        """Stops every reply in flight (the server is stopping)."""
        with self._lock:
            for cancel in self._in_flight:
                cancel.set()

    # ------------------------------------------------------------------------------------------ routes
    async def models(self, request: Request) -> Response:
        if (refused := self._refuse(request)) is not None:
            return refused
        info = self.engine.model()
        data = [] if info is None else [wire.model_object(info.name, info.context_length, self._created)]
        return JSONResponse({"object": "list", "data": data})

    async def model(self, request: Request) -> Response:
        if (refused := self._refuse(request)) is not None:
            return refused
        info, wanted = self.engine.model(), request.path_params["model_id"]
        if info is None or info.name != wanted:
            return _error(ApiError(404, f"The model {wanted!r} does not exist here.", code=wire.MODEL_NOT_FOUND,
                                   param="model"))
        return JSONResponse(wire.model_object(info.name, info.context_length, self._created))

    async def chat_completions(self, request: Request) -> Response:
        if (refused := self._refuse(request)) is not None:
            return refused
        info = self.engine.model()
        if info is None:
            return _error(ApiError(503, "No model is open in Enclave; open one in the window first.",
                                   kind="server_error", code="model_not_loaded"))
        try:
            chat = parse_chat(await _read_json(request), info.name, info.context_length)
        except ApiError as exc:
            return _error(exc)
        run = _Run(self, chat, asyncio.get_running_loop())
        try:
            self.engine.submit(chat.request, run.sink)
        except (QueueFullError, NoModelError) as exc:
            self._end(chat.request.cancel)
            if isinstance(exc, QueueFullError):
                return _error(ApiError(429, str(exc), kind="rate_limit_error", code="queue_full"))
            return _error(ApiError(503, str(exc), kind="server_error", code="model_not_loaded"))
        run.watch(request)
        try:
            first = await run.next()
        except BaseException:
            run.end()
            raise
        if first.finished and not first.new_tokens and first.finish_reason is not FinishReason.CANCELLED and \
                (first.error or first.finish_reason is FinishReason.CONTEXT_FULL):
            run.end()
            return _error(_engine_error(first, info))
        if chat.stream:
            return StreamingResponse(run.stream(first), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        try:
            return JSONResponse(await run.collect(first))
        except ApiError as exc:
            return _error(exc)
        finally:
            run.end()

    # ------------------------------------------------------------------------------------------ helpers
    def _refuse(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and given and self.token.matches(given.strip()):
            return None
        message = ("This server needs the API token shown in Enclave (Authorization: Bearer <token>)."
                   if not header else "The API token is not the one this Enclave server uses.")
        return _error(ApiError(401, message, code=wire.INVALID_API_KEY), headers={"WWW-Authenticate": "Bearer"})

    def _begin(self, cancel: threading.Event) -> int:
        with self._lock:
            self._in_flight.add(cancel)
        return next(self._numbers)

    def _end(self, cancel: threading.Event) -> None:
        with self._lock:
            self._in_flight.discard(cancel)

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return _error(ApiError(404, f"There is no {request.url.path} here; Enclave serves /v1/models and "
                                    "/v1/chat/completions."))

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        return _error(ApiError(405, f"{request.method} is not allowed on {request.url.path}."))


class _Run:
    """One chat request on its way through the engine: the events, the disconnect watch, the final record."""

    def __init__(self, api: ChatApi, chat: ApiChat, loop: asyncio.AbstractEventLoop) -> None:
        self.api, self.chat, self.loop = api, chat, loop
        self.cancel = chat.request.cancel
        self.number = api._begin(self.cancel)
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = wire.now()
        self.client_gone = False
        self._events: asyncio.Queue[GenerationEvent] = asyncio.Queue()
        self._watcher: asyncio.Task | None = None
        self._first_at: float | None = None
        self._ended = False

    # --- the engine's side (its thread) ------------------------------------------------------------------
    def sink(self, event: GenerationEvent) -> None:
        now = time.monotonic()
        if self._first_at is None:
            self._first_at = now
        if event.finished:
            self.api._end(self.cancel)
            self.api.on_request(RequestRecord(
                self.number, self.chat.model, self.chat.stream, event.prompt_tokens, event.new_tokens,
                event.finish_reason or FinishReason.ERROR, event.error, self._first_at, now, self.client_gone))
        with contextlib.suppress(RuntimeError):  # the loop is gone: the server stopped, no one is listening
            self.loop.call_soon_threadsafe(self._events.put_nowait, event)

    # --- the client's side (the event loop) --------------------------------------------------------------
    def watch(self, request: Request) -> None:
        async def wait_for_disconnect() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            if not self._ended:
                self.client_gone = True
                self.cancel.set()

        self._watcher = asyncio.create_task(wait_for_disconnect())

    async def next(self) -> GenerationEvent:
        return await self._events.get()

    def end(self) -> None:
        """The response is complete (or abandoned): stop the engine if it still runs, stop watching."""
        if not self._ended:
            self._ended = True
            self.cancel.set()
        if self._watcher is not None:
            self._watcher.cancel()

    async def stream(self, first: GenerationEvent) -> AsyncIterator[str]:
        chat, event, done = self.chat, first, False
        try:
            yield _sse(wire.chunk(self.id, self.created, chat.model, {"role": "assistant", "content": ""}))
            while True:
                delta = _delta(event, chat.include_reasoning)
                if delta:
                    yield _sse(wire.chunk(self.id, self.created, chat.model, delta))
                if event.finished:
                    done = True
                    break
                event = await self.next()
            if event.finish_reason is FinishReason.CANCELLED:
                return  # the client left, or the server is stopping: no one reads the rest
            if event.finish_reason is FinishReason.ERROR:
                yield _sse(wire.error_body(event.error or "The model failed.", kind="server_error"))
            else:
                yield _sse(wire.chunk(self.id, self.created, chat.model, {},
                                      wire.FINISH_REASONS[event.finish_reason]))  # type: ignore[index]
                if chat.include_usage:
                    yield _sse({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                                "model": chat.model, "choices": [],
                                "usage": wire.usage(event.prompt_tokens, event.new_tokens, event.cached_tokens)})
            yield "data: [DONE]\n\n"
        finally:
            if not done and not self._ended:  # Starlette stopped the body: the client disconnected
                self.client_gone = True
            self.end()

    async def collect(self, first: GenerationEvent) -> dict[str, Any]:
        content, reasoning, event = [], [], first
        while True:
            if event.text:
                (reasoning if event.channel is Channel.ANALYSIS else content).append(event.text)
            if event.finished:
                break
            event = await self.next()
        if event.finish_reason is FinishReason.ERROR:
            raise ApiError(500, event.error or "The model failed.", kind="server_error")
        if event.finish_reason is FinishReason.CANCELLED:
            raise ApiError(503, "The reply was cancelled because the server is stopping.", kind="server_error")
        return wire.completion(self.id, self.created, self.chat.model, "".join(content), "".join(reasoning),
                               wire.FINISH_REASONS[event.finish_reason],  # type: ignore[index]
                               wire.usage(event.prompt_tokens, event.new_tokens, event.cached_tokens),
                               include_reasoning=self.chat.include_reasoning)


def _delta(event: GenerationEvent, include_reasoning: bool) -> dict[str, Any]:
    if not event.text:
        return {}
    if event.channel is Channel.ANALYSIS:
        return wire.message_delta(reasoning=event.text, include_reasoning=include_reasoning)
    return wire.message_delta(content=event.text)


def _engine_error(event: GenerationEvent, info: ModelInfo) -> ApiError:
    if event.finish_reason is FinishReason.CONTEXT_FULL:
        return ApiError(400, f"This model's context holds {info.context_length} tokens, but the messages take "
                             f"{event.prompt_tokens}; shorten them.", code=wire.CONTEXT_LENGTH_EXCEEDED,
                        param="messages")
    return ApiError(500, event.error or "The model failed.", kind="server_error")


async def _read_json(request: Request) -> object:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"The request body is larger than {MAX_BODY_BYTES // 2**20} MB.")
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"The request body is larger than {MAX_BODY_BYTES // 2**20} MB.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"The request body is not valid JSON ({exc}).") from exc


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def _error(exc: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(wire.error_body(exc.message, kind=exc.kind, code=exc.code, param=exc.param),
                        status_code=exc.status, headers=headers)
