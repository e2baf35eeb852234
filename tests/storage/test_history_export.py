"""Export of one conversation to Markdown and to JSON."""

from __future__ import annotations

import json

from app.storage import Attachment, Conversation, HistoryStore, Message, MessageStatus, Role
from app.storage.export import to_markdown

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def test_markdown_layout() -> None:
    conv = Conversation(id=1, title="Bread", created=T0, updated=T0 + 60, system_prompt="Be brief.",
                        reasoning_effort="low", model_id="gpt-oss-20b")
    messages = [
        Message(id=1, conversation_id=1, position=0, role=Role.USER, content="How long to proof dough?",
                reasoning="", status=MessageStatus.COMPLETE, created=T0, updated=T0),
        Message(id=2, conversation_id=1, position=1, role=Role.ASSISTANT, content="About **1–2 hours**.",
                reasoning="Typical bulk ferment.", status=MessageStatus.STOPPED, created=T0, updated=T0),
    ]
    attachments = [Attachment(id=1, conversation_id=1, message_id=1, file_name="recipe.pdf",
                              mime="application/pdf", size=2048, created=T0)]
    assert to_markdown(conv, messages, attachments) == """\
# Bread

- Created: 2027-01-15T08:00:00+00:00
- Updated: 2027-01-15T08:01:00+00:00
- Model: gpt-oss-20b
- Reasoning effort: low
- Exported from Enclave

## System prompt

Be brief.

## Attachments

- recipe.pdf (application/pdf, 2048 bytes)

---

### User

How long to proof dough?

### Assistant

<details>
<summary>Reasoning</summary>

Typical bulk ferment.

</details>

About **1–2 hours**.

*Reply stopped by the user.*
"""


def test_store_exports_markdown(store: HistoryStore) -> None:
    conv = store.create_conversation("Sums", model_id="gpt-oss-20b")
    store.add_message(conv.id, Role.USER, "2+2?")
    reply = store.begin_assistant_message(conv.id)
    store.finish_message(reply.id, MessageStatus.ERROR, content="4", error="context full")
    text = store.export_markdown(conv.id)
    assert text.startswith("# Sums\n")
    assert text.index("### User\n\n2+2?") < text.index("### Assistant\n\n4")
    assert "*Reply failed: context full*" in text and "## System prompt" not in text


def test_store_exports_json(store: HistoryStore) -> None:
    conv = store.create_conversation("Sums", system_prompt="Math only.", sampling={"temperature": 0.2})
    user = store.add_message(conv.id, Role.USER, "2+2?")
    store.add_message(conv.id, Role.ASSISTANT, "4", reasoning="easy", prompt_tokens=9, completion_tokens=3,
                      timings={"ttft_s": 0.1})
    store.add_attachment(conv.id, "n.txt", "text/plain", text="notes", metadata={"lines": 1}, message_id=user.id)
    data = json.loads(json.dumps(store.export_json(conv.id)))  # proves it is plain JSON data
    assert (data["format"], data["format_version"]) == ("enclave.conversation", 1)
    assert data["conversation"]["title"] == "Sums" and data["conversation"]["system_prompt"] == "Math only."
    assert data["conversation"]["sampling"] == {"temperature": 0.2}
    assert data["conversation"]["created"].endswith("+00:00")
    assert [(m["role"], m["content"], m["reasoning"], m["status"]) for m in data["messages"]] == [
        ("user", "2+2?", "", "complete"), ("assistant", "4", "easy", "complete")]
    assert (data["messages"][1]["prompt_tokens"], data["messages"][1]["timings"]) == (9, {"ttft_s": 0.1})
    [attachment] = data["attachments"]
    assert (attachment["file_name"], attachment["message_id"], attachment["metadata"]) == ("n.txt", user.id,
                                                                                        {"lines": 1})
    assert "text" not in attachment
    with_text = store.export_json(conv.id, include_attachment_text=True)
    assert with_text["attachments"][0]["text"] == "notes"  # type: ignore[index]
