"""History lifecycle on real files and real keyring backends: retention (bytes gone from the file), delete all,
change passphrase, move the key between the keyring and a passphrase, and the organisation's RequireOsKeyring."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from storage_keyrings import LockedKeyring, MemoryKeyring

from app.storage import (HistoryStore, KeyMode, KeyringRequiredError, KeyUnavailableError, PassphraseRequiredError,
                         Role, StorageError, WeakPassphraseError, WrongPassphraseError)

NEW_PASSPHRASE = "otter lantern meridian"


def _disk(path: Path) -> bytes:
    """The main file, its WAL and shared-memory index: what a copy of the folder holds."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def _column(path: Path, sql: str, params: tuple = ()) -> list[bytes]:
    raw = sqlite3.connect(path)
    values = [row[0] for row in raw.execute(sql, params)]
    raw.close()
    return values


def _meta(path: Path) -> dict[str, object]:
    raw = sqlite3.connect(path)
    meta = dict(raw.execute("SELECT key, value FROM meta").fetchall())
    raw.close()
    return meta


def _age(path: Path, conversation_id: int, days: float) -> None:
    """As if the conversation had last been touched `days` ago (the store sets `updated` to the current time)."""
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE conversations SET updated = ? WHERE id = ?", (time.time() - days * 86400,
                                                                          conversation_id))
    raw.close()


def _two_conversations(store: HistoryStore) -> tuple[int, int]:
    old = store.create_conversation("Heron merger notes")
    store.add_message(old.id, Role.USER, "The heron merger closes in May. " * 20)
    store.add_attachment(old.id, "heron.docx", "application/octet-stream", text="Heron term sheet " * 50)
    new = store.create_conversation("Recent")
    store.add_message(new.id, Role.USER, "still needed")
    return old.id, new.id


def test_retention_deletes_old_conversations_and_their_bytes(db_path: Path, store: HistoryStore) -> None:
    old, new = _two_conversations(store)
    store.close()
    _age(db_path, old, 45)
    old_ciphertexts = (_column(db_path, "SELECT content FROM messages WHERE conversation_id = ?", (old,))
                       + _column(db_path, "SELECT text FROM attachments WHERE conversation_id = ?", (old,))
                       + _column(db_path, "SELECT title FROM conversations WHERE id = ?", (old,)))
    kept = _column(db_path, "SELECT content FROM messages WHERE conversation_id = ?", (new,))
    assert len(old_ciphertexts) == 3 and all(blob in _disk(db_path) for blob in old_ciphertexts)

    with HistoryStore.open(db_path) as reopened:
        assert reopened.delete_older_than(30) == 1
        assert [c.id for c in reopened.list_conversations()] == [new]
        assert reopened.get_messages(new)[0].content == "still needed"
        assert reopened.delete_older_than(30) == 0
        disk = _disk(db_path)
        for blob in old_ciphertexts:
            for fragment in (blob, blob[13:45], blob[-24:]):  # nonce+ciphertext, or any stretch of it
                assert fragment not in disk, "a deleted conversation's bytes are still in the file"
        assert kept[0] in disk
    with pytest.raises(ValueError, match="at least 1"):
        HistoryStore.open(db_path).delete_older_than(0)


def test_delete_all_removes_the_file_and_its_key(db_path: Path, memory_keyring: MemoryKeyring) -> None:
    with HistoryStore.open(db_path) as store:
        _two_conversations(store)
        first_id = store.db_id
        assert len(memory_keyring.secrets) == 1
        store.delete_all()
        assert not store.is_open
    assert list(db_path.parent.glob(db_path.name + "*")) == []
    assert memory_keyring.secrets == {}  # crypto-shredded: a backup of the old file opens with no key at all
    with HistoryStore.open(db_path) as fresh:
        assert fresh.list_conversations() == [] and fresh.db_id != first_id


def test_change_passphrase_rotates_the_key(db_path: Path, passphrase: str, monkeypatch: pytest.MonkeyPatch,
                                           file_hash: Callable[[Path], str]) -> None:
    with HistoryStore.open(db_path) as store:
        old, _ = _two_conversations(store)
        store.checkpoint()
        before = file_hash(db_path)
        with pytest.raises(WrongPassphraseError, match="does not unlock"):
            store.change_passphrase("not the current one", NEW_PASSPHRASE)
        with pytest.raises(WeakPassphraseError, match="at least 12 characters"):
            store.change_passphrase(passphrase, "short")
        store.checkpoint()
        assert file_hash(db_path) == before  # refused changes touch nothing
        old_meta = _meta(db_path)
        old_blobs = _column(db_path, "SELECT content FROM messages")
        store.change_passphrase(passphrase, NEW_PASSPHRASE)
        assert store.get_messages(old)[0].content.startswith("The heron merger")
        assert store.key_mode is KeyMode.PASSPHRASE
    disk = _disk(db_path)
    for gone in (old_meta["wrapped_key"], old_meta["kdf_salt"], old_meta["key_check"], *old_blobs):
        assert gone not in disk  # the old wrapping and every value under the old key are overwritten
    monkeypatch.delenv("ENCLAVE_PASSPHRASE")
    with pytest.raises(WrongPassphraseError):
        HistoryStore.open(db_path, passphrase=passphrase)
    with HistoryStore.open(db_path, passphrase=NEW_PASSPHRASE) as store:
        assert store.get_messages(old)[0].content.startswith("The heron merger")
        assert store.list_attachments(old, with_text=True)[0].text.startswith("Heron term sheet")


def test_move_the_key_from_the_keyring_to_a_passphrase_and_back(db_path: Path,
                                                                memory_keyring: MemoryKeyring) -> None:
    with HistoryStore.open(db_path) as store:
        old, _ = _two_conversations(store)
        [first_entry] = memory_keyring.secrets
        with pytest.raises(WeakPassphraseError):
            store.use_passphrase("1234")
        store.use_passphrase(NEW_PASSPHRASE)
        assert store.key_mode is KeyMode.PASSPHRASE and store.key_warning
        assert memory_keyring.secrets == {}
        with pytest.raises(StorageError, match="protected by the passphrase, so Enclave cannot move its key to a"):
            store.use_passphrase(NEW_PASSPHRASE)
    meta = _meta(db_path)
    assert meta["key_mode"] == "passphrase" and "keyring_name" not in meta and meta["kdf"] == "argon2id"
    with pytest.raises(PassphraseRequiredError):
        HistoryStore.open(db_path)  # a keyring is there, but this history now needs its passphrase
    with HistoryStore.open(db_path, passphrase=NEW_PASSPHRASE) as store:
        with pytest.raises(WrongPassphraseError):
            store.use_keyring("a wrong passphrase")
        store.use_keyring(NEW_PASSPHRASE)
        assert store.key_mode is KeyMode.KEYRING and store.key_warning is None
    [(_, entry)] = memory_keyring.secrets
    assert entry != first_entry[1] and entry.startswith(f"history-data-key/{meta['db_id']}/")
    meta = _meta(db_path)
    assert meta["key_mode"] == "keyring" and "wrapped_key" not in meta and "kdf_salt" not in meta
    with HistoryStore.open(db_path) as store:
        assert store.get_messages(old)[0].content.startswith("The heron merger")


def test_a_keyring_that_refuses_the_key_changes_nothing(db_path: Path, passphrase: str,
                                                       file_hash: Callable[[Path], str]) -> None:
    with HistoryStore.open(db_path) as store:
        _two_conversations(store)
        store.checkpoint()
        before = file_hash(db_path)
        with pytest.raises(KeyUnavailableError, match="No OS keyring is available"):
            store.use_keyring(passphrase)
        keyring.set_keyring(LockedKeyring())
        with pytest.raises(KeyUnavailableError, match="did not accept the history key"):
            store.use_keyring(passphrase)
        store.checkpoint()
        assert file_hash(db_path) == before and store.key_mode is KeyMode.PASSPHRASE


def test_policy_require_os_keyring_refuses_the_passphrase_fallback(db_path: Path, passphrase: str,
                                                                  enterprise_policy,
                                                                  file_hash: Callable[[Path], str]) -> None:
    HistoryStore.open(db_path, require_keyring=False).close()  # a passphrase history from before the policy
    before = file_hash(db_path)
    enterprise_policy({"RequireOsKeyring": True})
    with pytest.raises(KeyringRequiredError, match="Your organization requires the history key to be kept in the "
                                                   "OS keyring, and no keyring is available") as info:
        HistoryStore.open(db_path)
    assert str(db_path) in str(info.value) and file_hash(db_path) == before
    fresh = db_path.with_name("new.sqlite3")
    with pytest.raises(KeyringRequiredError):
        HistoryStore.open(fresh)
    assert not fresh.exists()

    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    with HistoryStore.open(db_path) as store:  # unlocked with the passphrase, then moved into the keyring
        assert store.key_mode is KeyMode.KEYRING and len(memory.secrets) == 1
        with pytest.raises(StorageError, match="cannot be moved to a passphrase"):
            store.use_passphrase(NEW_PASSPHRASE)
    assert _meta(db_path)["key_mode"] == "keyring"
    keyring.set_keyring(keyring.backends.fail.Keyring())
