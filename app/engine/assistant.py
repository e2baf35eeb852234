"""The chat use case: a conversation so far, attached documents, the user's message and the chat's settings in;
a stream of typed events out. No Qt: the window's engine thread, `enclave chat` and a server all drive this.

One `ChatRequest` is one reply. The caller owns the history (the window's database, a server's request body),
so every request carries all earlier turns; `Assistant` keeps one `ChatSession` whose KV cache follows the
conversation being answered, and a request that continues the previous one only prefills what changed.
Cancellation is the request's `threading.Event`: setting it from any thread ends the reply between two tokens
with `FinishReason.CANCELLED`. The request's stop strings end the answer before the first of them
(`FinishReason.STOP`); they apply to the answer, not to the reasoning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from app.engine.chat import ChatSession
from app.engine.chat_request import ChatRequest, Turn
from app.engine.events import Channel, FinishReason, GenerationEvent, ModelInfo
from app.engine.generator import GenerationConfig
from app.engine.grounding import DocumentGrounder, document_cap
from app.engine.harmony import Message
from app.engine.sampling import make_sampler
from app.engine.session import LoadedModel
from app.engine.stop_text import StopText


class Assistant:
    """One loaded model answering chat requests, one at a time (not thread-safe: one thread drives it)."""

    def __init__(self, model: LoadedModel, *, date: dt.date | None = None) -> None:
        self.model = model
        self.info: ModelInfo = model.info
        self.session = ChatSession(model)
        self.grounder = DocumentGrounder(model.tokenizer, prompt_tokens=self._history_tokens,
                                         context_tokens=self.session.generator.max_length,
                                         cap=document_cap(model.info.provider))
        self._date = date  # None: today, read at every request (a window stays open over midnight)

    def reply(self, request: ChatRequest) -> Iterator[GenerationEvent]:
        """Streams the reply; the last event has `finish_reason` set. With documents, the first event carries
        the citations of the passages put in front of the model."""
        settings, session = request.settings, self.session
        session.instructions = settings.system_prompt.strip() or None
        session.reasoning = settings.reasoning_effort
        session.date = self._date or dt.date.today()
        session.history = harmony_history(request.history)
        user_text, citations = self.grounder.user_turn(request)
        if citations is not None:
            yield GenerationEvent(citations=citations)
        config = GenerationConfig(max_new_tokens=settings.max_new_tokens, ignore_eos=request.ignore_eos)
        events = session.send(Message.user(user_text), make_sampler(settings.sampling), config, request.cancel)
        yield from stop_at_strings(events, request.stop) if request.stop else events

    def _history_tokens(self) -> int:
        return len(self.session.prompt_for(self.session.history))

    def reply_text(self) -> tuple[str, str]:
        """(answer, reasoning) of the last reply."""
        return self.session.reply_text()

    def close(self) -> None:
        self.model.close()


def stop_at_strings(events: Iterable[GenerationEvent], stops: Sequence[str]) -> Iterator[GenerationEvent]:
    """The events with the answer cut before the first stop string; the generation ends there (the iterator
    it came from is closed, which stops the model between two tokens)."""
    stop = StopText(stops)
    iterator = iter(events)
    held_channel = Channel.FINAL
    try:
        for event in iterator:
            if event.text and event.channel is not Channel.ANALYSIS:
                held_channel = event.channel
                text = stop.feed(event.text)
                if stop.matched:
                    yield replace(event, text=text, finish_reason=FinishReason.STOP, error=None)
                    return
                event = replace(event, text=text)
            if event.finished:
                tail = stop.flush()
                if tail:  # what was held back never became a stop string: it belongs to the answer
                    yield replace(event, text=tail, channel=held_channel, token_ids=(), finish_reason=None,
                                  error=None)
            yield event
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def harmony_history(turns: Sequence[Turn]) -> list[Message]:
    """Earlier turns as harmony messages; build_prompt drops reasoning that a later answer closed."""
    messages: list[Message] = []
    for turn in turns:
        if turn.role == "user":
            messages.append(Message.user(turn.text))
            continue
        if turn.reasoning:
            messages.append(Message.assistant(turn.reasoning, channel="analysis"))
        messages.append(Message.assistant(turn.text, channel="final"))
    return messages
