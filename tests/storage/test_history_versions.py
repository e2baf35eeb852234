"""Reply versions: Regenerate keeps the replaced reply; the user pages between versions; all of it sealed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.storage import HistoryStore
from app.storage.errors import NotFoundError, StorageError
from app.storage.models import MessageStatus, Role


def _reply(store: HistoryStore, cid: int, text: str, status=MessageStatus.COMPLETE, **kw):
    row = store.begin_assistant_message(cid)
    return store.finish_message(row.id, status, content=text, **kw)


def _again(store: HistoryStore, reply_id: int, text: str, **kw):
    row = store.regenerate_reply(reply_id)
    assert row.status is MessageStatus.STREAMING and row.content == ""
    return store.finish_message(reply_id, MessageStatus.COMPLETE, content=text, **kw)


def test_regenerate_keeps_the_replaced_reply_and_pages_between_versions(store: HistoryStore) -> None:
    cid = store.create_conversation("Versions").id
    store.add_message(cid, Role.USER, "question")
    first = _reply(store, cid, "first answer", reasoning="thought one", prompt_tokens=10, completion_tokens=3,
                   timings={"ttft_s": 0.5, "finish_reason": "stop"})
    second = _again(store, first.id, "second answer", completion_tokens=5)
    assert second.id == first.id and (second.version, second.versions) == (2, 2)
    third = _again(store, first.id, "third answer")
    assert (third.version, third.versions) == (3, 3)

    shown = store.show_reply_version(first.id, 1)
    assert (shown.content, shown.reasoning, shown.version, shown.versions) == ("first answer", "thought one", 1, 3)
    assert (shown.prompt_tokens, shown.completion_tokens) == (10, 3)
    assert shown.timings == {"ttft_s": 0.5, "finish_reason": "stop"}  # every detail comes back with its version
    assert [m.content for m in store.get_messages(cid)] == ["question", "first answer"]
    assert store.show_reply_version(first.id, 3).content == "third answer"
    assert store.show_reply_version(first.id, 2).content == "second answer"
    with pytest.raises(NotFoundError, match="has no version 4"):
        store.show_reply_version(first.id, 4)


def test_versions_are_sealed_survive_reopening_and_go_with_their_conversation(db_path: Path,
                                                                              memory_keyring) -> None:
    with HistoryStore.open(db_path) as store:
        cid = store.create_conversation("Kept").id
        store.add_message(cid, Role.USER, "question")
        reply = _reply(store, cid, "the zebra answer")
        _again(store, reply.id, "the yak answer")
    raw = b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))
    assert b"zebra" not in raw and b"yak" not in raw
    with HistoryStore.open(db_path) as store:
        last = store.get_messages(cid)[-1]
        assert (last.content, last.version, last.versions) == ("the yak answer", 2, 2)
        assert store.show_reply_version(last.id, 1).content == "the zebra answer"
        store.delete_conversation(cid)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM reply_versions").fetchone()[0] == 0
    conn.close()


def test_a_moved_version_fails_authentication_instead_of_showing(db_path: Path, memory_keyring) -> None:
    with HistoryStore.open(db_path) as store:
        cid = store.create_conversation("Tamper").id
        store.add_message(cid, Role.USER, "q")
        reply = _reply(store, cid, "kept one")
        _again(store, reply.id, "shown one")
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE reply_versions SET content = (SELECT content FROM messages WHERE role = 'user')")
    conn.commit()
    conn.close()
    with HistoryStore.open(db_path) as store:
        with pytest.raises(StorageError, match="failed authentication"):
            store.show_reply_version(reply.id, 1)
        assert store.get_messages(cid)[-1].content == "shown one"  # nothing changed


def test_regenerating_an_earlier_reply_drops_the_later_turns_and_only_the_last_reply_switches(
        store: HistoryStore) -> None:
    cid = store.create_conversation("Middle").id
    store.add_message(cid, Role.USER, "q1")
    early = _reply(store, cid, "a1")
    store.add_message(cid, Role.USER, "q2")
    late = _reply(store, cid, "a2")
    _again(store, late.id, "a2 again")
    with pytest.raises(StorageError, match="not the last of its conversation"):
        store.show_reply_version(early.id, 1)
    _again(store, early.id, "a1 again")
    assert [m.content for m in store.get_messages(cid)] == ["q1", "a1 again"]
    assert store.show_reply_version(early.id, 1).content == "a1"
    with pytest.raises(StorageError, match="not a reply"):
        store.regenerate_reply(store.get_messages(cid)[0].id)


def test_a_reply_that_failed_before_writing_is_not_kept_and_numbering_stays_dense(store: HistoryStore) -> None:
    cid = store.create_conversation("Failed").id
    store.add_message(cid, Role.USER, "q")
    reply = _reply(store, cid, "good one")
    store.regenerate_reply(reply.id)
    store.finish_message(reply.id, MessageStatus.ERROR, error="the model stopped")
    again = _again(store, reply.id, "good two")
    assert (again.version, again.versions) == (2, 2)  # the failure in between is not a version
    assert store.show_reply_version(reply.id, 1).content == "good one"


def test_a_version_two_history_is_migrated_in_place(db_path: Path, memory_keyring) -> None:
    """A history written before reply versions existed (schema 2) opens, keeps every message, and gains them."""
    with HistoryStore.open(db_path) as store:
        cid = store.create_conversation("Old").id
        store.add_message(cid, Role.USER, "old question")
        reply_id = _reply(store, cid, "old answer").id
    conn = sqlite3.connect(db_path)  # take the file back to schema 2 (sealed details, no reply versions)
    conn.execute("DROP TABLE reply_versions")
    conn.execute("ALTER TABLE messages DROP COLUMN version")
    conn.execute("UPDATE meta SET value = 2 WHERE key = 'schema_version'")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with HistoryStore.open(db_path) as store:
        assert [m.content for m in store.get_messages(cid)] == ["old question", "old answer"]
        assert _again(store, reply_id, "new answer").versions == 2
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == 3
    conn.close()


def test_earlier_versions_are_sealed_again_when_the_passphrase_changes(db_path: Path, passphrase: str) -> None:
    """Changing the passphrase re-encrypts every sealed value under the new key, the kept versions included: an
    earlier version still opens afterwards, and none of its old ciphertext is left in the file."""
    with HistoryStore.open(db_path) as store:
        cid = store.create_conversation("Rotated").id
        store.add_message(cid, Role.USER, "question")
        first = _reply(store, cid, "the first answer", reasoning="first thoughts", timings={"ttft_s": 0.25})
        _again(store, first.id, "the second answer")
        store.checkpoint()
        conn = sqlite3.connect(db_path)
        old = [blob for row in conn.execute("SELECT content, reasoning, details FROM reply_versions")
               for blob in row]
        conn.close()
        store.change_passphrase(passphrase, "otter lantern meridian")
        shown = store.show_reply_version(first.id, 1)
        assert (shown.content, shown.reasoning, shown.timings) == ("the first answer", "first thoughts",
                                                                   {"ttft_s": 0.25})
        store.checkpoint()
    disk = db_path.read_bytes()
    assert old and all(blob not in disk for blob in old)
