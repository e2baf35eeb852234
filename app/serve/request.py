"""A `/v1/chat/completions` body (hostile JSON from any local program) -> the engine's `ChatRequest`, or a 400.

Every field of OpenAI's request is either honoured, or accepted because it cannot change the answer (`user`,
`metadata`, ...), or refused with one sentence naming it: a client that asks for tools, several choices,
log-probabilities or a JSON schema must learn that it does not get them, not receive an answer that silently
ignored what it asked. Names this version does not know are refused too. Sampling values are checked against
the app's one range table (app.engine.sampling.SAMPLING_BOUNDS).

The conversation maps onto the chat use case as the window's does: system and developer messages become the
developer instructions (harmony's system message, with the date and reasoning effort, is Enclave's own), earlier
user and assistant messages the history, and the last message, which must be the user's, the message to answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.engine.chat_request import REASONING_EFFORTS, ChatRequest, ChatSettings, Turn
from app.engine.sampling import SAMPLING_BOUNDS, SamplingParams
from app.engine.stop_text import MAX_STOP_CHARS, MAX_STOP_STRINGS
from app.serve.wire import MODEL_NOT_FOUND, REASONING_FIELDS

# OpenAI's default sampling for chat completions, which gpt-oss's model card also recommends.
API_TEMPERATURE = 1.0
API_TOP_P = 1.0


class ApiError(Exception):
    """A request the server answers with an error: HTTP status, one sentence, OpenAI's `code` and `param`."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.kind = status, message, code, param, kind


@dataclass(frozen=True)
class ApiChat:
    """One parsed chat completion request."""

    request: ChatRequest
    model: str
    stream: bool = False
    include_usage: bool = False  # stream_options.include_usage: a last chunk with the token counts
    include_reasoning: bool = True  # vLLM's include_reasoning: false leaves the reasoning out


def parse_chat(body: object, served_model: str, context_length: int) -> ApiChat:
    """Checks the whole body; raises ApiError (400, or 404 for another model) naming the first problem."""
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise _bad(f"The field {_value(unknown[0])} is not part of the chat completions API that Enclave serves.",
                   unknown[0])
    for field_name, check in _FIELDS.items():
        if field_name in body and check is not None:
            check(field_name, body[field_name])
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("The field 'model' is required and must be a string.", "model")
    if model != served_model:
        raise ApiError(404, f"The model {_value(model)} does not exist here; this server serves {served_model!r}.",
                       code=MODEL_NOT_FOUND, param="model")
    instructions, history, user_text = _conversation(body.get("messages"))
    stream = _optional(body, "stream", False)
    options = body.get("stream_options")
    if options is not None and not stream:
        raise _bad("stream_options is only allowed when stream is true.", "stream_options")
    include_usage = bool(options.get("include_usage", False)) if isinstance(options, dict) else False
    settings = ChatSettings(system_prompt=instructions,
                            reasoning_effort=_optional(body, "reasoning_effort", "medium"),
                            sampling=_sampling(body), max_new_tokens=_max_tokens(body, context_length))
    request = ChatRequest(history=history, user_text=user_text, settings=settings, stop=_stops(body.get("stop")))
    return ApiChat(request=request, model=model, stream=stream, include_usage=include_usage,
                   include_reasoning=_optional(body, "include_reasoning", True))


# ------------------------------------------------------------------------------------------------ fields

def _type(kind: type, what: str) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        if value is not None and not isinstance(value, kind):
            raise _bad(f"The field {name!r} must be {what}, not {_value(value)}.", name)
    return check


def _bounded(bound_name: str) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        if value is not None:
            try:
                SAMPLING_BOUNDS[bound_name].check(name, value)
            except ValueError as exc:  # "temperature must be a number in [0, 2], got 3."
                raise _bad(str(exc), name) from exc
    return check


def _only(allowed: Callable[[object], bool], why: str) -> Callable[[str, object], None]:
    """A field that Enclave accepts only at the value that changes nothing; anything else is refused."""
    def check(name: str, value: object) -> None:
        if value is not None and not allowed(value):
            raise _bad(f"The field {name!r} is not supported: {why}.", name)
    return check


def _effort(name: str, value: object) -> None:
    if value is not None and value not in REASONING_EFFORTS:
        raise _bad(f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)} for gpt-oss, not "
                   f"{_value(value)}.", name)


def _stream_options(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or set(value) - {"include_usage"} or \
            not isinstance(value.get("include_usage", False), bool):
        raise _bad("stream_options may only hold include_usage (true or false).", name)


_NO_TOOLS = "gpt-oss's tools are not offered by Enclave's server"
_FIELDS: dict[str, Callable[[str, object], None] | None] = {
    "model": None,
    "messages": None,
    "stream": _type(bool, "true or false"),
    "stream_options": _stream_options,
    "reasoning_effort": _effort,
    "include_reasoning": _type(bool, "true or false"),
    "stop": None,  # checked by _stops
    "max_tokens": _bounded("max_new_tokens"),
    "max_completion_tokens": _bounded("max_new_tokens"),
    "temperature": _bounded("temperature"),
    "top_p": _bounded("top_p"),
    "seed": _bounded("seed"),
    "top_k": _bounded("top_k"),  # vLLM's extra sampling parameters, which the engine has too
    "min_p": _bounded("min_p"),
    "repetition_penalty": _bounded("repetition_penalty"),
    "n": _only(lambda v: v == 1 and not isinstance(v, bool), "Enclave returns one choice (n must be 1)"),
    "logprobs": _only(lambda v: v is False, "Enclave does not return log-probabilities"),
    "top_logprobs": _only(lambda v: False, "Enclave does not return log-probabilities"),
    "logit_bias": _only(lambda v: v == {}, "Enclave does not bias tokens"),
    "frequency_penalty": _only(lambda v: v == 0 and not isinstance(v, bool),
                               "use repetition_penalty instead (frequency_penalty must be 0)"),
    "presence_penalty": _only(lambda v: v == 0 and not isinstance(v, bool),
                              "use repetition_penalty instead (presence_penalty must be 0)"),
    "tools": _only(lambda v: v == [], _NO_TOOLS),
    "tool_choice": _only(lambda v: v == "none", _NO_TOOLS),
    "parallel_tool_calls": _type(bool, "true or false"),  # only means something together with tools
    "functions": _only(lambda v: v == [], _NO_TOOLS),
    "function_call": _only(lambda v: v == "none", _NO_TOOLS),
    "response_format": _only(lambda v: v == {"type": "text"}, "Enclave answers in plain text only"),
    "store": _only(lambda v: v is False, "Enclave's server keeps no conversations"),
    "modalities": _only(lambda v: v == ["text"], "Enclave answers in text only"),
    "audio": _only(lambda v: False, "Enclave answers in text only"),
    "prediction": _only(lambda v: False, "predicted outputs are not supported"),
    "web_search_options": _only(lambda v: False, "Enclave never searches the web"),
    "verbosity": _only(lambda v: False, "gpt-oss has no verbosity setting"),
    "service_tier": _only(lambda v: v in ("auto", "default"), "there is one tier here"),
    # Accepted and unused: they label a request, they never change its answer.
    "user": _type(str, "a string"),
    "safety_identifier": _type(str, "a string"),
    "prompt_cache_key": _type(str, "a string"),
    "metadata": _type(dict, "an object"),
}


def _optional(body: Mapping[str, Any], name: str, default: Any) -> Any:
    """The field's value (its type was checked by _FIELDS), or `default` when absent or null."""
    value = body.get(name)
    return default if value is None else value


def _sampling(body: Mapping[str, Any]) -> SamplingParams:
    values: dict[str, Any] = {"temperature": API_TEMPERATURE, "top_p": API_TOP_P}
    for name in ("temperature", "top_p", "top_k", "min_p", "repetition_penalty", "seed"):
        if body.get(name) is not None:
            value = body[name]
            values[name] = value if SAMPLING_BOUNDS[name].integer else float(value)
    return SamplingParams(**values)


def _max_tokens(body: Mapping[str, Any], context_length: int) -> int:
    legacy, current = body.get("max_tokens"), body.get("max_completion_tokens")
    if legacy is not None and current is not None and legacy != current:
        raise _bad("max_tokens and max_completion_tokens disagree; send one of them.", "max_completion_tokens")
    chosen = current if current is not None else legacy
    if chosen is None:  # the API's default: as long as the context allows
        return max(1, min(context_length, int(SAMPLING_BOUNDS["max_new_tokens"].high)))
    return int(chosen)


def _stops(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise _bad("stop must be a string or a list of strings.", "stop")
    if len(stops) > MAX_STOP_STRINGS:
        raise _bad(f"stop may hold at most {MAX_STOP_STRINGS} strings, not {len(stops)}.", "stop")
    if any(not s or len(s) > MAX_STOP_CHARS for s in stops):
        raise _bad(f"Each stop string must have 1 to {MAX_STOP_CHARS} characters.", "stop")
    return tuple(stops)


# ------------------------------------------------------------------------------------------------ messages

_MESSAGE_FIELDS = {
    "system": {"role", "content"},
    "developer": {"role", "content"},
    "user": {"role", "content"},
    "assistant": {"role", "content", "refusal", "tool_calls", "function_call", *REASONING_FIELDS},
}


def _conversation(messages: object) -> tuple[str, tuple[Turn, ...], str]:
    """(developer instructions, earlier turns, the user message to answer)."""
    if not isinstance(messages, list) or not messages:
        raise _bad("The field 'messages' is required and must be a non-empty list.", "messages")
    instructions: list[str] = []
    turns: list[Turn] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise _bad(f"{where} must be an object with a role and a content.", where)
        role = message.get("role")
        if role in ("tool", "function"):
            raise _bad(f"{where} has the role {role!r}, but Enclave's server offers no tools.", f"{where}.role")
        if role not in _MESSAGE_FIELDS:
            raise _bad(f"{where}.role must be system, developer, user or assistant, not {_value(role)}.",
                       f"{where}.role")
        extra = sorted(set(message) - _MESSAGE_FIELDS[role])
        if extra:
            why = " (gpt-oss's chat format has no participant names)" if extra[0] == "name" else ""
            raise _bad(f"{where}.{extra[0]} is not supported in a {role} message{why}.", f"{where}.{extra[0]}")
        for name in ("tool_calls", "function_call"):
            if message.get(name):
                raise _bad(f"{where}.{name} is not supported: Enclave's server offers no tools.", f"{where}.{name}")
        text = _content(message.get("content"), where, optional=role == "assistant")
        if role in ("system", "developer"):
            if turns:
                raise _bad(f"{where} is a {role} message after the conversation started; put the instructions "
                           "first.", where)
            instructions.append(text)
        elif role == "user":
            turns.append(Turn("user", text))
        else:
            reasoning = next((message[n] for n in REASONING_FIELDS if isinstance(message.get(n), str)), "")
            turns.append(Turn("assistant", text, reasoning))
    if not turns or turns[-1].role != "user":
        raise _bad("The last message must be the user's: Enclave answers it (continuing an assistant message is "
                   "not supported).", "messages")
    return "\n\n".join(t for t in instructions if t), tuple(turns[:-1]), turns[-1].text


def _content(content: object, where: str, *, optional: bool) -> str:
    if content is None and optional:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind != "text" or not isinstance(part.get("text"), str) or set(part) - {"type", "text"}:
                shown = f"{kind!r} parts" if isinstance(kind, str) else "this part"
                raise _bad(f"{where}.content[{j}]: only text parts are supported, not {shown}.",
                           f"{where}.content")
            texts.append(part["text"])
        return "\n".join(texts)
    raise _bad(f"{where}.content must be a string or a list of text parts.", f"{where}.content")


def _bad(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param=param)


def _value(value: object) -> str:
    """A short, printable rendering of a hostile value for a one-sentence message."""
    text = repr(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= 60 else text[:57] + "..."
