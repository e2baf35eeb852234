"""A remote engine in place of a local package: the same `reply(ChatRequest)` -> `GenerationEvent`s as
app.engine.assistant.Assistant, so the window, `enclave chat` and the history treat both alike.

What stays on this computer: the history (the caller sends every earlier turn, as it does to the local model,
and stores the reply itself), the documents (read and indexed here; only the passages chosen for a question go,
inside the user's message, to this one endpoint), and the token counts used to size those passages (the real
o200k_harmony tokenizer over the same harmony prompt gpt-oss reads, with the context length the server reports).
What goes to the endpoint: the chat completion request, nothing else, and only after `connect` checked that the
organisation's policy lists it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from app.engine.chat_request import ChatRequest
from app.engine.events import Channel, FinishReason, GenerationEvent, LoadProgress, ModelInfo
from app.engine.grounding import DocumentGrounder
from app.engine.harmony import HarmonyCodec, Message, SystemSettings, build_prompt
from app.engine.assistant import harmony_history
from app.engine.sampling import SamplingParams
from app.policy import Policy, current_policy
from app.remote.client import RemoteCancelled, RemoteClient
from app.remote.endpoint import REMOTE_TARGET, RemoteEndpoint, RemoteError
from app.serve.wire import CONTEXT_LENGTH_FIELDS, FINISH_FROM_WIRE, REASONING_FIELDS

# When the server does not say how long its context is: Enclave's own default, so attached documents are sized
# to fit any gpt-oss deployment (vLLM, llama.cpp and Ollama all report or default to at least this).
ASSUMED_CONTEXT = 8192
_DEFAULTS = SamplingParams()


def tokenizer_cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("Enclave", "Enclave")) / "tokenizer"


class RemoteAssistant:
    """One remote model answering chat requests (one at a time, like a local one)."""

    def __init__(self, client: RemoteClient, model_id: str, context_length: int, tokenizer: Tokenizer,
                 *, context_reported: bool, load_seconds: float, date: dt.date | None = None) -> None:
        endpoint = client.endpoint
        self.client = client
        self.endpoint = endpoint
        self.model_id = model_id
        self.codec = HarmonyCodec(tokenizer, source="the bundled o200k_harmony tokenizer")
        context_note = (f"{context_length} tokens of context" if context_reported else
                        f"the server does not say its context length; documents are sized for {context_length} "
                        "tokens")
        self.info = ModelInfo(
            name=model_id, path=endpoint.url, provider=f"Remote engine {endpoint.host}",
            provider_reason=(f"{model_id} runs on {endpoint.url}; conversations and attached documents are sent "
                             f"there and nowhere else ({context_note})."),
            context_length=context_length, target=REMOTE_TARGET, load_seconds=load_seconds)
        self._history: list[Message] = []
        self._instructions: str | None = None
        self._reasoning = "medium"
        self._date = date
        self.grounder = DocumentGrounder(tokenizer, prompt_tokens=lambda: len(self._prompt(self._history)),
                                         context_tokens=context_length)

    @classmethod
    def connect(cls, endpoint: RemoteEndpoint, token: str | None, *, policy: Policy | None = None,
                tokenizer: Tokenizer | None = None,
                progress: Callable[[LoadProgress], None] = lambda _p: None) -> RemoteAssistant:
        """Checks the policy, reaches the server (TLS, token), finds the model; raises RemoteError."""
        started = time.perf_counter()
        endpoint.check_allowed(policy if policy is not None else current_policy())
        progress(LoadProgress(f"Connecting to {endpoint.host}", 0.1))
        client = RemoteClient(endpoint, token)
        try:
            models = client.list_models()
            entry = _pick_model(endpoint, models)
            reported = _context_length(entry)
            progress(LoadProgress("Preparing the tokenizer that sizes documents", 0.5))
            from app.tokenizer.o200k_harmony import cached_tokenizer

            tokenizer = tokenizer or cached_tokenizer(tokenizer_cache())
        except BaseException:
            client.close()
            raise
        progress(LoadProgress(f"Connected to {endpoint.host}", 1.0))
        return cls(client, entry["id"], reported or ASSUMED_CONTEXT, tokenizer, context_reported=bool(reported),
                   load_seconds=time.perf_counter() - started)

    def reply(self, request: ChatRequest) -> Iterator[GenerationEvent]:
        """Streams the remote model's reply; the last event has `finish_reason` set (ERROR with one sentence
        when the server could not answer)."""
        settings = request.settings
        self._instructions = settings.system_prompt.strip() or None
        self._reasoning = settings.reasoning_effort
        self._history = harmony_history(request.history)
        user_text, citations = self.grounder.user_turn(request)  # documents are read and chosen here, not there
        if citations is not None:
            yield GenerationEvent(citations=citations)
        prompt_tokens = len(self._prompt([*self._history, Message.user(user_text)]))
        body = self._body(request, user_text)
        yield from self._stream(body, request, prompt_tokens)

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------------------------------ internals
    def _prompt(self, history: list[Message]) -> list[int]:
        return build_prompt(self.codec, SystemSettings(), self._instructions, (), history, self._reasoning,
                            self._date or dt.date.today())

    def _body(self, request: ChatRequest, user_text: str) -> dict[str, Any]:
        settings, sampling = request.settings, request.settings.sampling
        messages: list[dict[str, str]] = []
        if settings.system_prompt.strip():
            messages.append({"role": "system", "content": settings.system_prompt.strip()})
        for turn in request.history:  # earlier reasoning is not sent: gpt-oss drops it from the prompt anyway
            messages.append({"role": turn.role, "content": turn.text})
        messages.append({"role": "user", "content": user_text})
        body: dict[str, Any] = {
            "model": self.model_id, "messages": messages, "stream": True,
            "stream_options": {"include_usage": True}, "reasoning_effort": settings.reasoning_effort,
            "max_tokens": settings.max_new_tokens, "temperature": sampling.temperature, "top_p": sampling.top_p,
        }
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        for name in ("top_k", "min_p", "repetition_penalty"):  # vLLM's extras: sent only when the user set them
            if getattr(sampling, name) != getattr(_DEFAULTS, name):
                body[name] = getattr(sampling, name)
        if request.stop:
            body["stop"] = list(request.stop)
        return body

    def _stream(self, body: dict[str, Any], request: ChatRequest, prompt_tokens: int) -> Iterator[GenerationEvent]:
        started = time.perf_counter()
        first_at: float | None = None
        new_tokens = 0
        counts: dict[str, int] = {}
        finish: FinishReason | None = None

        def event(text: str = "", channel: Channel = Channel.FINAL, reason: FinishReason | None = None,
                  error: str | None = None) -> GenerationEvent:
            now = time.perf_counter()  # the rate counts chunks (one token each from most servers), not usage
            rate = (new_tokens - 1) / (now - first_at) if first_at is not None and new_tokens > 1 else None
            return GenerationEvent(text=text, channel=channel,
                                   prompt_tokens=counts.get("prompt_tokens", prompt_tokens),
                                   new_tokens=counts.get("completion_tokens", new_tokens),
                                   cached_tokens=counts.get("cached_tokens", 0),
                                   ttft_s=None if first_at is None else first_at - started, decode_tok_s=rate,
                                   finish_reason=reason, error=error)

        chunks = self.client.stream_chat(body, request.cancel)
        try:
            for chunk in chunks:
                counts.update(_usage(chunk.get("usage")))
                choices = chunk.get("choices")
                if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
                    continue
                choice = choices[0]
                delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
                for channel, text in _texts(delta):
                    new_tokens += 1  # servers send one chunk per token; the usage chunk corrects the count
                    if first_at is None:
                        first_at = time.perf_counter()
                    yield event(text, channel)
                reason = choice.get("finish_reason")
                if isinstance(reason, str):
                    finish = FINISH_FROM_WIRE.get(reason)
                    if finish is None:
                        yield event(reason=FinishReason.ERROR,
                                    error=f"The remote engine ended the reply with {reason!r}, which Enclave does "
                                          "not use (no tools are offered).")
                        return
        except RemoteCancelled:
            yield event(reason=FinishReason.CANCELLED)
            return
        except RemoteError as exc:
            yield event(reason=FinishReason.CANCELLED if request.cancel.is_set() else FinishReason.ERROR,
                        error=None if request.cancel.is_set() else str(exc))
            return
        finally:
            chunks.close()
        if finish is None:
            if request.cancel.is_set():
                yield event(reason=FinishReason.CANCELLED)
            else:
                yield event(reason=FinishReason.ERROR,
                            error=f"{self.endpoint.host} ended the reply without saying why it stopped.")
            return
        yield event(reason=finish)


def _pick_model(endpoint: RemoteEndpoint, models: list[dict[str, Any]]) -> dict[str, Any]:
    ids = [m["id"] for m in models]
    if endpoint.model is not None:
        for model in models:
            if model["id"] == endpoint.model:
                return model
        listed = ", ".join(ids[:8]) or "none"
        raise RemoteError(f"{endpoint.host} does not serve the model {endpoint.model!r} (it serves: {listed}).")
    if len(models) == 1:
        return models[0]
    if not models:
        raise RemoteError(f"{endpoint.host} serves no model at the moment.")
    raise RemoteError(f"{endpoint.host} serves several models ({', '.join(ids[:8])}); choose one.")


def _context_length(entry: dict[str, Any]) -> int | None:
    for name in CONTEXT_LENGTH_FIELDS:
        value = entry.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _usage(value: object) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    found = {k: v for k in ("prompt_tokens", "completion_tokens") if isinstance(v := value.get(k), int)}
    details = value.get("prompt_tokens_details")
    if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
        found["cached_tokens"] = details["cached_tokens"]
    return found


def _texts(delta: dict[str, Any]) -> Iterator[tuple[Channel, str]]:
    reasoning = next((delta[n] for n in REASONING_FIELDS if isinstance(delta.get(n), str) and delta[n]), "")
    if reasoning:
        yield Channel.ANALYSIS, reasoning
    content = delta.get("content")
    if isinstance(content, str) and content:
        yield Channel.FINAL, content
