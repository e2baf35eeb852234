"""The OpenAI chat-completions wire format, as both sides of Enclave speak it: `enclave serve` writes it and the
remote engine (app.remote) reads it. Names only, and the small JSON shapes built from them; no HTTP here.

Reasoning: OpenAI's guidance for gpt-oss is to return the chain of thought in a `reasoning` field of the message
(and of each streamed delta), beside `content`; vLLM (since 0.11), Ollama and OpenRouter use that name, while
older vLLM builds, LM Studio and DeepSeek-style clients use `reasoning_content`. The server writes both (same
text), the remote engine reads whichever the server sent, and vLLM's `include_reasoning: false` leaves it out.
"""

from __future__ import annotations

import time
from typing import Any

from app.engine.events import FinishReason

REASONING_FIELD = "reasoning"
REASONING_FIELDS: tuple[str, ...] = ("reasoning", "reasoning_content")  # written both, read either

# FinishReason -> the API's finish_reason. A full context is "length" (the API has no other name for it);
# a cancelled reply has no finish_reason, because no one is left to read it.
FINISH_REASONS: dict[FinishReason, str] = {
    FinishReason.STOP: "stop",
    FinishReason.LENGTH: "length",
    FinishReason.CONTEXT_FULL: "length",
}
FINISH_FROM_WIRE: dict[str, FinishReason] = {"stop": FinishReason.STOP, "length": FinishReason.LENGTH}

CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"  # OpenAI's error code for a prompt the context cannot hold
MODEL_NOT_FOUND = "model_not_found"
INVALID_API_KEY = "invalid_api_key"

# Where servers report a model's context length in /v1/models: vLLM, LM Studio / OpenRouter, and Enclave.
CONTEXT_LENGTH_FIELDS: tuple[str, ...] = ("max_model_len", "context_length", "max_context_length")


def error_body(message: str, *, kind: str = "invalid_request_error", code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    """OpenAI's error object: clients (the openai package included) read `error.message` and `error.code`."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def model_object(model_id: str, context_length: int, created: int) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "enclave",
            "context_length": context_length, "max_model_len": context_length}


def message_delta(*, content: str = "", reasoning: str = "", role: bool = False,
                  include_reasoning: bool = True) -> dict[str, Any]:
    delta: dict[str, Any] = {"role": "assistant"} if role else {}
    if content:
        delta["content"] = content
    if reasoning and include_reasoning:
        for name in REASONING_FIELDS:
            delta[name] = reasoning
    return delta


def chunk(completion_id: str, created: int, model: str, delta: dict[str, Any],
          finish_reason: str | None = None) -> dict[str, Any]:
    """One `chat.completion.chunk` of a streamed reply."""
    return {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}


def usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> dict[str, Any]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens}}


def completion(completion_id: str, created: int, model: str, content: str, reasoning: str,
               finish_reason: str, usage_: dict[str, Any], *, include_reasoning: bool = True) -> dict[str, Any]:
    """A whole `chat.completion` (the answer when `stream` is false)."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if include_reasoning:
        for name in REASONING_FIELDS:
            message[name] = reasoning
    return {"id": completion_id, "object": "chat.completion", "created": created, "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": usage_}


def now() -> int:
    return int(time.time())
