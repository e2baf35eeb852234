"""Conversation -> token ids, token-for-token as openai-harmony's HARMONY_GPT_OSS encoding renders it.

A message is `<|start|>{role}[:{name}][ to={recipient}][<|channel|>{channel}][ {content_type}]<|message|>
{content}<|end|>` (or `<|call|>` for an assistant message addressed to a tool). Each piece is encoded
*separately*, as openai-harmony does, because BPE merges across piece boundaries would give different ids
for the same text. Ported from openai-harmony's src/encoding.rs (`Render<Message>`, `Render<SystemContent>`,
`Render<DeveloperContent>`, `render_conversation_into`).
"""

from __future__ import annotations

from collections.abc import Sequence

from app.engine.harmony.codec import HarmonyCodec
from app.engine.harmony.conversation import (
    DeveloperContent,
    HarmonyFormatError,
    Message,
    Role,
    SystemContent,
    TextContent,
)
from app.engine.harmony.tools import tools_section
from app.tokenizer import special_tokens as st


def system_text(content: SystemContent, has_function_tools: bool) -> str:
    """The system message body: identity/cutoff/date, reasoning effort, built-in tools, valid channels."""
    sections: list[str] = []
    top = []
    if content.model_identity is not None:
        top.append(content.model_identity)
    if content.knowledge_cutoff is not None:
        top.append(f"Knowledge cutoff: {content.knowledge_cutoff}")
    if content.conversation_start_date is not None:
        top.append(f"Current date: {content.conversation_start_date}")
    if top:
        sections.append("\n".join(top))
    if content.reasoning_effort is not None:
        sections.append(f"Reasoning: {content.reasoning_effort.prompt_word}")
    if content.tools:
        sections.append(tools_section(content.tools))
    channels = content.channel_config
    if channels is not None and channels.valid_channels:
        header = f"# Valid channels: {', '.join(channels.valid_channels)}."
        if channels.channel_required:
            header += " Channel must be included for every message."
        # Only when the developer message defines functions does the model need telling where calls go.
        if has_function_tools:
            header += "\nCalls to these tools must go to the commentary channel: 'functions'."
        sections.append(header)
    return "\n\n".join(sections)


def developer_text(content: DeveloperContent) -> str:
    """The developer message body: `# Instructions` then the `# Tools` section."""
    sections: list[str] = []
    if content.instructions is not None:
        sections += ["# Instructions", content.instructions]
    if content.tools:
        sections.append(tools_section(content.tools))
    return "\n\n".join(sections)


def has_function_tools(messages: Sequence[Message]) -> bool:
    """True when some developer message defines at least one tool in the `functions` namespace."""
    for message in messages:
        for content in message.content:
            if isinstance(content, DeveloperContent) and content.tools:
                functions = content.tools.get("functions")
                if functions is not None and functions.tools:
                    return True
    return False


def render_message(codec: HarmonyCodec, message: Message, function_tools: bool = False) -> list[int]:
    """One message's ids. `function_tools` is whether the *conversation* has function tools (system text)."""
    out = [st.START]
    if message.role is Role.TOOL:
        if message.name is None:
            raise HarmonyFormatError("A tool message needs the tool's name (e.g. functions.get_weather) in 'name'.")
        out += codec.encode_ordinary(message.name)
    else:
        out += codec.encode_ordinary(message.role.value)
        if message.name is not None:
            out += codec.encode_ordinary(f":{message.name}")
    if message.recipient is not None and message.recipient != "all":
        out += codec.encode_ordinary(f" to={message.recipient}")
    if message.channel is not None:
        out.append(st.CHANNEL)
        out += codec.encode_ordinary(message.channel)
    if message.content_type is not None:
        # "<|constrain|>json" keeps <|constrain|> as the control token, with a plain-text space before it.
        if message.content_type.startswith(st.CONSTRAIN_TOKEN):
            rest = message.content_type[len(st.CONSTRAIN_TOKEN):]
            out += codec.encode_ordinary(" ")
            out.append(st.CONSTRAIN)
            out += codec.encode_ordinary(rest)
        else:
            out += codec.encode_ordinary(f" {message.content_type}")
    out.append(st.MESSAGE)
    for content in message.content:
        if isinstance(content, TextContent):
            out += codec.encode_ordinary(content.text)
        elif isinstance(content, SystemContent):
            if message.role is not Role.SYSTEM:
                raise HarmonyFormatError(
                    f"System content may only appear in a system message, found in {message.role.value}."
                )
            out += codec.encode_ordinary(system_text(content, function_tools))
        elif isinstance(content, DeveloperContent):
            if message.role is not Role.DEVELOPER:
                raise HarmonyFormatError(
                    f"Developer content may only appear in a developer message, found in {message.role.value}."
                )
            out += codec.encode_ordinary(developer_text(content))
    # openai-harmony ends any assistant message with a recipient (even "all") with <|call|>.
    out.append(st.CALL if message.role is Role.ASSISTANT and message.recipient is not None else st.END)
    return out


def messages_after_auto_drop(messages: Sequence[Message]) -> list[Message]:
    """openai-harmony's `auto_drop_analysis` rule, verbatim.

    Only when the *last* assistant message is on `final` are `analysis` messages dropped, and only those
    before the *first* `final` message of the whole conversation. So while a tool call is in flight (the last
    assistant message is a call on `commentary`) all reasoning is kept, and in a three-turn history the second
    turn's analysis survives (openai-harmony's test_keep_analysis_between_final_messages pins this).
    """
    last_assistant = next((m for m in reversed(messages) if m.role is Role.ASSISTANT), None)
    if last_assistant is None or last_assistant.channel != "final":
        return list(messages)
    first_final = next((i for i, m in enumerate(messages) if m.channel == "final"), None)
    if first_final is None:
        return list(messages)
    return [m for i, m in enumerate(messages) if not (i < first_final and m.channel == "analysis")]


def render_conversation(codec: HarmonyCodec, messages: Sequence[Message], auto_drop_analysis: bool = True) -> list[int]:
    """All messages' ids (openai-harmony `render_conversation`)."""
    tools = has_function_tools(messages)
    kept = messages_after_auto_drop(messages) if auto_drop_analysis else list(messages)
    out: list[int] = []
    for message in kept:
        out += render_message(codec, message, tools)
    return out


def render_conversation_for_completion(
    codec: HarmonyCodec,
    messages: Sequence[Message],
    next_role: Role = Role.ASSISTANT,
    auto_drop_analysis: bool = True,
) -> list[int]:
    """The prompt for sampling the next message: the conversation plus `<|start|>assistant`."""
    return render_conversation(codec, messages, auto_drop_analysis) + [st.START] + codec.encode_ordinary(
        next_role.value
    )


def render_conversation_for_training(
    codec: HarmonyCodec, messages: Sequence[Message], auto_drop_analysis: bool = True
) -> list[int]:
    """As `render_conversation`, but a trailing assistant `final` message ends with `<|return|>`."""
    out = render_conversation(codec, messages, auto_drop_analysis)
    if messages and out and messages[-1].role is Role.ASSISTANT and messages[-1].channel == "final":
        out[-1] = st.RETURN
    return out
