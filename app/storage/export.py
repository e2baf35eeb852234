"""Turn a decrypted conversation into Markdown (to read or share) or a JSON-ready dict (to archive).

Pure functions over the store's dataclasses, so the format can be tested without a database. Exports are
plaintext by design: the user asked to take the conversation out of the encrypted store.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.storage.models import Attachment, Conversation, Message, MessageStatus, Role

JSON_FORMAT = "enclave.conversation"
JSON_FORMAT_VERSION = 1

_ROLE_HEADINGS = {Role.USER: "User", Role.ASSISTANT: "Assistant", Role.SYSTEM: "System", Role.TOOL: "Tool"}
_STATUS_NOTES = {
    MessageStatus.STOPPED: "Reply stopped by the user.",
    MessageStatus.INTERRUPTED: "Reply interrupted: Enclave closed before it finished.",
    MessageStatus.STREAMING: "Reply still being written when exported.",
}


def iso_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def to_markdown(conv: Conversation, messages: list[Message], attachments: list[Attachment]) -> str:
    lines = [f"# {conv.title}", "", f"- Created: {iso_time(conv.created)}", f"- Updated: {iso_time(conv.updated)}"]
    if conv.model_id:
        lines.append(f"- Model: {conv.model_id}")
    lines += [f"- Reasoning effort: {conv.reasoning_effort}", "- Exported from Enclave", ""]
    if conv.system_prompt:
        lines += ["## System prompt", "", conv.system_prompt, ""]
    if attachments:
        lines += ["## Attachments", ""]
        lines += [f"- {a.file_name} ({a.mime}, {a.size} bytes)" for a in attachments]
        lines.append("")
    lines += ["---", ""]
    for message in messages:
        lines += [f"### {_ROLE_HEADINGS[message.role]}", ""]
        if message.decrypt_error:
            lines += [f"*This message could not be decrypted: {message.decrypt_error}*", ""]
            continue
        if message.reasoning:
            lines += ["<details>", "<summary>Reasoning</summary>", "", message.reasoning, "", "</details>", ""]
        if message.content:
            lines += [message.content, ""]
        if message.status is MessageStatus.ERROR:
            lines += [f"*Reply failed: {message.error or 'unknown error'}*", ""]
        elif message.status in _STATUS_NOTES:
            lines += [f"*{_STATUS_NOTES[message.status]}*", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def to_json(conv: Conversation, messages: list[Message], attachments: list[Attachment]) -> dict[str, object]:
    """A dict of JSON types only (json.dumps works on it); times as ISO 8601 UTC strings."""
    return {
        "format": JSON_FORMAT,
        "format_version": JSON_FORMAT_VERSION,
        "conversation": {
            "id": conv.id, "title": conv.title, "created": iso_time(conv.created),
            "updated": iso_time(conv.updated), "system_prompt": conv.system_prompt,
            "reasoning_effort": conv.reasoning_effort, "sampling": conv.sampling, "model_id": conv.model_id,
        },
        "messages": [_message_json(m) for m in messages],
        "attachments": [_attachment_json(a) for a in attachments],
    }


def _message_json(m: Message) -> dict[str, object]:
    out: dict[str, object] = {
        "id": m.id, "position": m.position, "role": m.role.value, "status": m.status.value,
        "content": m.content, "reasoning": m.reasoning, "created": iso_time(m.created),
        "prompt_tokens": m.prompt_tokens, "completion_tokens": m.completion_tokens, "timings": m.timings,
    }
    if m.error:
        out["error"] = m.error
    if m.decrypt_error:
        out["decrypt_error"] = m.decrypt_error
    return out


def _attachment_json(a: Attachment) -> dict[str, object]:
    out: dict[str, object] = {"id": a.id, "message_id": a.message_id, "file_name": a.file_name, "mime": a.mime,
                              "size": a.size, "created": iso_time(a.created), "metadata": a.metadata}
    if a.text is not None:
        out["text"] = a.text
    if a.decrypt_error:
        out["decrypt_error"] = a.decrypt_error
    return out
