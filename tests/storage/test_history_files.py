"""A corrupt, foreign or newer database is refused with a clear message and never modified."""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from storage_keyrings import MemoryKeyring

from app.storage import (CorruptDatabaseError, ForeignDatabaseError, HistoryStore, NewerSchemaError, Role,
                         StorageError)


def _assert_refused(db_path: Path, error: type[StorageError], match: str, file_hash: Callable[[Path], str]) -> None:
    before, siblings = file_hash(db_path), sorted(db_path.parent.iterdir())
    with pytest.raises(error, match=match) as info:
        HistoryStore.open(db_path)
    assert str(db_path) in str(info.value)
    assert file_hash(db_path) == before
    assert sorted(db_path.parent.iterdir()) == siblings  # no -wal / -shm / journal left behind either


def test_random_bytes_are_refused(db_path: Path, memory_keyring: MemoryKeyring,
                                  file_hash: Callable[[Path], str]) -> None:
    db_path.write_bytes(random.Random(5).randbytes(8192))
    _assert_refused(db_path, CorruptDatabaseError, "is not an SQLite database", file_hash)


def test_foreign_sqlite_database_is_refused(db_path: Path, memory_keyring: MemoryKeyring,
                                            file_hash: Callable[[Path], str]) -> None:
    raw = sqlite3.connect(db_path)
    with raw:
        raw.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        raw.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    raw.close()
    _assert_refused(db_path, ForeignDatabaseError, "another application", file_hash)


def test_other_application_id_is_refused(db_path: Path, memory_keyring: MemoryKeyring,
                                         file_hash: Callable[[Path], str]) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA application_id = 1234")  # even with no tables: it is somebody's file
    raw.close()
    _assert_refused(db_path, ForeignDatabaseError, "another application", file_hash)


def test_newer_schema_is_refused(db_path: Path, memory_keyring: MemoryKeyring,
                                 file_hash: Callable[[Path], str]) -> None:
    HistoryStore.open(db_path).close()
    raw = sqlite3.connect(db_path)
    with raw:
        raw.execute("UPDATE meta SET value = 99 WHERE key = 'schema_version'")
    raw.close()
    _assert_refused(db_path, NewerSchemaError, "newer Enclave", file_hash)


def test_truncated_history_is_refused(db_path: Path, memory_keyring: MemoryKeyring,
                                      file_hash: Callable[[Path], str]) -> None:
    with HistoryStore.open(db_path) as store:
        conv = store.create_conversation()
        for i in range(200):
            store.add_message(conv.id, Role.USER, f"message {i} " * 50)
    data = db_path.read_bytes()
    db_path.write_bytes(data[: len(data) // 2])
    _assert_refused(db_path, CorruptDatabaseError, "damaged|integrity", file_hash)


def test_directory_in_place_of_the_file_is_refused(db_path: Path, memory_keyring: MemoryKeyring) -> None:
    db_path.mkdir()
    with pytest.raises(CorruptDatabaseError, match="not a regular file"):
        HistoryStore.open(db_path)


def test_empty_file_is_initialised(db_path: Path, memory_keyring: MemoryKeyring) -> None:
    db_path.touch()
    with HistoryStore.open(db_path) as store:
        assert store.list_conversations() == []


def test_refused_file_stays_refused_on_every_open(db_path: Path, memory_keyring: MemoryKeyring,
                                                  file_hash: Callable[[Path], str]) -> None:
    db_path.write_bytes(b"SQLite format 3\x00" + os.urandom(4080))  # right magic, garbage after it
    for _ in range(2):
        _assert_refused(db_path, CorruptDatabaseError, "damaged|integrity", file_hash)
