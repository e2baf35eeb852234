"""A corpus of harmony conversations for checking our renderer and parser against openai-harmony.

Built programmatically: a list of hand-picked dialogues (every channel, tool calls with and without
<|constrain|>, tool results, built-in tools, unicode, code, empty and long messages, names, text that spells
control tokens) crossed with system/developer variants (each reasoning effort, dates, cutoffs, identities,
channel configs, built-in tools, function schemas exercising every branch of the TypeScript rendering).
A seeded RNG picks the crossings, so the corpus is the same on every run.

`to_openai_harmony` converts a conversation with openai-harmony's public classes, passing every field
explicitly (its pydantic defaults would otherwise fill in what we left unset).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from app.engine.harmony.conversation import (
    ChannelConfig,
    DeveloperContent,
    Message,
    ReasoningEffort,
    Role,
    SystemContent,
    TextContent,
    ToolDescription,
    ToolNamespaceConfig,
)
from app.engine.harmony.tools import builtin_namespace

LONG_TEXT = " ".join(
    f"Rule {i}: answer precisely, cite sources, and never invent facts about item {i}." for i in range(120)
)
CODE_BLOCK = (
    '```python\ndef f(x):\n\treturn {"a": [1, 2, 3]}  # tabs & braces\n```\n\n'
    '```bash\necho "$HOME" | tr a-z A-Z\n```'
)
UNICODE_TEXT = (
    "Grüße, Привет, שלום, مرحبا, नमस्ते, こんにちは, 안녕하세요, 你好 — naïve 👋🏾👨‍👩‍👧‍👦🇺🇸 ∑∫√ 【6†L9-L11】"
)
SPECIAL_SPELLING = (
    "Literal <|start|>assistant<|channel|>final<|message|>fake<|end|> and <|constrain|>json <|return|>"
)
WHITESPACE_TEXT = "  leading spaces\r\nCRLF line\ttab\n\n\n   \nmany   spaces   \u00a0nbsp\u2028ls\x0bvt  "


def weather_tool() -> ToolDescription:
    return ToolDescription(
        "get_current_weather",
        "Gets the current weather in the provided location.",
        {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "format": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            },
            "required": ["location"],
        },
    )


def function_tools() -> list[ToolDescription]:
    """Schemas that walk every branch of openai-harmony's json_schema_to_typescript."""
    return [
        ToolDescription("get_location", "Gets the location of the user."),
        weather_tool(),
        ToolDescription(
            "get_multiple_weathers",
            "Gets the current weather in the provided list of locations.\nSecond line of the description.\n",
            {
                "type": "object",
                "properties": {
                    "locations": {"type": "array", "items": {"type": "string"},
                                  "description": 'List of city and state, e.g. ["San Francisco, CA", "New York, NY"]'},
                    "untyped_list": {"type": "array"},
                    "format": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
                },
                "required": ["locations"],
            },
        ),
        ToolDescription(
            "kitchensink",
            "A function with various complex schemas.",
            {
                "description": "params object",
                "type": "object",
                "properties": {
                    "string": {"type": "string", "title": "STRING", "description": "A string",
                               "examples": ["hello", "world"]},
                    "string_nullable": {"type": "string", "nullable": True, "description": "A nullable string",
                                        "default": "the default"},
                    "string_enum": {"type": "string", "enum": ["a", "b", "c"]},
                    "oneof_string_or_number": {
                        "oneOf": [
                            {"type": "string", "default": "default_string_in_oneof"},
                            {"type": "number", "description": "numbers can happen too"},
                        ],
                        "description": "a oneof",
                        "default": 20,
                    },
                    "oneof_same_desc": {
                        "oneOf": [{"type": "integer", "description": "same"}, {"type": "boolean", "nullable": True}],
                        "description": "same",
                    },
                    "integer_or_string": {"type": ["integer", "string", "null"]},
                    "nested": {
                        "type": "object",
                        "description": "a nested object",
                        "properties": {
                            "deep": {"type": "object", "properties": {"x": {"type": "number", "default": 1.5}}},
                            "flag": {"type": "boolean", "default": False},
                        },
                        "required": ["deep"],
                    },
                    "floats": {
                        "type": "object",
                        "properties": {
                            "big": {"type": "number", "default": 1e20},
                            "small": {"type": "number", "default": 1.5e-7},
                            "tiny": {"type": "number", "default": 0.00001},
                            "tinier": {"type": "number", "default": 1e-6},
                            "sixteen": {"type": "number", "default": 1e16},
                            "fifteen": {"type": "number", "default": 1e15},
                            "negative": {"type": "number", "default": -2.5},
                            "zero": {"type": "number", "default": 0.0},
                            "int": {"type": "integer", "default": -7},
                        },
                    },
                    "list_default": {"type": "array", "items": {"type": "number"}, "default": [1, 2.5, "x"]},
                    "object_default": {"type": "object", "default": {"k": "v", "n": None}},
                    "enum_string_default_unquoted": {"type": "string", "enum": ["on", "off"], "default": "on"},
                    "unknown_type": {"type": "null"},
                    "no_type": {"description": "anything goes"},
                    "unicode_desc": {"type": "string", "description": "Température en °C — 温度"},
                },
            },
        ),
        ToolDescription(
            "top_level_oneof",
            "Takes one of two shapes.",
            {"oneOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "description": "shape A", "default": "x"},
                {"type": "string", "enum": ["p", "q"], "default": "p", "nullable": True},
            ]},
        ),
        ToolDescription("search_docs", "Search the user's documents.\n\nReturns the best passages.",
                        {"type": "object", "properties": {"query": {"type": "string"}, "top_k": {"type": "integer"}},
                         "required": ["query", "top_k"]}),
    ]


# ---- system and developer variants --------------------------------------------------------------------


def system_variants() -> list[SystemContent]:
    variants = []
    for effort in (ReasoningEffort.LOW, ReasoningEffort.MEDIUM, ReasoningEffort.HIGH, None):
        for date in ("2025-06-28", None, "2026-11-25"):
            variants.append(SystemContent(reasoning_effort=effort, conversation_start_date=date))
    variants += [
        SystemContent(model_identity=None, knowledge_cutoff=None, reasoning_effort=None, channel_config=None),
        SystemContent(model_identity="You are Enclave, a private assistant.", knowledge_cutoff="2021-01",
                      conversation_start_date="2021-01-01"),
        SystemContent(channel_config=ChannelConfig(("analysis", "final"), True)),
        SystemContent(channel_config=ChannelConfig(("analysis", "commentary", "final"), False)),
        SystemContent(channel_config=ChannelConfig((), True)),
        SystemContent(tools={"browser": builtin_namespace("browser")}, conversation_start_date="2025-06-28"),
        SystemContent(tools={"python": builtin_namespace("python")}, reasoning_effort=ReasoningEffort.HIGH),
        SystemContent(tools={"python": builtin_namespace("python"), "browser": builtin_namespace("browser")}),
        SystemContent(tools={}),
        SystemContent(model_identity=LONG_TEXT, conversation_start_date="2025-01-01"),
        SystemContent(tools={"custom": ToolNamespaceConfig("custom", "A custom namespace.\nWith two lines.", ())}),
    ]
    return variants


def developer_variants() -> list[DeveloperContent | None]:
    return [
        None,
        DeveloperContent(instructions="Answer the user's questions like a robot."),
        DeveloperContent.with_functions("Always respond in riddles", function_tools()),
        DeveloperContent.with_functions(None, [weather_tool()]),
        DeveloperContent(instructions=LONG_TEXT),
        DeveloperContent(),
        DeveloperContent(instructions=UNICODE_TEXT + "\n\n" + CODE_BLOCK),
        DeveloperContent(instructions="Be brief.", tools={"functions": ToolNamespaceConfig("functions", None, ())}),
        DeveloperContent(tools={"functions": ToolNamespaceConfig("functions", "Helper functions.", (weather_tool(),)),
                                "aux": ToolNamespaceConfig("aux", None, (ToolDescription("ping", "Ping."),))}),
    ]


# ---- dialogues ----------------------------------------------------------------------------------------


def _call(text: str, recipient: str, channel: str = "commentary", content_type: str | None = "<|constrain|>json"):
    return Message.assistant(text, channel=channel, recipient=recipient, content_type=content_type)


def dialogues() -> dict[str, list[Message]]:
    u, a = Message.user, Message.assistant
    return {
        "single_user": [u("What is 2 + 2?")],
        "answered": [u("What is 2 + 2?"), a("Simple arithmetic.", "analysis"), a("2 + 2 = 4.", "final")],
        "multi_turn": [
            u("What is 2 + 2?"), a("thinking 2+2", "analysis"), a("4", "final"),
            u("What is 3 + 5?"), a("thinking 3+5", "analysis"), a("8", "final"),
            u("And 9 / 2?"),
        ],
        "three_turns_no_analysis": [u("Hi"), a("Hello!"), u("How are you?"), a("Fine."), u("Bye")],
        "tool_call_constrained": [
            u("What is the weather in SF?"), a("Need lookup_weather.", "analysis"),
            _call('{"location": "San Francisco"}', "functions.get_current_weather"),
            Message.tool_result("functions.get_current_weather", '{"temperature": 20, "description": "sunny"}'),
        ],
        "tool_call_unconstrained": [
            u("Weather in Tokyo?"),
            _call('{"location": "Tokyo"}', "functions.get_current_weather", content_type="json"),
            Message.tool_result("functions.get_current_weather", '{"temperature": 25}'),
            a("Used the tool.", "analysis"), a("It is 25 °C in Tokyo.", "final"),
        ],
        "tool_call_no_content_type": [
            u("Where am I?"), _call("{}", "functions.get_location", content_type=None),
            Message.tool_result("functions.get_location", "Paris, France"), a("You are in Paris.", "final"),
            u("Thanks"),
        ],
        "tool_call_bare_constrain": [u("x"), _call("{}", "functions.get_location", content_type="<|constrain|>")],
        "two_tool_calls_then_answer": [
            u("Compare SF and NYC weather."), a("Two lookups.", "analysis"),
            _call('{"location":"SF"}', "functions.get_current_weather"),
            Message.tool_result("functions.get_current_weather", '{"t":18}'),
            a("Now NYC.", "analysis"), _call('{"location":"NYC"}', "functions.get_current_weather"),
            Message.tool_result("functions.get_current_weather", '{"t":9}'),
            a("SF is warmer.", "final"), u("And LA?"),
        ],
        "browser_tool": [
            u("Latest news on fusion?"), a("Search the web.", "analysis"),
            _call('{"query": "fusion news", "topn": 5}', "browser.search", channel="analysis", content_type=None),
            Message.tool_result("browser.search", "[0] Fusion record (example.com)", channel="analysis"),
            a("Cite 【0†L1】.", "analysis"), a("A new fusion record was set 【0†L1】.", "final"),
        ],
        "python_tool": [
            u("Compute 2**100."), _call("print(2**100)", "python", channel="analysis", content_type="code"),
            Message.tool_result("python", "1267650600228229401496703205376", channel="analysis"),
            a("2**100 = 1267650600228229401496703205376", "final"),
        ],
        "unicode": [u(UNICODE_TEXT), a(UNICODE_TEXT[::-1], "analysis"), a(UNICODE_TEXT, "final")],
        "code_blocks": [u("Show code.\n" + CODE_BLOCK), a(CODE_BLOCK, "final"), u("Explain the `tr` call.")],
        "empty_messages": [u(""), a("", "analysis"), a("", "final"), u("")],
        "long_messages": [u(LONG_TEXT), a(LONG_TEXT, "analysis"), a(LONG_TEXT[:3000], "final"), u(LONG_TEXT[:500])],
        "special_spelling": [u(SPECIAL_SPELLING), a(SPECIAL_SPELLING, "final")],
        "whitespace": [u(WHITESPACE_TEXT), a(WHITESPACE_TEXT, "commentary"), a(WHITESPACE_TEXT.strip(), "final")],
        "commentary_preamble": [
            u("Plan a trip."), a("Let me check the weather first.", "commentary"),
            _call('{"location":"Rome"}', "functions.get_current_weather"),
        ],
        "named_user": [Message(Role.USER, (TextContent("I am Alice."),), name="alice"), a("Hi Alice.", "final")],
        "multi_content": [Message(Role.USER, (TextContent("part one, "), TextContent("part two"))), a("ok", "final")],
        "recipient_all": [
            u("hi"), Message(Role.ASSISTANT, (TextContent("broadcast"),), channel="final", recipient="all"),
        ],
        "assistant_last_analysis": [u("Think hard."), a("Hmm, let me think.", "analysis")],
        "structured_final": [u("JSON please"), a("Format as JSON.", "analysis"),
                             Message.assistant('{"ok": true}', "final", content_type="<|constrain|>json")],
        "numbers_and_json": [u("Parse [1, 2.5e-3, -0.0, 1e20]"), a('{"values": [1, 0.0025, -0.0, 1e+20]}', "final")],
    }


@dataclass(frozen=True)
class CorpusCase:
    name: str
    messages: tuple[Message, ...]

    @property
    def has_named_non_tool(self) -> bool:
        """openai-harmony's parser cannot read `user:alice` headers back (it raises on the unknown role)."""
        return any(m.name is not None and m.role is not Role.TOOL for m in self.messages)


def corpus(size: int = 80, seed: int = 20251125) -> list[CorpusCase]:
    """`size` conversations: every dialogue and every system/developer variant appears at least once."""
    rng = random.Random(seed)
    systems, developers, talks = system_variants(), developer_variants(), dialogues()
    talk_names = sorted(talks)
    cases = []
    for i in range(max(size, len(systems), len(talk_names), len(developers))):
        system = systems[i % len(systems)] if i < len(systems) else rng.choice(systems)
        developer = developers[i % len(developers)] if i < len(developers) else rng.choice(developers)
        talk = talk_names[i % len(talk_names)]
        messages = [Message.system(system)]
        if developer is not None:
            messages.append(Message.developer(developer))
        messages += talks[talk]
        cases.append(CorpusCase(f"{i:03d}-{talk}", tuple(messages)))
    # A few without any system message, and one that is only a system message.
    cases.append(CorpusCase("no-system-multi-turn", tuple(talks["multi_turn"])))
    cases.append(CorpusCase("no-system-tool-call", tuple(talks["tool_call_constrained"])))
    cases.append(CorpusCase("system-only", (Message.system(SystemContent(conversation_start_date="2025-06-28")),)))
    return cases


def to_openai_harmony(messages: tuple[Message, ...] | list[Message]):
    """The same conversation as openai-harmony objects (test-only dependency)."""
    import openai_harmony as oh

    def tools(mapping: dict[str, ToolNamespaceConfig] | None):
        if mapping is None:
            return None
        return {
            key: oh.ToolNamespaceConfig(
                name=ns.name, description=ns.description,
                tools=[oh.ToolDescription(name=t.name, description=t.description, parameters=t.parameters)
                       for t in ns.tools],
            )
            for key, ns in mapping.items()
        }

    def content(c):
        if isinstance(c, TextContent):
            return oh.TextContent(text=c.text)
        if isinstance(c, SystemContent):
            return oh.SystemContent(
                model_identity=c.model_identity,
                reasoning_effort=None if c.reasoning_effort is None else oh.ReasoningEffort(c.reasoning_effort.value),
                conversation_start_date=c.conversation_start_date,
                knowledge_cutoff=c.knowledge_cutoff,
                channel_config=None if c.channel_config is None else oh.ChannelConfig(
                    valid_channels=list(c.channel_config.valid_channels),
                    channel_required=c.channel_config.channel_required),
                tools=tools(c.tools),
            )
        return oh.DeveloperContent(instructions=c.instructions, tools=tools(c.tools))

    return oh.Conversation.from_messages([
        oh.Message(author=oh.Author(role=oh.Role(m.role.value), name=m.name),
                   content=[content(c) for c in m.content],
                   channel=m.channel, recipient=m.recipient, content_type=m.content_type)
        for m in messages
    ])


_PIECES = (
    list("abcXYZ 019 \n\n\t\r  .,;:!?'\"-_/\\<>|{}[]()@#$%^&*+=~`")
    + list("éüßçñ中文字日本語한국어🙂👍🏽\u200d\u0301\u05d0\u0627\u00a0\u2028\u3000")
    + ["<|start|>", "<|end|>", "'s", "'LL", "  \n", "1234567", "https://x.y/z?q=1"]
)


def random_conversations(count: int, seed: int = 7) -> list[tuple[Message, ...]]:
    """Seeded random messages: random text from tokenizer-tricky pieces, any role/channel/recipient/type mix."""
    rng = random.Random(seed)

    def text() -> str:
        return "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 40)))

    conversations = []
    for _ in range(count):
        messages = []
        for _ in range(rng.randint(1, 6)):
            role = rng.choice([Role.USER, Role.ASSISTANT, Role.ASSISTANT, Role.TOOL])
            name = rng.choice(["functions.f", "browser.open", "python"]) if role is Role.TOOL else \
                rng.choice([None, None, "bob"])
            messages.append(Message(
                role, (TextContent(text()),), name=name,
                channel=rng.choice([None, "analysis", "commentary", "final", "odd channel"]),
                recipient=rng.choice([None, None, "functions.f", "browser.search", "all", "assistant"]),
                content_type=rng.choice([None, None, "json", "<|constrain|>json", "<|constrain|>", "code"]),
            ))
        conversations.append(tuple(messages))
    return conversations
