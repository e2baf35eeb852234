"""The chat use case: a conversation so far, attached documents, the user's message and the chat's settings in;
a stream of typed events out. No Qt: the window's engine thread, `enclave chat` and a server all drive this.

One `ChatRequest` is one reply. The caller owns the history (the window's database, a server's request body),
so every request carries all earlier turns; `Assistant` keeps one `ChatSession` whose KV cache follows the
conversation being answered, and a request that continues the previous one only prefills what changed.
Cancellation is the request's `threading.Event`: setting it from any thread ends the reply between two tokens
with `FinishReason.CANCELLED`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from app.engine.chat import ChatSession
from app.engine.chat_request import ChatRequest, Turn
from app.engine.events import GenerationEvent, ModelInfo
from app.engine.generator import GenerationConfig
from app.engine.grounding import DocumentGrounder
from app.engine.harmony import Message
from app.engine.session import LoadedModel


class Assistant:
    """One loaded model answering chat requests, one at a time (not thread-safe: one thread drives it)."""

    def __init__(self, model: LoadedModel, *, date: dt.date | None = None) -> None:
        self.model = model
        self.info: ModelInfo = model.info
        self.session = ChatSession(model)
        self.grounder = DocumentGrounder(self.session)
        self._date = date  # None: today, read at every request (a window stays open over midnight)

    def reply(self, request: ChatRequest) -> Iterator[GenerationEvent]:
        """Streams the reply; the last event has `finish_reason` set. With documents, the first event carries
        the citations of the passages put in front of the model."""
        settings, session = request.settings, self.session
        session.instructions = settings.system_prompt.strip() or None
        session.reasoning = settings.reasoning_effort
        session.date = self._date or dt.date.today()
        session.history = harmony_history(request.history)
        user_text = request.user_text
        if request.documents:
            grounded = self.grounder.ground(request.documents, request.user_text, settings.max_new_tokens)
            user_text = grounded.text
            yield GenerationEvent(citations=grounded.citations)
        config = GenerationConfig(max_new_tokens=settings.max_new_tokens, ignore_eos=request.ignore_eos)
        yield from session.send(Message.user(user_text), settings.sampling, config, request.cancel)

    def reply_text(self) -> tuple[str, str]:
        """(answer, reasoning) of the last reply."""
        return self.session.reply_text()

    def close(self) -> None:
        self.model.close()


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
