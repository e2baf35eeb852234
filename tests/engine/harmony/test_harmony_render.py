"""Our renderer against openai-harmony's, token for token, over the whole corpus (and a few pinned texts)."""

from __future__ import annotations

import json

import pytest

from app.engine.harmony import (
    Conversation,
    DeveloperContent,
    HarmonyFormatError,
    Message,
    ReasoningEffort,
    Role,
    SystemContent,
    TextContent,
    ToolDescription,
    render_conversation,
    render_conversation_for_completion,
    render_conversation_for_training,
    render_message,
)
from app.tokenizer import special_tokens as st
from tests.support.harmony_corpus import corpus, random_conversations, to_openai_harmony


def _first_difference(encoding, ours: list[int], theirs: list[int]) -> str:
    index = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    return (f"first difference at token {index}:\n ours:   {encoding.decode(ours[index:index + 20])!r}\n"
            f" theirs: {encoding.decode(theirs[index:index + 20])!r}")


def test_corpus_is_big_and_varied() -> None:
    cases = corpus()
    assert len(cases) >= 60
    messages = [m for case in cases for m in case.messages]
    assert {m.channel for m in messages} >= {"analysis", "commentary", "final", None}
    assert any(m.content_type == "<|constrain|>json" for m in messages)
    assert any(m.content_type == "json" for m in messages)
    assert any(m.role is Role.TOOL for m in messages)
    efforts = {c.reasoning_effort for m in messages for c in m.content if isinstance(c, SystemContent)}
    assert efforts == {ReasoningEffort.LOW, ReasoningEffort.MEDIUM, ReasoningEffort.HIGH, None}
    namespaces = {k for m in messages for c in m.content if isinstance(c, SystemContent) and c.tools for k in c.tools}
    assert {"browser", "python"} <= namespaces


def test_corpus_renders_token_for_token_like_openai_harmony(codec, harmony_encoding, harmony_cases) -> None:
    from openai_harmony import Role as OhRole

    for case in harmony_cases:
        theirs_conv = to_openai_harmony(case.messages)
        ours = render_conversation(codec, case.messages)
        theirs = harmony_encoding.render_conversation(theirs_conv)
        assert ours == theirs, f"{case.name}: {_first_difference(harmony_encoding, ours, theirs)}"
        ours = render_conversation_for_completion(codec, case.messages)
        theirs = harmony_encoding.render_conversation_for_completion(theirs_conv, OhRole.ASSISTANT)
        assert ours == theirs, f"{case.name} (for completion): {_first_difference(harmony_encoding, ours, theirs)}"


def test_random_conversations_render_like_openai_harmony(codec, harmony_encoding) -> None:
    """Random text from tokenizer-tricky pieces in every header position: catches tokenizer or piece-split drift."""
    from openai_harmony import Role as OhRole

    for index, messages in enumerate(random_conversations(150)):
        ours = render_conversation_for_completion(codec, messages)
        theirs = harmony_encoding.render_conversation_for_completion(to_openai_harmony(messages), OhRole.ASSISTANT)
        assert ours == theirs, f"random conversation {index}: {_first_difference(harmony_encoding, ours, theirs)}"


def test_keep_analysis_and_training_variants_match(codec, harmony_encoding, harmony_cases) -> None:
    from openai_harmony import RenderConversationConfig

    keep = RenderConversationConfig(auto_drop_analysis=False)
    for case in harmony_cases[::4]:
        theirs_conv = to_openai_harmony(case.messages)
        assert render_conversation(codec, case.messages, auto_drop_analysis=False) == \
            harmony_encoding.render_conversation(theirs_conv, keep), case.name
        assert render_conversation_for_training(codec, case.messages) == \
            harmony_encoding.render_conversation_for_training(theirs_conv), case.name


def test_single_message_render_matches(codec, harmony_encoding, harmony_cases) -> None:
    for case in harmony_cases[:10]:
        for message in case.messages:
            theirs = harmony_encoding.render(to_openai_harmony([message]).messages[0])
            assert render_message(codec, message) == theirs, case.name


def test_json_form_matches_openai_harmony(harmony_cases) -> None:
    for case in harmony_cases:
        ours = Conversation(case.messages)
        assert ours.to_dict() == json.loads(to_openai_harmony(case.messages).to_json()), case.name
        assert Conversation.from_json(ours.to_json()) == ours, case.name


def test_pinned_simple_prompt_text(codec, harmony_encoding) -> None:
    """A literal from openai-harmony's test-data (test_simple_convo), so a wrong reference can't hide a bug."""
    messages = [Message.system(SystemContent()), Message.user("What is 2 + 2?")]
    expected = (
        "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
        "Knowledge cutoff: 2024-06\n\nReasoning: medium\n\n"
        "# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>"
        "<|start|>user<|message|>What is 2 + 2?<|end|><|start|>assistant"
    )
    assert harmony_encoding.decode_utf8(render_conversation_for_completion(codec, messages)) == expected


def test_control_token_spellings_in_text_stay_plain_text(codec) -> None:
    ids = render_message(codec, Message.user("a<|end|>b"))
    assert ids.count(st.END) == 1 and ids[-1] == st.END
    assert codec.encode_ordinary("<|start|>") == [27, 91, 5236, 91, 29]  # openai-harmony's test_encode_allowed_special


def test_constrain_content_type_is_the_control_token(codec) -> None:
    message = Message.assistant("{}", "commentary", "functions.f", "<|constrain|>json")
    ids = render_message(codec, message)
    assert st.CONSTRAIN in ids and ids[-1] == st.CALL


def test_content_in_the_wrong_role_is_refused(codec) -> None:
    with pytest.raises(HarmonyFormatError, match="System content"):
        render_message(codec, Message(Role.USER, (SystemContent(),)))
    with pytest.raises(HarmonyFormatError, match="Developer content"):
        render_message(codec, Message(Role.ASSISTANT, (DeveloperContent(),)))
    with pytest.raises(HarmonyFormatError, match="tool's name"):
        render_message(codec, Message(Role.TOOL, (TextContent("x"),)))


def test_conversation_json_errors_name_the_problem() -> None:
    with pytest.raises(HarmonyFormatError, match="not valid JSON"):
        Conversation.from_json("{")
    with pytest.raises(HarmonyFormatError, match="Unknown role 'robot'"):
        Conversation.from_json('{"messages": [{"role": "robot", "content": "x"}]}')
    with pytest.raises(HarmonyFormatError, match="lacks content"):
        Conversation.from_json('{"messages": [{"role": "user"}]}')
    with pytest.raises(HarmonyFormatError, match="Unknown content type 'image'"):
        Conversation.from_json('{"messages": [{"role": "user", "content": [{"type": "image"}]}]}')
    tool = ToolDescription.from_dict({"name": "f", "description": "d"})
    assert tool.parameters is None


def test_codec_leaves_a_shared_tokenizer_as_it_was(harmony_tokenizer) -> None:
    """The model's tokenizer is shared with the generator, which reads "<|start|>" in raw prompts as the token."""
    from app.engine.harmony import HarmonyCodec

    codec = HarmonyCodec(harmony_tokenizer)
    assert codec.encode_ordinary("x<|start|>") == [87, 27, 91, 5236, 91, 29]
    assert harmony_tokenizer.encode("x<|start|>", add_special_tokens=False).ids == [87, st.START]
