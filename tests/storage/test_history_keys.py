"""Where the data key lives: a real (in-memory) keyring backend, or the warned passphrase fallback."""

from __future__ import annotations

import base64
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import pytest
from storage_keyrings import LockedKeyring, MemoryKeyring

from app.storage import (HistoryStore, KeyMode, KeyUnavailableError, PassphraseRequiredError, Role,
                         WrongKeyError, WrongPassphraseError)
from app.storage.keys import KEYRING_SERVICE, keyring_usable


def _meta(db_path: Path) -> dict[str, object]:
    raw = sqlite3.connect(db_path)
    meta = dict(raw.execute("SELECT key, value FROM meta").fetchall())
    raw.close()
    return meta


def test_keyring_mode_keeps_key_out_of_the_database(db_path: Path, memory_keyring: MemoryKeyring) -> None:
    with HistoryStore.open(db_path) as store:
        assert (store.key_mode, store.key_warning) == (KeyMode.KEYRING, None)
        conv = store.create_conversation("Kept in keyring")
    [(service, name)] = memory_keyring.secrets
    assert service == KEYRING_SERVICE and name.startswith("history-data-key")
    key = base64.b64decode(memory_keyring.secrets[(service, name)])
    assert len(key) == 32
    meta = _meta(db_path)
    assert meta["key_mode"] == "keyring" and "wrapped_key" not in meta and "kdf_salt" not in meta
    assert not any(key in value for value in meta.values() if isinstance(value, bytes))
    with HistoryStore.open(db_path) as store:
        assert store.get_conversation(conv.id).title == "Kept in keyring"


def test_missing_keyring_entry_is_a_clear_error(db_path: Path, memory_keyring: MemoryKeyring) -> None:
    HistoryStore.open(db_path).close()
    memory_keyring.secrets.clear()
    with pytest.raises(KeyUnavailableError, match="has no entry Enclave/history-data-key") as info:
        HistoryStore.open(db_path)
    assert str(db_path) in str(info.value)


def test_different_key_in_keyring_is_wrong_key(db_path: Path, memory_keyring: MemoryKeyring) -> None:
    HistoryStore.open(db_path).close()
    [entry] = memory_keyring.secrets
    memory_keyring.secrets[entry] = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(WrongKeyError, match="does not match"):
        HistoryStore.open(db_path)
    memory_keyring.secrets[entry] = "not base64!"
    with pytest.raises(WrongKeyError, match="not a valid key"):
        HistoryStore.open(db_path)


def test_keyring_database_without_keyring_is_a_clear_error(db_path: Path, memory_keyring: MemoryKeyring,
                                                            passphrase: str) -> None:
    HistoryStore.open(db_path).close()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(KeyUnavailableError, match="no keyring is available"):
        HistoryStore.open(db_path)


def test_passphrase_fallback_is_warned_and_round_trips(db_path: Path, passphrase: str) -> None:
    with HistoryStore.open(db_path) as store:
        assert store.key_mode is KeyMode.PASSPHRASE
        assert store.key_warning and "passphrase" in store.key_warning
        conv = store.create_conversation("Passphrase protected")
        store.add_message(conv.id, Role.USER, "hello")
    meta = _meta(db_path)
    assert meta["key_mode"] == "passphrase" and meta["kdf"] == "argon2id" and len(meta["kdf_salt"]) == 16
    assert (meta["kdf_memory_kib"], meta["kdf_iterations"], meta["kdf_lanes"]) == (65536, 3, 4)  # RFC 9106 #2
    with HistoryStore.open(db_path) as store:
        assert store.get_messages(conv.id)[0].content == "hello"


def test_wrong_passphrase_is_a_clear_error_and_changes_nothing(
        db_path: Path, passphrase: str, monkeypatch: pytest.MonkeyPatch, file_hash: Callable[[Path], str]) -> None:
    HistoryStore.open(db_path).close()
    before = file_hash(db_path)
    monkeypatch.setenv("ENCLAVE_PASSPHRASE", "wrong horse")
    with pytest.raises(WrongPassphraseError, match="passphrase does not unlock") as info:
        HistoryStore.open(db_path)
    assert str(db_path) in str(info.value)
    assert file_hash(db_path) == before
    with HistoryStore.open(db_path, passphrase=passphrase) as store:  # explicit argument beats the env var
        assert store.list_conversations() == []


def test_no_keyring_and_no_passphrase_asks_for_one(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PassphraseRequiredError) as info:
        HistoryStore.open(db_path)
    assert info.value.new_database and not db_path.exists()  # nothing created before we have a key
    HistoryStore.open(db_path, passphrase="chosen by the user").close()
    with pytest.raises(PassphraseRequiredError) as info:
        HistoryStore.open(db_path)
    assert not info.value.new_database and "enter the passphrase" in str(info.value)


def test_empty_chainer_counts_as_no_keyring(monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring) -> None:
    assert keyring_usable()
    monkeypatch.setattr(keyring.backend, "_limit", lambda backend: False)  # keyring's own backend filter
    keyring.set_keyring(keyring.backends.chainer.ChainerBackend())
    assert not keyring_usable()


def test_keyring_that_refuses_falls_back_to_passphrase(db_path: Path, passphrase: str) -> None:
    keyring.set_keyring(LockedKeyring())
    with HistoryStore.open(db_path) as store:
        assert store.key_mode is KeyMode.PASSPHRASE and store.key_warning


def test_locked_keyring_for_keyring_database_is_a_clear_error(db_path: Path, memory_keyring: MemoryKeyring) -> None:
    HistoryStore.open(db_path).close()
    keyring.set_keyring(LockedKeyring())
    with pytest.raises(KeyUnavailableError, match="could not return the key"):
        HistoryStore.open(db_path)


def test_use_keyring_false_forces_passphrase_mode(db_path: Path, memory_keyring: MemoryKeyring) -> None:
    with HistoryStore.open(db_path, passphrase="a throwaway session key", use_keyring=False) as store:
        assert store.key_mode is KeyMode.PASSPHRASE
    assert memory_keyring.secrets == {}  # nothing left in the user's keyring
    with HistoryStore.open(db_path, passphrase="a throwaway session key") as store:  # reopening follows the file's mode
        assert store.key_mode is KeyMode.PASSPHRASE
