"""A scripted ChatBackend for UI edge cases that a random-weight model cannot produce on demand.

It yields the same GenerationEvent objects the engine does. The gate lets a test hold the reply at a known
point (to switch conversations or press Stop mid-reply) without sleeping: the worker thread waits on the
gate, and cancellation is honoured between tokens exactly as the real generator does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from app.engine.events import Channel, FinishReason, GenerationEvent, LoadProgress, ModelInfo
from app.engine.chat_request import ChatRequest


class ScriptedBackend:
    def __init__(self, reasoning: list[str], answer: list[str], *, hold_after: int | None = None,
                 finish: FinishReason = FinishReason.STOP, error: str | None = None) -> None:
        self.info = ModelInfo(name="scripted", path="scripted", provider="CPUExecutionProvider",
                              provider_reason="test", context_length=4096, target="cpu", load_seconds=0.01)
        self.reasoning = reasoning
        self.answer = answer
        self.hold_after = hold_after  # after this many tokens, wait for `gate` (or cancellation)
        self.gate = threading.Event()
        self.held = threading.Event()  # set when the reply reached the hold point
        self.requests: list[ChatRequest] = []
        self.finish, self.error = finish, error

    def reply(self, request: ChatRequest) -> Iterator[GenerationEvent]:
        self.requests.append(request)
        pieces = [(Channel.ANALYSIS, t) for t in self.reasoning] + [(Channel.FINAL, t) for t in self.answer]
        for count, (channel, text) in enumerate(pieces, start=1):
            if request.cancel.is_set():
                yield GenerationEvent(finish_reason=FinishReason.CANCELLED, new_tokens=count - 1, prompt_tokens=5)
                return
            yield GenerationEvent(token_ids=(count,), text=text, channel=channel, prompt_tokens=5, new_tokens=count,
                                  ttft_s=0.01, decode_tok_s=100.0)
            if self.hold_after is not None and count == self.hold_after:
                self.held.set()
                while not self.gate.wait(0.01):
                    if request.cancel.is_set():
                        break
        if request.cancel.is_set():
            yield GenerationEvent(finish_reason=FinishReason.CANCELLED, new_tokens=len(pieces), prompt_tokens=5)
            return
        yield GenerationEvent(finish_reason=self.finish, error=self.error, new_tokens=len(pieces), prompt_tokens=5,
                              ttft_s=0.01, decode_tok_s=100.0)

    def close(self) -> None:
        pass


def opener(backend: ScriptedBackend) -> Callable[..., ScriptedBackend]:
    def open_model(path: Path, progress: Callable[[LoadProgress], None], _engine=None) -> ScriptedBackend:
        progress(LoadProgress("loading", 0.5))
        return backend

    return open_model
