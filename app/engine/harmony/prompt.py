"""What the chat engine calls: `build_prompt` (settings + history -> ids) and `HarmonyStream` (ids -> deltas).

Kept free of ONNX Runtime: the generator owns the model, these own the format. The generator feeds every
sampled id to `HarmonyStream.feed`, shows the returned (channel, text) deltas, and stops sampling when
`stream.turn_end` is set (<|return|> after a final answer, <|call|> after a tool call); see `STOP_TOKEN_IDS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from app.engine.events import Channel
from app.engine.harmony.codec import HarmonyCodec
from app.engine.harmony.conversation import (
    DEFAULT_CHANNELS,
    DEFAULT_KNOWLEDGE_CUTOFF,
    DEFAULT_MODEL_IDENTITY,
    ChannelConfig,
    DeveloperContent,
    Message,
    ReasoningEffort,
    Role,
    SystemContent,
    ToolDescription,
    ToolNamespaceConfig,
)
from app.engine.harmony.parser import (
    MessageEnded,
    ParsedMessage,
    StreamingParser,
    TextDelta,
    ToolCallCompleted,
    TurnEnd,
)
from app.engine.harmony.renderer import render_conversation_for_completion
from app.engine.harmony.tools import builtin_namespace
from app.tokenizer import special_tokens as st

# The ids that end an assistant turn (gpt-oss's generation_config eos ids). <|end|> is not one: after
# `analysis<|end|>` the model goes on with its next message.
STOP_TOKEN_IDS: tuple[int, ...] = (st.RETURN, st.CALL, st.ENDOFTEXT)


@dataclass(frozen=True)
class SystemSettings:
    """The system message's knobs that a user or the app may change (effort and date are per call)."""

    model_identity: str | None = DEFAULT_MODEL_IDENTITY
    knowledge_cutoff: str | None = DEFAULT_KNOWLEDGE_CUTOFF
    browser_tool: bool = False
    python_tool: bool = False
    channels: tuple[str, ...] = DEFAULT_CHANNELS


def system_message(
    settings: SystemSettings, reasoning_effort: ReasoningEffort | str, date: dt.date | str | None
) -> Message:
    tools: dict[str, ToolNamespaceConfig] = {}
    if settings.browser_tool:
        tools["browser"] = builtin_namespace("browser")
    if settings.python_tool:
        tools["python"] = builtin_namespace("python")
    return Message.system(
        SystemContent(
            model_identity=settings.model_identity,
            reasoning_effort=ReasoningEffort.parse(reasoning_effort),
            conversation_start_date=date.isoformat() if isinstance(date, dt.date) else date,
            knowledge_cutoff=settings.knowledge_cutoff,
            channel_config=ChannelConfig(tuple(settings.channels), True),
            tools=tools or None,
        )
    )


def drop_finished_reasoning(history: Sequence[Message]) -> list[Message]:
    """Drops every `analysis` message that a later assistant `final` answer has closed.

    This is the rule OpenAI documents for gpt-oss ("drop any previous CoT content on subsequent sampling if
    the responses by the assistant ended in a message to the final channel"), applied to every past turn.
    openai-harmony's own `auto_drop_analysis` only drops reasoning before the *first* final answer, so in a
    long chat it keeps the reasoning of turns 2..n-1 (wasted context the model never saw in that position in
    training). Reasoning after the last final answer, i.e. of a tool call still in flight, is kept.
    """
    last_final = max((i for i, m in enumerate(history) if m.role is Role.ASSISTANT and m.channel == "final"),
                     default=-1)
    return [m for i, m in enumerate(history) if not (i < last_final and m.channel == "analysis")]


def build_prompt(
    codec: HarmonyCodec,
    system_settings: SystemSettings = SystemSettings(),
    developer_instructions: str | None = None,
    tools: Sequence[ToolDescription] = (),
    history_messages: Sequence[Message] = (),
    reasoning_effort: ReasoningEffort | str = ReasoningEffort.MEDIUM,
    date: dt.date | str | None = None,
) -> list[int]:
    """The prompt ids for the assistant's next turn, ending in `<|start|>assistant`.

    `history_messages` are user/assistant/tool messages (no system or developer message: those come from the
    settings). A developer message is included only when there are instructions or function tools.
    """
    messages = [system_message(system_settings, reasoning_effort, date)]
    if developer_instructions is not None or tools:
        messages.append(Message.developer(DeveloperContent.with_functions(developer_instructions, tools)))
    messages += drop_finished_reasoning(history_messages)
    return render_conversation_for_completion(codec, messages)


_CHANNELS = {"analysis": Channel.ANALYSIS, "commentary": Channel.COMMENTARY, "final": Channel.FINAL}


def channel_of(name: str | None) -> Channel:
    """Harmony channel name -> engine Channel. A missing or unknown channel is shown as the answer (FINAL):
    text the model wrote outside the format is still text the user should see."""
    return _CHANNELS.get(name or "", Channel.FINAL)


@dataclass(frozen=True)
class ChannelDelta:
    channel: Channel
    text: str
    recipient: str | None = None  # set for tool-call arguments streaming on commentary


class HarmonyStream:
    """One assistant turn, fed by the generator token by token (the prompt ended in `<|start|>assistant`)."""

    def __init__(self, codec: HarmonyCodec, valid_channels: Sequence[str] = DEFAULT_CHANNELS) -> None:
        self._parser = StreamingParser(codec, role=Role.ASSISTANT, valid_channels=valid_channels)
        self.messages: list[ParsedMessage] = []
        self.tool_calls: list[ToolCallCompleted] = []

    @property
    def turn_end(self) -> TurnEnd | None:
        """Set once the model ends its turn; the generator should stop sampling then."""
        return self._parser.turn_end

    @property
    def done(self) -> bool:
        return self._parser.turn_end is not None

    @property
    def current_channel(self) -> Channel | None:
        name = self._parser.current_channel
        return channel_of(name) if self._parser.in_message else None

    def feed(self, token_id: int) -> list[ChannelDelta]:
        return self._collect(self._parser.feed(token_id))

    def finish(self) -> list[ChannelDelta]:
        """The generator stopped (max tokens, cancel, or turn end): flush and close any open message."""
        return self._collect(self._parser.finish())

    def _collect(self, events: list) -> list[ChannelDelta]:
        deltas = []
        for event in events:
            if isinstance(event, TextDelta):
                deltas.append(ChannelDelta(channel_of(event.channel), event.text, event.recipient))
            elif isinstance(event, MessageEnded):
                self.messages.append(event.parsed)
            elif isinstance(event, ToolCallCompleted):
                self.tool_calls.append(event)
        return deltas

    @property
    def final_text(self) -> str:
        """The answer: the text of the `final` messages of this turn."""
        return "".join(p.message.text for p in self.messages if p.message.channel == "final")
