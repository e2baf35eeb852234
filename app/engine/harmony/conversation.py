"""Harmony messages and conversations as plain dataclasses, in openai-harmony's JSON form.

The JSON form (`Conversation.to_json()` in openai-harmony) is the interchange format of `enclave harmony
render/parse`, so anyone can feed the same file to openai-harmony and to us and compare. We mirror the *Rust*
reading of that JSON, not the Python wrapper's: a key that is absent means "not set" (None), so a system
message without `model_identity` renders without an identity line, exactly as openai-harmony's renderer does
with that file. The Python constructors below still default to what gpt-oss expects (identity, cutoff,
channels), like openai-harmony's `SystemContent.new()`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MODEL_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
DEFAULT_KNOWLEDGE_CUTOFF = "2024-06"
DEFAULT_CHANNELS: tuple[str, ...] = ("analysis", "commentary", "final")


class HarmonyFormatError(ValueError):
    """A conversation (or its JSON) that cannot be rendered or read; the message names the offending part."""


class Role(enum.Enum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    DEVELOPER = "developer"
    TOOL = "tool"

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise HarmonyFormatError(f"Unknown role {value!r}; expected one of {names}.") from None


class ReasoningEffort(enum.Enum):
    """JSON values are openai-harmony's ("Low"); the prompt says "Reasoning: low"."""

    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"

    @classmethod
    def parse(cls, value: str | ReasoningEffort) -> ReasoningEffort:
        """Accepts the enum, its JSON value or any casing of low/medium/high (settings files, CLI flags)."""
        if isinstance(value, ReasoningEffort):
            return value
        for effort in cls:
            if effort.value.lower() == str(value).lower():
                return effort
        raise HarmonyFormatError(f"Unknown reasoning effort {value!r}; expected low, medium or high.")

    @property
    def prompt_word(self) -> str:
        return self.value.lower()


@dataclass(frozen=True)
class ToolDescription:
    """One function the model may call; `parameters` is a JSON schema (rendered as a TypeScript type)."""

    name: str
    description: str
    parameters: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.parameters is not None:
            out["parameters"] = self.parameters
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ToolDescription:
        _require(raw, ("name", "description"), "tool description")
        parameters = raw.get("parameters")
        if parameters is not None:
            _expect(parameters, dict, f"parameters of tool {raw['name']!r}", "a JSON schema object")
        return cls(name=_str(raw, "name", "tool"), description=_str(raw, "description", "tool"),
                   parameters=parameters)


@dataclass(frozen=True)
class ToolNamespaceConfig:
    """A tool namespace: `functions` (developer tools) or a built-in one such as `browser` or `python`."""

    name: str
    description: str | None = None
    tools: tuple[ToolDescription, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.description is not None:
            out["description"] = self.description
        out["tools"] = [t.to_dict() for t in self.tools]
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ToolNamespaceConfig:
        _require(raw, ("name",), "tool namespace")
        tools = raw.get("tools") or []
        _expect(tools, list, f"tools of namespace {raw['name']!r}", "a list")
        return cls(name=_str(raw, "name", "tool namespace"), description=_opt_str(raw, "description", "tool namespace"),
                   tools=tuple(ToolDescription.from_dict(t) for t in tools))


@dataclass(frozen=True)
class ChannelConfig:
    valid_channels: tuple[str, ...] = DEFAULT_CHANNELS
    channel_required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"valid_channels": list(self.valid_channels), "channel_required": self.channel_required}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ChannelConfig:
        _require(raw, ("valid_channels", "channel_required"), "channel_config")
        channels = raw["valid_channels"]
        _expect(channels, list, "valid_channels", "a list of channel names")
        for channel in channels:
            _expect(channel, str, "valid_channels", "a list of channel names")
        return cls(valid_channels=tuple(channels), channel_required=bool(raw["channel_required"]))


def _tools_to_dict(tools: Mapping[str, ToolNamespaceConfig]) -> dict[str, Any]:
    return {key: ns.to_dict() for key, ns in tools.items()}


def _tools_from_dict(raw: Mapping[str, Any] | None) -> dict[str, ToolNamespaceConfig] | None:
    if raw is None:
        return None
    _expect(raw, Mapping, "tools", "an object of namespace name -> namespace")
    return {key: ToolNamespaceConfig.from_dict(ns) for key, ns in raw.items()}


@dataclass(frozen=True)
class TextContent:
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text}


@dataclass(frozen=True)
class SystemContent:
    """The system message's settings; None leaves that line out of the prompt."""

    model_identity: str | None = DEFAULT_MODEL_IDENTITY
    reasoning_effort: ReasoningEffort | None = ReasoningEffort.MEDIUM
    conversation_start_date: str | None = None
    knowledge_cutoff: str | None = DEFAULT_KNOWLEDGE_CUTOFF
    channel_config: ChannelConfig | None = field(default_factory=ChannelConfig)
    tools: dict[str, ToolNamespaceConfig] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.model_identity is not None:
            out["model_identity"] = self.model_identity
        if self.reasoning_effort is not None:
            out["reasoning_effort"] = self.reasoning_effort.value
        if self.conversation_start_date is not None:
            out["conversation_start_date"] = self.conversation_start_date
        if self.knowledge_cutoff is not None:
            out["knowledge_cutoff"] = self.knowledge_cutoff
        if self.channel_config is not None:
            out["channel_config"] = self.channel_config.to_dict()
        if self.tools is not None:
            out["tools"] = _tools_to_dict(self.tools)
        out["type"] = "system_content"
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SystemContent:
        effort = raw.get("reasoning_effort")
        channels = raw.get("channel_config")
        return cls(
            model_identity=_opt_str(raw, "model_identity", "system content"),
            reasoning_effort=None if effort is None else ReasoningEffort.parse(effort),
            conversation_start_date=_opt_str(raw, "conversation_start_date", "system content"),
            knowledge_cutoff=_opt_str(raw, "knowledge_cutoff", "system content"),
            channel_config=None if channels is None else ChannelConfig.from_dict(channels),
            tools=_tools_from_dict(raw.get("tools")),
        )


@dataclass(frozen=True)
class DeveloperContent:
    """Developer instructions and the function tools (`functions` namespace) the model may call."""

    instructions: str | None = None
    tools: dict[str, ToolNamespaceConfig] | None = None

    @classmethod
    def with_functions(cls, instructions: str | None, functions: Sequence[ToolDescription]) -> DeveloperContent:
        tools = {"functions": ToolNamespaceConfig("functions", None, tuple(functions))} if functions else None
        return cls(instructions=instructions, tools=tools)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.instructions is not None:
            out["instructions"] = self.instructions
        if self.tools is not None:
            out["tools"] = _tools_to_dict(self.tools)
        out["type"] = "developer_content"
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DeveloperContent:
        return cls(instructions=_opt_str(raw, "instructions", "developer content"),
                   tools=_tools_from_dict(raw.get("tools")))


Content = TextContent | SystemContent | DeveloperContent


def content_from_dict(raw: Mapping[str, Any]) -> Content:
    _expect(raw, Mapping, "content item", "a JSON object")
    kind = raw.get("type")
    if kind == "text":
        return TextContent(_str(raw, "text", "text content"))
    if kind == "system_content":
        return SystemContent.from_dict(raw)
    if kind == "developer_content":
        return DeveloperContent.from_dict(raw)
    raise HarmonyFormatError(f"Unknown content type {kind!r}; expected text, system_content or developer_content.")


@dataclass(frozen=True)
class Message:
    """One harmony message. For role `tool`, `name` is the tool that answered (e.g. `functions.get_weather`)."""

    role: Role
    content: tuple[Content, ...] = ()
    name: str | None = None
    channel: str | None = None
    recipient: str | None = None
    content_type: str | None = None

    # Constructors for the common shapes, so callers don't spell out harmony's conventions.
    @classmethod
    def system(cls, content: SystemContent) -> Message:
        return cls(Role.SYSTEM, (content,))

    @classmethod
    def developer(cls, content: DeveloperContent) -> Message:
        return cls(Role.DEVELOPER, (content,))

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(Role.USER, (TextContent(text),))

    @classmethod
    def assistant(
        cls, text: str, channel: str | None = "final", recipient: str | None = None, content_type: str | None = None
    ) -> Message:
        return cls(Role.ASSISTANT, (TextContent(text),), channel=channel, recipient=recipient,
                   content_type=content_type)

    @classmethod
    def tool_result(cls, tool_name: str, text: str, channel: str | None = "commentary") -> Message:
        """The answer of tool `tool_name` (e.g. `functions.get_weather`), addressed back to the assistant."""
        return cls(Role.TOOL, (TextContent(text),), name=tool_name, channel=channel, recipient="assistant")

    @property
    def text(self) -> str:
        """The concatenated text contents (system/developer contents are not text and are skipped)."""
        return "".join(c.text for c in self.content if isinstance(c, TextContent))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role.value, "name": self.name,
                               "content": [c.to_dict() for c in self.content]}
        if self.channel is not None:
            out["channel"] = self.channel
        if self.recipient is not None:
            out["recipient"] = self.recipient
        if self.content_type is not None:
            out["content_type"] = self.content_type
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Message:
        _require(raw, ("role", "content"), "message")
        contents = raw["content"]
        # openai-harmony's Rust side writes a lone text content as a plain string.
        if isinstance(contents, str):
            contents = [{"type": "text", "text": contents}]
        _expect(contents, list, f"content of a {raw['role']} message", "a list or a string")
        return cls(
            role=Role.parse(raw["role"]),
            content=tuple(content_from_dict(c) for c in contents),
            name=_opt_str(raw, "name", "message"),
            channel=_opt_str(raw, "channel", "message"),
            recipient=_opt_str(raw, "recipient", "message"),
            content_type=_opt_str(raw, "content_type", "message"),
        )


@dataclass(frozen=True)
class Conversation:
    messages: tuple[Message, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"messages": [m.to_dict() for m in self.messages]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Conversation:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("messages"), list):
            raise HarmonyFormatError('A conversation must be a JSON object with a "messages" list.')
        return cls(tuple(Message.from_dict(m) for m in raw["messages"]))

    @classmethod
    def from_json(cls, text: str) -> Conversation:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HarmonyFormatError(f"The conversation is not valid JSON: {exc}.") from exc
        return cls.from_dict(raw)


def _expect(value: Any, kind: type, what: str, shape: str) -> None:
    if not isinstance(value, kind):
        raise HarmonyFormatError(f"The {what} must be {shape}, got {type(value).__name__}.")


def _opt_str(raw: Mapping[str, Any], key: str, what: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise HarmonyFormatError(f"The {what}'s {key!r} must be a string, got {type(value).__name__}.")
    return value


def _str(raw: Mapping[str, Any], key: str, what: str) -> str:
    value = _opt_str(raw, key, what)
    if value is None:
        raise HarmonyFormatError(f"The {what} {dict(raw)!r:.120} lacks {key}.")
    return value


def _require(raw: Mapping[str, Any], keys: Sequence[str], what: str) -> None:
    _expect(raw, Mapping, what, "a JSON object")
    missing = [k for k in keys if k not in raw]
    if missing:
        raise HarmonyFormatError(f"The {what} {dict(raw)!r:.120} lacks {', '.join(missing)}.")
