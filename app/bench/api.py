"""`enclave bench-api PACKAGE`: what the OpenAI-compatible API costs per token, beside the engine called directly.

Same package, same prompt, greedy, the same number of tokens; rounds alternate (direct, API, API, direct, ...)
so a noisy neighbour hurts both alike, and the difference is taken per round pair. Both paths drive the one
`Assistant` (one model in memory, like the window): directly on this thread, or through the real server on
127.0.0.1 (starlette + uvicorn, the engine thread, server-sent events) read by a streaming HTTP client.
Client, server and engine share this process, as in the window; `enclave serve` with its client in another
process pays less, so this is an upper bound.

Per round: wall time per token (request sent -> last token received, divided by the tokens made) and decode
time per token (first answer text -> last token, over the tokens in between), for each path.

On a loaded machine the engine's own noise (milliseconds per token) hides the API's cost (a fraction of one).
So the run ends with replay rounds: the events of a real reply, handed to the same server again at once by a
backend that does no model work, read by the same client. Their time per token is what the API path itself
costs (the queue, the event loop, SSE encoding, HTTP, the client's parsing), with the engine taken out.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from app.bench.measure import summary
from app.engine.assistant import Assistant
from app.engine.chat_request import ChatRequest, ChatSettings
from app.engine.events import GenerationEvent, ModelInfo
from app.engine.sampling import SamplingParams
from app.engine.session import load_model

PROMPT = "Explain, step by step, how a heat pump moves heat from a cold room into a warm one."


@dataclass(frozen=True)
class PathRound:
    tokens: int
    wall_ms_per_token: float
    decode_ms_per_token: float | None
    first_text_s: float
    pieces: int = 0  # text pieces received (streamed chunks with text; one per token once the answer streams)


@dataclass(frozen=True)
class ApiBenchOptions:
    package: Path
    new_tokens: int = 256
    rounds: int = 5
    provider: str | None = None


def run_api_bench(opts: ApiBenchOptions, out: TextIO) -> dict[str, Any]:
    import httpx2

    from app.serve.api import ChatApi
    from app.serve.engine_queue import EngineThread
    from app.serve.server import LocalServer
    from app.serve.token import ServerToken, new_token_value

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    model = load_model(opts.package, provider=opts.provider)
    assistant = Assistant(model)
    info = model.info
    say(f"package {opts.package} on {info.provider}; {opts.new_tokens} tokens per round, {opts.rounds} rounds each")
    settings = ChatSettings(sampling=SamplingParams(temperature=0.0), max_new_tokens=opts.new_tokens)
    engine = EngineThread(assistant)
    token = ServerToken(new_token_value(), kept=False)
    server = LocalServer(ChatApi(engine, token), port=0)
    server.start()
    body = {"model": info.name, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": opts.new_tokens,
            "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}
    headers = {"Authorization": f"Bearer {token.value}"}
    client = httpx2.Client(base_url=server.url + "/", headers=headers, trust_env=False, timeout=600)
    recorded: list[GenerationEvent] = []

    def direct() -> tuple[PathRound, int]:
        request = ChatRequest(history=(), user_text=PROMPT, settings=settings)
        started, first, first_tokens, last = time.perf_counter(), None, 0, None
        recorded.clear()
        for event in assistant.reply(request):
            recorded.append(event)
            if event.text and first is None:
                first, first_tokens = time.perf_counter(), event.new_tokens
            last = event
        ended = time.perf_counter()
        if last is None:
            raise RuntimeError("the engine returned no event")
        return _round(last.new_tokens, started, first, ended, first_tokens), first_tokens

    def api(first_tokens: int, http: httpx2.Client = client) -> PathRound:
        started, first, made, pieces = time.perf_counter(), None, 0, 0
        with http.stream("POST", "chat/completions", json=body) as response:
            response.raise_for_status()
            for event in httpx2.EventSource(response):
                if event.data == "[DONE]":
                    break
                chunk = json.loads(event.data)
                if chunk.get("usage"):
                    made = chunk["usage"]["completion_tokens"]
                elif chunk["choices"] and _has_text(chunk["choices"][0]["delta"]):
                    pieces += 1
                    first = first or time.perf_counter()
        ended = time.perf_counter()
        return replace(_round(made, started, first, ended, first_tokens), pieces=pieces)

    try:
        _, first_tokens = direct()  # warm-up of both paths (arenas, the cache, the HTTP connection)
        api(first_tokens)
        directs: list[PathRound] = []
        apis: list[PathRound] = []
        for r in range(opts.rounds):
            for who in (("direct", "api") if r % 2 == 0 else ("api", "direct")):
                if who == "direct":
                    directs.append(direct()[0])
                else:
                    apis.append(api(first_tokens))
                result = directs[-1] if who == "direct" else apis[-1]
                say(f"round {r + 1} {who:6s}: {result.tokens} tokens, {result.wall_ms_per_token:.3f} ms/token wall, "
                    f"decode {_ms(result.decode_ms_per_token)} ms/token, first text {result.first_text_s * 1e3:.1f} ms")
    finally:
        client.close()
        server.stop()
        engine.close()
        model.close()
    replays = _replay_rounds(info, list(recorded), token, body, opts.rounds, api, say)
    return _report(directs, apis, replays, say)


class _Replay:
    """A backend that hands out the events of one real reply again, at once: no model work at all."""

    def __init__(self, info: ModelInfo, events: list[GenerationEvent]) -> None:
        self.info = info
        self._events = events

    def reply(self, request: ChatRequest):  # noqa: ANN201 - an iterator of GenerationEvent
        yield from self._events


def _replay_rounds(info: ModelInfo, events: list[GenerationEvent], token, body, rounds: int, api, say):  # noqa: ANN001
    import httpx2

    from app.serve.api import ChatApi
    from app.serve.engine_queue import EngineThread
    from app.serve.server import LocalServer

    engine = EngineThread(_Replay(info, events))
    server = LocalServer(ChatApi(engine, token), port=0)
    server.start()
    client = httpx2.Client(base_url=server.url + "/", headers={"Authorization": f"Bearer {token.value}"},
                           trust_env=False, timeout=600)
    results: list[PathRound] = []
    try:
        api(0, client)  # warm-up
        for r in range(rounds):
            results.append(api(0, client))
            last = results[-1]
            per_piece = last.wall_ms_per_token * last.tokens / max(last.pieces, 1)
            say(f"replay {r + 1}: {last.tokens} tokens in {last.pieces} pieces through the API with no model work, "
                f"{last.wall_ms_per_token:.3f} ms/token, {per_piece:.3f} ms/piece")
    finally:
        client.close()
        server.stop()
        engine.close()
    return results


def _round(tokens: int, started: float, first: float | None, ended: float, first_tokens: int) -> PathRound:
    after_first = tokens - first_tokens
    decode = 1e3 * (ended - first) / after_first if first is not None and after_first > 0 else None
    return PathRound(tokens, 1e3 * (ended - started) / max(tokens, 1), decode,
                     (first if first is not None else ended) - started)


def _report(directs: list[PathRound], apis: list[PathRound], replays: list[PathRound],
            say) -> dict[str, Any]:  # noqa: ANN001
    wall = [a.wall_ms_per_token - d.wall_ms_per_token for d, a in zip(directs, apis, strict=True)]
    decode = [a.decode_ms_per_token - d.decode_ms_per_token for d, a in zip(directs, apis, strict=True)
              if a.decode_ms_per_token is not None and d.decode_ms_per_token is not None]
    ratio = [a.wall_ms_per_token / d.wall_ms_per_token for d, a in zip(directs, apis, strict=True)]
    first = [1e3 * (a.first_text_s - d.first_text_s) for d, a in zip(directs, apis, strict=True)]
    result: dict[str, Any] = {
        "direct": [asdict(d) for d in directs], "api": [asdict(a) for a in apis],
        "overhead_wall_ms_per_token": summary(wall), "ratio_wall_api_over_direct": summary(ratio),
        "overhead_first_text_ms": summary(first),
        "replay": [asdict(r) for r in replays],
        "api_path_ms_per_token": summary([r.wall_ms_per_token for r in replays]),
        "api_path_ms_per_piece": summary([r.wall_ms_per_token * r.tokens / max(r.pieces, 1) for r in replays]),
    }
    if decode:
        result["overhead_decode_ms_per_token"] = summary(decode)
    say(f"direct: median {statistics.median(d.wall_ms_per_token for d in directs):.3f} ms/token wall; "
        f"API: median {statistics.median(a.wall_ms_per_token for a in apis):.3f} ms/token wall")
    say(f"API overhead per token (wall, per round pair): median {statistics.median(wall):.3f} ms "
        f"(min {min(wall):.3f}, max {max(wall):.3f}); ratio API/direct median {statistics.median(ratio):.3f}")
    if decode:
        say(f"API overhead per decoded token: median {statistics.median(decode):.3f} ms "
            f"(min {min(decode):.3f}, max {max(decode):.3f})")
    say(f"API overhead to the first answer text: median {statistics.median(first):.1f} ms")
    path = result["api_path_ms_per_token"]
    share = path["median"] / statistics.median(d.wall_ms_per_token for d in directs)
    result["api_path_share_of_direct"] = share
    say(f"the API path itself (replayed events, no model work): median {path['median']:.3f} ms/token "
        f"(min {path['min']:.3f}, max {path['max']:.3f}), {100 * share:.1f}% of the direct engine's median time "
        "per token")
    piece = result["api_path_ms_per_piece"]
    say(f"per streamed piece (a real model streams one token per piece): median {piece['median']:.3f} ms "
        f"(min {piece['min']:.3f}, max {piece['max']:.3f})")
    return result


def _has_text(delta: dict[str, Any]) -> bool:
    return bool(delta.get("content") or delta.get("reasoning"))


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
