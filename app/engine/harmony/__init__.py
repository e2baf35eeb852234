"""The harmony chat format of gpt-oss: render conversations to token ids, parse sampled ids back to messages.

Folder map: `conversation` (messages in openai-harmony's JSON form), `tools` (TypeScript-like tool
namespaces), `codec` (ids <-> text on the package's tokenizer.json), `renderer`, `parser` (streaming, never
raises), `prompt` (what the chat engine calls: `build_prompt`, `HarmonyStream`). openai-harmony itself is
only a test dependency: tests prove we render token-for-token as it does.
"""

from app.engine.harmony.codec import HarmonyCodec
from app.engine.harmony.conversation import (
    ChannelConfig,
    Conversation,
    DeveloperContent,
    HarmonyFormatError,
    Message,
    ReasoningEffort,
    Role,
    SystemContent,
    TextContent,
    ToolDescription,
    ToolNamespaceConfig,
)
from app.engine.harmony.parser import (
    MessageEnded,
    MessageStarted,
    ParsedMessage,
    StreamingParser,
    TextDelta,
    ToolCallCompleted,
    TurnEnd,
    TurnEnded,
    parse_messages,
    parse_parsed_messages,
)
from app.engine.harmony.prompt import (
    STOP_TOKEN_IDS,
    ChannelDelta,
    HarmonyStream,
    SystemSettings,
    build_prompt,
)
from app.engine.harmony.renderer import (
    render_conversation,
    render_conversation_for_completion,
    render_conversation_for_training,
    render_message,
)
from app.engine.harmony.tools import builtin_namespace

__all__ = [
    "STOP_TOKEN_IDS", "ChannelConfig", "ChannelDelta", "Conversation", "DeveloperContent", "HarmonyCodec",
    "HarmonyFormatError", "HarmonyStream", "Message", "MessageEnded", "MessageStarted", "ParsedMessage",
    "ReasoningEffort", "Role", "StreamingParser", "SystemContent", "SystemSettings", "TextContent", "TextDelta",
    "ToolCallCompleted", "ToolDescription", "ToolNamespaceConfig", "TurnEnd", "TurnEnded", "build_prompt",
    "builtin_namespace", "parse_messages", "parse_parsed_messages", "render_conversation",
    "render_conversation_for_completion", "render_conversation_for_training", "render_message",
]
