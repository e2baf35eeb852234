"""Round trips through a real SQLite file: conversations, messages, streaming, edit/regenerate, search."""

from __future__ import annotations

import sqlite3
import sys
import threading
from pathlib import Path

import pytest
from storage_keyrings import MemoryKeyring

from app.storage import HistoryStore, MessageStatus, NotFoundError, Role, StorageError


def test_conversation_round_trip_survives_reopen(db_path: Path, memory_keyring: MemoryKeyring) -> None:
    sampling = {"temperature": 0.7, "top_p": 0.9, "top_k": 40, "max_new_tokens": 512, "seed": None}
    with HistoryStore.open(db_path) as store:
        created = store.create_conversation("Trip to Lisbon", system_prompt="Answer briefly.",
                                            reasoning_effort="high", sampling=sampling, model_id="gpt-oss-20b")
    with HistoryStore.open(db_path) as store:
        loaded = store.get_conversation(created.id)
    assert loaded == created
    assert (loaded.title, loaded.system_prompt, loaded.reasoning_effort) == ("Trip to Lisbon", "Answer briefly.", "high")
    assert loaded.sampling == sampling and loaded.model_id == "gpt-oss-20b"


def test_list_is_sorted_by_last_update(store: HistoryStore) -> None:
    a = store.create_conversation("A")
    b = store.create_conversation("B")
    assert [c.id for c in store.list_conversations()] == [b.id, a.id]
    store.add_message(a.id, Role.USER, "bump")
    assert [c.id for c in store.list_conversations()] == [a.id, b.id]
    store.rename(b.id, "B renamed")
    assert [c.title for c in store.list_conversations()] == ["B renamed", "A"]


def test_update_conversation_changes_only_given_fields(store: HistoryStore) -> None:
    conv = store.create_conversation("T", system_prompt="S", model_id="m1")
    updated = store.update_conversation(conv.id, reasoning_effort="low", model_id=None)
    assert (updated.title, updated.system_prompt, updated.reasoning_effort, updated.model_id) == ("T", "S", "low", None)
    with pytest.raises(ValueError, match="reasoning effort"):
        store.update_conversation(conv.id, reasoning_effort="extreme")


def test_delete_removes_messages_and_attachments(store: HistoryStore, db_path: Path) -> None:
    conv = store.create_conversation("Doomed")
    msg = store.add_message(conv.id, Role.USER, "hello")
    att = store.add_attachment(conv.id, "a.txt", "text/plain", text="x")
    keep = store.create_conversation("Kept")
    store.delete_conversation(conv.id)
    for call, arg in [(store.get_conversation, conv.id), (store.get_message, msg.id), (store.get_attachment, att.id)]:
        with pytest.raises(NotFoundError):
            call(arg)
    assert [c.id for c in store.list_conversations()] == [keep.id]
    raw = sqlite3.connect(db_path)
    assert raw.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    assert raw.execute("SELECT count(*) FROM attachments").fetchone()[0] == 0
    raw.close()


def test_messages_round_trip_in_order(db_path: Path, memory_keyring: MemoryKeyring) -> None:
    with HistoryStore.open(db_path) as store:
        conv = store.create_conversation()
        store.add_message(conv.id, Role.SYSTEM, "You are terse.")
        store.add_message(conv.id, Role.USER, "2+2? ünïcødé ✓")
        store.add_message(conv.id, Role.ASSISTANT, "4", reasoning="Simple sum.", prompt_tokens=12,
                          completion_tokens=5, timings={"ttft_s": 0.25, "decode_tok_s": 31.5})
        store.add_message(conv.id, Role.TOOL, '{"result": 4}')
    with HistoryStore.open(db_path) as store:
        messages = store.get_messages(conv.id)
    assert [(m.position, m.role, m.content) for m in messages] == [
        (0, Role.SYSTEM, "You are terse."), (1, Role.USER, "2+2? ünïcødé ✓"), (2, Role.ASSISTANT, "4"),
        (3, Role.TOOL, '{"result": 4}')]
    answer = messages[2]
    assert (answer.reasoning, answer.prompt_tokens, answer.completion_tokens) == ("Simple sum.", 12, 5)
    assert answer.timings == {"ttft_s": 0.25, "decode_tok_s": 31.5}
    assert all(m.status is MessageStatus.COMPLETE and m.decrypt_error is None for m in messages)


def test_streaming_reply_then_stop_keeps_partial_text(store: HistoryStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, Role.USER, "Count to five")
    reply = store.begin_assistant_message(conv.id)
    assert (reply.status, reply.content) == (MessageStatus.STREAMING, "")
    store.update_streaming_content(reply.id, "1, 2", reasoning="Counting")
    store.append_streaming_content(reply.id, ", 3", reasoning_delta=" up")
    assert store.get_message(reply.id).content == "1, 2, 3"
    done = store.finish_message(reply.id, MessageStatus.STOPPED, completion_tokens=7, timings={"seconds": 1.5})
    assert (done.status, done.content, done.reasoning) == (MessageStatus.STOPPED, "1, 2, 3", "Counting up")
    assert (done.completion_tokens, done.timings) == (7, {"seconds": 1.5})
    with pytest.raises(StorageError, match="not streaming"):
        store.update_streaming_content(reply.id, "late text")


def test_finish_with_error_and_final_text(store: HistoryStore) -> None:
    conv = store.create_conversation()
    reply = store.begin_assistant_message(conv.id)
    failed = store.finish_message(reply.id, MessageStatus.ERROR, content="partial", error="out of memory")
    assert (failed.status, failed.content, failed.error) == (MessageStatus.ERROR, "partial", "out of memory")
    with pytest.raises(ValueError):
        store.finish_message(reply.id, MessageStatus.STREAMING)


def _chat(store: HistoryStore) -> tuple[int, list[int]]:
    conv = store.create_conversation()
    ids = [store.add_message(conv.id, role, text).id for role, text in [
        (Role.USER, "q1"), (Role.ASSISTANT, "a1"), (Role.USER, "q2"), (Role.ASSISTANT, "a2")]]
    return conv.id, ids


def test_edit_and_resend_rewrites_message_and_drops_later_ones(store: HistoryStore) -> None:
    conv_id, ids = _chat(store)
    edited = store.edit_message(ids[0], "q1, rephrased")
    assert edited.content == "q1, rephrased"
    assert [(m.id, m.content) for m in store.get_messages(conv_id)] == [(ids[0], "q1, rephrased")]
    new_reply = store.begin_assistant_message(conv_id)
    assert new_reply.position == 1


def test_regenerate_truncates_after_user_message(store: HistoryStore) -> None:
    conv_id, ids = _chat(store)
    assert store.truncate_after(ids[2]) == 1
    assert [m.content for m in store.get_messages(conv_id)] == ["q1", "a1", "q2"]
    assert store.begin_assistant_message(conv_id).position == 3


def test_failed_call_is_rolled_back_as_one_transaction(store: HistoryStore) -> None:
    conv_id, ids = _chat(store)
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate can't be encoded: fails after the truncation
        store.edit_message(ids[0], "bad \ud800 text")
    assert [m.content for m in store.get_messages(conv_id)] == ["q1", "a1", "q2", "a2"]


def test_search_matches_titles_and_messages_case_insensitively(store: HistoryStore) -> None:
    trip = store.create_conversation("Trip to Lisbon")
    store.add_message(trip.id, Role.USER, "Where should I eat pastéis de nata?")
    recipes = store.create_conversation("Recipes")
    store.add_message(recipes.id, Role.USER, "How do I bake bread?")
    store.add_message(recipes.id, Role.ASSISTANT, "Flour, water, salt and yeast: BAKE at 230 °C.")
    assert [(h.conversation_id, h.message_id) for h in store.search("lisbon")] == [(trip.id, None)]
    hits = store.search("bake")
    assert len(hits) == 1 and hits[0].conversation_id == recipes.id and hits[0].matches == 2
    assert "bake bread" in hits[0].snippet
    assert store.search("PASTÉIS")[0].conversation_id == trip.id
    assert store.search("sourdough") == [] and store.search("  ") == []


def test_attachments_crud(store: HistoryStore) -> None:
    conv = store.create_conversation()
    msg = store.add_message(conv.id, Role.USER, "see attached")
    att = store.add_attachment(conv.id, "report.pdf", "application/pdf", text="Quarterly numbers",
                               data=b"%PDF-1.7 fake", metadata={"pages": 3}, message_id=msg.id)
    assert (att.file_name, att.size, att.text, att.metadata, att.has_data) == (
        "report.pdf", len(b"%PDF-1.7 fake"), "Quarterly numbers", {"pages": 3}, True)
    listed = store.list_attachments(conv.id)
    assert [(a.id, a.file_name, a.text) for a in listed] == [(att.id, "report.pdf", None)]
    assert store.list_attachments(conv.id, with_text=True)[0].text == "Quarterly numbers"
    assert store.get_attachment_data(att.id) == b"%PDF-1.7 fake"
    updated = store.update_attachment(att.id, text="Re-extracted", metadata={"pages": 4})
    assert (updated.text, updated.metadata, updated.message_id) == ("Re-extracted", {"pages": 4}, msg.id)
    text_only = store.add_attachment(conv.id, "notes.md", "text/markdown", text="é")
    assert (text_only.size, text_only.has_data, store.get_attachment_data(text_only.id)) == (2, False, None)
    store.edit_message(msg.id, "see attached (edited)")  # the attachment's message survives an edit
    assert store.get_attachment(att.id).message_id == msg.id
    store.delete_attachment(att.id)
    assert [a.id for a in store.list_attachments(conv.id)] == [text_only.id]


def test_missing_ids_raise_not_found(store: HistoryStore) -> None:
    with pytest.raises(NotFoundError, match="Conversation 99 does not exist"):
        store.add_message(99, Role.USER, "x")
    with pytest.raises(NotFoundError, match="Message 7"):
        store.get_message(7)


def test_database_settings_on_disk(db_path: Path, store: HistoryStore) -> None:
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA application_id").fetchone()[0] == int.from_bytes(b"EnCv", "big")
    assert dict(raw.execute("SELECT key, value FROM meta WHERE key = 'schema_version'").fetchall()) == {
        "schema_version": 3}
    raw.close()
    store.close()
    assert db_path.read_bytes()[68:72] == b"EnCv"  # SQLite header: application id
    if sys.platform != "win32":
        assert db_path.stat().st_mode & 0o777 == 0o600


def test_closed_store_refuses_calls(store: HistoryStore) -> None:
    store.close()
    store.close()
    with pytest.raises(StorageError, match="closed"):
        store.list_conversations()


def test_calls_from_another_thread_are_serialised(store: HistoryStore) -> None:
    conv = store.create_conversation()
    errors: list[BaseException] = []

    def worker(tag: str) -> None:
        try:
            for i in range(20):
                store.add_message(conv.id, Role.USER, f"{tag}{i}")
        except BaseException as exc:  # noqa: BLE001  (re-raised below in the test thread)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(tag,)) for tag in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(m.position for m in store.get_messages(conv.id)) == list(range(40))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_DATA_HOME is honoured on Linux only")
def test_default_path_is_in_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          memory_keyring: MemoryKeyring) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with HistoryStore.open() as store:
        assert store.path == tmp_path / "data" / "Enclave" / "history.sqlite3"
    assert store.path.is_file()
