"""Encryption at rest: no plaintext in the file or its WAL, and any edited or moved ciphertext is caught."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.storage import HistoryStore, MessageStatus, Role, TamperedDataError

SECRETS = {
    "title": "Merger with Globex Corporation",
    "system": "You are counsel for project NIGHTJAR.",
    "user": "Draft the termination letter for employee 4711-Zebra.",
    "answer": "Dear Ms Quartermaine, we regret to inform you",
    "reasoning": "The user wants a termination letter; keep it kind.",
    "streamed": "Partial streamed reply about the Halvorsen account",
    "file": "salaries-2027-confidential.xlsx",
    "doc": "Alice Anderson earns 123456 per year",
    "blob": "raw document bytes: Saffron Lighthouse",
    "meta": "Author: Bartholomew Kittering",
    "cited_file": "osprey-acquisition-memo.docx",
    "cited_heading": "Osprey Valuation Appendix",
}
MODEL_ID = "gpt-oss-20b-plainfield-model-id"  # stored in the clear on purpose: proves the scan sees the data


def _disk_bytes(db_path: Path) -> bytes:
    """Main file plus WAL (and shared-memory index), as an attacker copying the folder would get them."""
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))


def _write_everything(store: HistoryStore) -> int:
    conv = store.create_conversation(SECRETS["title"], system_prompt=SECRETS["system"], model_id=MODEL_ID)
    user = store.add_message(conv.id, Role.USER, SECRETS["user"])
    store.add_message(conv.id, Role.ASSISTANT, SECRETS["answer"], reasoning=SECRETS["reasoning"])
    cited = store.begin_assistant_message(conv.id)
    store.finish_message(cited.id, MessageStatus.COMPLETE, content="See [1].", timings={
        "ttft_s": 0.2, "citations": [{"file_name": SECRETS["cited_file"], "label": SECRETS["cited_heading"]}]})
    reply = store.begin_assistant_message(conv.id)
    store.update_streaming_content(reply.id, SECRETS["streamed"])
    store.add_attachment(conv.id, SECRETS["file"], "application/vnd.ms-excel", text=SECRETS["doc"],
                         data=SECRETS["blob"].encode(), metadata={"author": SECRETS["meta"]}, message_id=user.id)
    return conv.id


def test_no_plaintext_in_database_or_wal(db_path: Path, store: HistoryStore) -> None:
    conv_id = _write_everything(store)
    assert db_path.with_name(db_path.name + "-wal").stat().st_size > 0  # data still in the WAL
    before = _disk_bytes(db_path)
    assert MODEL_ID.encode() in before
    store.checkpoint()
    after_checkpoint = _disk_bytes(db_path)
    store.close()
    after_close = _disk_bytes(db_path)
    assert MODEL_ID.encode() in after_close
    for name, secret in SECRETS.items():
        for label, data in [("before checkpoint", before), ("after checkpoint", after_checkpoint),
                            ("after close", after_close)]:
            for fragment in (secret, secret[:12], secret[-12:]):
                assert fragment.encode() not in data, f"plaintext of {name} found on disk {label}"
    with HistoryStore.open(db_path) as reopened:  # and it all decrypts again
        assert reopened.get_conversation(conv_id).title == SECRETS["title"]
        assert [m.content for m in reopened.get_messages(conv_id)] == [
            SECRETS["user"], SECRETS["answer"], "See [1].", SECRETS["streamed"]]
        assert reopened.get_messages(conv_id)[2].timings["citations"][0]["file_name"] == SECRETS["cited_file"]


def test_same_text_twice_gives_different_ciphertexts(db_path: Path, store: HistoryStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, Role.USER, "same")
    store.add_message(conv.id, Role.USER, "same")
    raw = sqlite3.connect(db_path)
    blobs = [row[0] for row in raw.execute("SELECT content FROM messages")]
    raw.close()
    assert len(set(blobs)) == 2


def _raw_update(db_path: Path, sql: str, params: tuple[object, ...]) -> None:
    raw = sqlite3.connect(db_path)
    with raw:
        raw.execute(sql, params)
    raw.close()


def _raw_value(db_path: Path, sql: str, params: tuple[object, ...]) -> bytes:
    raw = sqlite3.connect(db_path)
    value = raw.execute(sql, params).fetchone()[0]
    raw.close()
    return value


def _three_messages(store: HistoryStore) -> tuple[int, list[int]]:
    conv = store.create_conversation("Tamper test")
    ids = [store.add_message(conv.id, role, text, reasoning=f"why {text}").id
           for role, text in [(Role.USER, "first"), (Role.ASSISTANT, "second"), (Role.USER, "third")]]
    return conv.id, ids


def test_flipped_byte_is_reported_for_that_message_only(db_path: Path, store: HistoryStore) -> None:
    conv_id, ids = _three_messages(store)
    blob = bytearray(_raw_value(db_path, "SELECT content FROM messages WHERE id = ?", (ids[1],)))
    blob[-5] ^= 0x01
    _raw_update(db_path, "UPDATE messages SET content = ? WHERE id = ?", (bytes(blob), ids[1]))

    with pytest.raises(TamperedDataError, match=f"Message {ids[1]} of conversation {conv_id}") as info:
        store.get_message(ids[1])
    assert (info.value.conversation_id, info.value.message_id) == (conv_id, ids[1])
    assert str(db_path) in str(info.value)
    messages = store.get_messages(conv_id)
    assert [m.content for m in messages] == ["first", "", "third"]
    assert messages[1].decrypt_error and f"Message {ids[1]}" in messages[1].decrypt_error
    assert messages[0].decrypt_error is None and messages[2].decrypt_error is None
    assert store.get_message(ids[2]).content == "third"
    assert [h.message_id for h in store.search("third")] == [ids[2]]
    assert "could not be decrypted" in store.export_markdown(conv_id)


def test_ciphertext_swapped_between_rows_is_detected(db_path: Path, store: HistoryStore) -> None:
    conv_id, ids = _three_messages(store)
    a = _raw_value(db_path, "SELECT content FROM messages WHERE id = ?", (ids[0],))
    b = _raw_value(db_path, "SELECT content FROM messages WHERE id = ?", (ids[2],))
    _raw_update(db_path, "UPDATE messages SET content = ? WHERE id = ?", (b, ids[0]))
    _raw_update(db_path, "UPDATE messages SET content = ? WHERE id = ?", (a, ids[2]))
    flagged = [m.id for m in store.get_messages(conv_id) if m.decrypt_error]
    assert flagged == [ids[0], ids[2]]
    assert store.get_message(ids[1]).content == "second"


def test_ciphertext_moved_between_columns_is_detected(db_path: Path, store: HistoryStore) -> None:
    _, ids = _three_messages(store)
    reasoning = _raw_value(db_path, "SELECT reasoning FROM messages WHERE id = ?", (ids[0],))
    _raw_update(db_path, "UPDATE messages SET content = ? WHERE id = ?", (reasoning, ids[0]))
    with pytest.raises(TamperedDataError):
        store.get_message(ids[0])


def test_message_moved_to_another_conversation_is_detected(db_path: Path, store: HistoryStore) -> None:
    _, ids = _three_messages(store)
    other = store.create_conversation("Other")
    _raw_update(db_path, "UPDATE messages SET conversation_id = ?, position = 0 WHERE id = ?", (other.id, ids[0]))
    assert store.get_messages(other.id)[0].decrypt_error is not None


def test_tampered_title_is_listed_not_crashed_on(db_path: Path, store: HistoryStore) -> None:
    bad = store.create_conversation("Bad")
    good = store.create_conversation("Good")
    store.add_message(good.id, Role.USER, "still searchable")
    title = _raw_value(db_path, "SELECT title FROM conversations WHERE id = ?", (good.id,))
    _raw_update(db_path, "UPDATE conversations SET title = ? WHERE id = ?", (title, bad.id))
    listed = {c.id: c for c in store.list_conversations()}
    assert listed[good.id].title == "Good" and listed[good.id].decrypt_error is None
    assert listed[bad.id].decrypt_error and f"Conversation {bad.id}" in listed[bad.id].decrypt_error
    with pytest.raises(TamperedDataError, match=f"Conversation {bad.id}"):
        store.get_conversation(bad.id)
    assert [h.conversation_id for h in store.search("searchable")] == [good.id]


def test_tampered_attachment_is_reported(db_path: Path, store: HistoryStore) -> None:
    conv = store.create_conversation()
    att = store.add_attachment(conv.id, "a.txt", "text/plain", text="contents", data=b"contents")
    ok = store.add_attachment(conv.id, "b.txt", "text/plain", text="fine")
    _raw_update(db_path, "UPDATE attachments SET text = substr(text, 1, length(text) - 1) || x'00' WHERE id = ?",
                (att.id,))
    with pytest.raises(TamperedDataError, match=f"Attachment {att.id}"):
        store.get_attachment(att.id)
    listed = store.list_attachments(conv.id, with_text=True)
    assert listed[0].decrypt_error and listed[1].text == "fine" and listed[1].id == ok.id
    assert store.get_attachment_data(att.id) == b"contents"  # other columns are sealed independently



def test_deleted_conversation_leaves_no_ciphertext_behind(db_path: Path, store: HistoryStore) -> None:
    doomed = store.create_conversation("Doomed")
    kept = store.create_conversation("Kept")
    sealed = []
    for conv in (doomed, kept):
        msg = store.add_message(conv.id, Role.USER, "x" * 20000)  # spills onto overflow pages
        sealed.append(_raw_value(db_path, "SELECT content FROM messages WHERE id = ?", (msg.id,)))
    store.delete_conversation(doomed.id)
    on_disk = _disk_bytes(db_path)

    def found(blob: bytes) -> int:  # large values are split across pages, so look for 32-byte pieces
        return sum(blob[i:i + 32] in on_disk for i in range(0, len(blob) - 32, 499))

    assert found(sealed[1]) > 30  # the scan finds the sealed value that should be there...
    assert found(sealed[0]) == 0  # ...and secure_delete + checkpoint removed the deleted one
