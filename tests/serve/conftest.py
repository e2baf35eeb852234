"""A real `enclave serve` stack in this process: the tiny model, the engine thread, the API and uvicorn on
127.0.0.1 (a free port), with the engine's own record of every finished request to check against."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.serve.api import RequestRecord


@dataclass
class Records:
    """The engine's records of finished requests; `wait(n)` blocks until n are there (no sleeping)."""

    items: list[RequestRecord] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, record: RequestRecord) -> None:
        with self._changed:
            self.items.append(record)
            self._changed.notify_all()

    def wait(self, count: int, timeout: float = 60.0) -> list[RequestRecord]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.items) >= count, timeout), \
                f"only {len(self.items)} of {count} requests finished"
            return list(self.items)


@dataclass
class Served:
    url: str
    token: str
    model: str
    records: Records
    context: int

    def client(self, api_key: str | None = None, timeout: float = 60):
        import openai

        return openai.OpenAI(base_url=self.url, api_key=self.token if api_key is None else api_key,
                             max_retries=0, timeout=timeout)


@pytest.fixture(scope="module")
def served(tiny_cpu_package: Path) -> Iterator[Served]:
    from app.engine.assistant import Assistant
    from app.engine.session import load_model
    from app.serve.api import ChatApi
    from app.serve.engine_queue import EngineThread
    from app.serve.server import LocalServer
    from app.serve.token import ServerToken, new_token_value

    model = load_model(tiny_cpu_package, threads=2)
    engine = EngineThread(Assistant(model))
    records = Records()
    token = ServerToken(new_token_value(), kept=False)
    server = LocalServer(ChatApi(engine, token, on_request=records.add), port=0)
    server.start()
    try:
        yield Served(server.url, token.value, model.info.name, records, model.info.context_length)
    finally:
        server.stop()
        engine.close()


@pytest.fixture(scope="module")
def direct(tiny_cpu_package: Path):
    """The same package on the engine directly (the reference the API's answers must match)."""
    from app.engine.assistant import Assistant
    from app.engine.session import load_model

    return Assistant(load_model(tiny_cpu_package, threads=2))


def direct_text(assistant, messages: list[tuple[str, str]], max_tokens: int, **settings) -> tuple[str, str, str]:
    """(answer, reasoning, finish reason) of the direct engine for a greedy reply to `messages`."""
    from app.engine.chat_request import ChatRequest, ChatSettings, Turn
    from app.engine.sampling import SamplingParams

    *earlier, (_, user) = messages
    request = ChatRequest(history=tuple(Turn(role, text) for role, text in earlier), user_text=user,  # type: ignore[arg-type]
                          settings=ChatSettings(sampling=SamplingParams(temperature=0.0), max_new_tokens=max_tokens,
                                                **settings))
    answer, reasoning, last = [], [], None
    for event in assistant.reply(request):
        (reasoning if event.channel.value == "analysis" else answer).append(event.text)
        last = event
    return "".join(answer), "".join(reasoning), last.finish_reason.value
