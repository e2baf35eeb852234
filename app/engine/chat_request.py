"""What a client asks the assistant for: one reply to a conversation (`ChatRequest`), answered with the chat's
settings (`ChatSettings`: instructions, reasoning effort, sampling and the reply budget, as one value).

Plain data, kept apart from app.engine.assistant (which loads ONNX Runtime): the window, a server and the
settings file build and check these without importing the model runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from app.documents.model import Document
from app.engine.sampling import DEFAULT_MAX_NEW_TOKENS, SAMPLING_BOUNDS, SamplingParams, parse_sampling

REASONING_EFFORTS: tuple[str, ...] = ("low", "medium", "high")  # harmony's "Reasoning: low" etc.


@dataclass(frozen=True)
class ChatSettings:
    """How a chat is answered: the developer instructions, the reasoning effort, sampling and the reply budget.

    The defaults are those of a new chat in the app: gpt-oss's model card recommends temperature 1.0 and top_p
    1.0. `max_new_tokens` travels beside the sampling because it bounds the reply, not the choice of a token.
    """

    system_prompt: str = ""
    reasoning_effort: str = "medium"
    sampling: SamplingParams = SamplingParams(temperature=1.0)
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS

    def __post_init__(self) -> None:
        if self.reasoning_effort not in REASONING_EFFORTS:
            raise ValueError(f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}, "
                             f"got {self.reasoning_effort!r}.")
        SAMPLING_BOUNDS["max_new_tokens"].check("max_new_tokens", self.max_new_tokens)

    def sampling_json(self) -> dict[str, object]:
        """The sampling object of settings.json and of a stored conversation (max_new_tokens inside it)."""
        return {**self.sampling.to_json(), "max_new_tokens": self.max_new_tokens}

    def with_sampling_json(self, data: Mapping[str, object]) -> tuple[ChatSettings, list[str]]:
        """These settings with each valid entry of a stored sampling object; names of the invalid ones."""
        sampling, bad = parse_sampling(data, self.sampling)
        budget = self.max_new_tokens
        if "max_new_tokens" in data:
            if SAMPLING_BOUNDS["max_new_tokens"].contains(data["max_new_tokens"]):
                budget = int(data["max_new_tokens"])  # type: ignore[call-overload]
            else:
                bad.append("max_new_tokens")
        return replace(self, sampling=sampling, max_new_tokens=budget), bad


@dataclass(frozen=True)
class Turn:
    """One earlier message of the conversation. An assistant turn's reasoning is dropped from the prompt once
    a later answer closed it (as gpt-oss expects); it is kept here so the caller need not know that rule."""

    role: Literal["user", "assistant"]
    text: str
    reasoning: str = ""


@dataclass(frozen=True)
class ChatRequest:
    """One reply to ask for. `documents` are extracted files the answer must come from (cited as [n]);
    `stop` are strings the answer ends before (the API's `stop`, see app.engine.stop_text)."""

    history: tuple[Turn, ...]
    user_text: str
    settings: ChatSettings = field(default_factory=ChatSettings)
    documents: tuple[Document, ...] = ()
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)
    ignore_eos: bool = False  # timing runs (`enclave chat --ignore-eos`): go on to max_new_tokens
    stop: tuple[str, ...] = ()
