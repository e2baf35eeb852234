"""The open, unlocked history database: file checks, key, transactions and per-value sealing.

HistoryStore builds its API on this class. Opening runs in a fixed order so that nothing is written
before the file is known to be ours and the key is known to be right: read-only inspection, key unlock
(or creation, before the file even exists), key check, and only then a read-write connection.

Threading: the store is meant to be used from ONE worker thread (the UI's storage/engine worker), never
from the UI thread. A lock still serialises every call, so a stray call from another thread waits
instead of interleaving a transaction.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import platformdirs

from app.storage import crypto, keys, schema
from app.storage.errors import (CorruptDatabaseError, KeyringRequiredError, NotFoundError, StorageError,
                                TamperedDataError)
from app.storage.models import MessageStatus

DATABASE_FILE_NAME = "history.sqlite3"
T = TypeVar("T")


class _Unset:
    """Marks an update argument that was not given (None is a real value for some fields)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


def default_database_path() -> Path:
    return Path(platformdirs.user_data_dir("Enclave", "Enclave")) / DATABASE_FILE_NAME


class Database:
    """One SQLite file, unlocked. Every public method of subclasses is one transaction."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, passphrase: str | None = None,
                 use_keyring: bool = True, require_keyring: bool | None = None) -> None:
        """Open (or create) the history. For a new file the key goes to the OS keyring when one is usable
        (unless use_keyring=False), else it is wrapped by `passphrase` / ENCLAVE_PASSPHRASE.

        `require_keyring`: no passphrase fallback (None: as the organisation's policy RequireOsKeyring says).
        An existing passphrase-protected history is then moved into the keyring at this unlock.
        """
        self.path = Path(path) if path is not None else default_database_path()
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        if require_keyring is None:
            from app.policy import current_policy

            require_keyring = current_policy().require_os_keyring
        self.require_keyring = require_keyring
        meta = schema.inspect_database(self.path)
        if meta is None:
            self.db_id = uuid.uuid4().hex
            key = keys.create_key(self.db_id, self.path, passphrase, use_keyring, require_keyring)
            self._create_file()
            conn = schema.connect(self.path)
            entries = {"db_id": self.db_id, "created": time.time(), **key.meta}
            self._closing_on_error(conn, lambda: schema.initialize(conn, self.path, entries))
        else:
            db_id, key_check = meta.get("db_id"), meta.get("key_check")
            if not isinstance(db_id, str) or not isinstance(key_check, bytes):
                raise CorruptDatabaseError(f"{self.path} is an Enclave history whose key settings are damaged.")
            self.db_id = db_id
            moving_to_keyring = require_keyring and meta.get("key_mode") == keys.KeyMode.PASSPHRASE.value
            if moving_to_keyring and not keys.keyring_usable():  # refuse before asking for the passphrase
                raise KeyringRequiredError(self.path, "no keyring is available in this session")
            key = keys.unlock_key(meta, db_id, self.path, passphrase)
            keys.verify_key_check(key.data_key, db_id, key_check, self.path)
            conn = schema.connect(self.path)
        self._conn = conn
        self._key = key.data_key
        self.key_mode = key.mode
        self.key_warning = key.warning  # the UI must show this when set (passphrase mode)
        if meta is not None:
            self._closing_on_error(conn, lambda: self._upgrade(meta, key, moving_to_keyring))
        self.recovered_message_ids: list[int] = self._closing_on_error(conn, self._mark_interrupted)

    def _upgrade(self, meta: dict[str, object], key: keys.UnlockedKey, moving_to_keyring: bool) -> None:
        """What an older or differently-keyed file needs right after its first unlock by this version."""
        changed = schema.migrate(self._require_open(), int(meta["schema_version"]), self._seal)  # type: ignore[call-overload]
        if moving_to_keyring:
            self._replace_key(crypto.new_data_key(), lambda new: keys.keyring_meta(new, self.db_id))
            return
        if key.rewrap_passphrase is not None:  # an Enclave 0.1 scrypt wrapping: same key, Argon2id wrapping
            self._replace_key(self._key, lambda same: keys.passphrase_meta(same, self.db_id, key.rewrap_passphrase))
            self.key_warning = key.warning  # still the same (possibly weak) passphrase
            return
        if changed:
            self.scrub()

    @staticmethod
    def _closing_on_error(conn: sqlite3.Connection, step: Callable[[], T]) -> T:
        try:
            return step()
        except BaseException:
            conn.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, passphrase: str | None = None,
             use_keyring: bool = True, require_keyring: bool | None = None) -> Self:
        """Same as the constructor; reads better at call sites (`HistoryStore.open(path)`)."""
        return cls(path, passphrase=passphrase, use_keyring=use_keyring, require_keyring=require_keyring)

    def close(self) -> None:
        """Fold the write-ahead log into the main file and close. Safe to call twice."""
        with self._lock:
            if self._conn is None:
                return
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._conn.close()
                self._conn = None

    def checkpoint(self) -> None:
        with self._lock:
            self._require_open().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def scrub(self) -> None:
        """Leave no old bytes behind: fold the WAL into the file, rebuild the file (VACUUM) so free pages hold
        nothing, and fold again. With secure_delete, deleted and replaced values are then gone from disk."""
        with self._lock:
            conn = self._require_open()
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise StorageError(f"The history in {self.path} could not be compacted ({exc}).") from exc

    # -- the key ---------------------------------------------------------------------------------------
    def _key_meta(self) -> dict[str, object]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(f"SELECT key, value FROM meta WHERE key IN ({_marks(keys.KEY_META_KEYS)})",
                                keys.KEY_META_KEYS).fetchall()
        return {row[0]: row[1] for row in rows}

    def _replace_key(self, new_key: bytes, make_meta: Callable[[bytes], dict[str, object]]) -> None:
        """Re-encrypt every value under `new_key` (unless it is the current one) and store where the key now
        lives, in one transaction; then drop the old keyring entry and scrub the old wrapping off the disk.

        `make_meta(new_key)` runs first (it may store the key in the keyring or derive a passphrase key), so a
        failure there changes nothing. A crash before the commit leaves the old key and data intact.
        """
        with self._lock:
            old_meta = self._key_meta()
            meta = make_meta(new_key)
            try:
                with self._transaction() as conn:
                    if new_key != self._key:
                        self._reseal_all(conn, new_key)
                    conn.execute(f"DELETE FROM meta WHERE key IN ({_marks(keys.KEY_META_KEYS)})", keys.KEY_META_KEYS)
                    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
            except BaseException:
                if meta.get("keyring_name") != old_meta.get("keyring_name"):
                    keys.delete_keyring_entry(meta)  # the new entry that no database names
                raise
            self._key = new_key
            self.key_mode = keys.KeyMode(meta["key_mode"])
            self.key_warning = keys.PASSPHRASE_WARNING if self.key_mode is keys.KeyMode.PASSPHRASE else None
            if meta.get("keyring_name") != old_meta.get("keyring_name"):
                keys.delete_keyring_entry(old_meta)
            self.scrub()

    def _reseal_all(self, conn: sqlite3.Connection, new_key: bytes) -> None:
        """Every sealed value, decrypted with the current key and sealed again with `new_key`.

        A value that fails authentication is left as it is: it is unreadable under either key, and the row
        keeps its "could not be decrypted" marker instead of the whole change failing.
        """
        for table, (cid_column, columns) in schema.SEALED_COLUMNS.items():
            ids = [row[0] for row in conn.execute(f"SELECT id FROM {table}")]
            for row_id in ids:
                row = conn.execute(f"SELECT {cid_column}, {', '.join(columns)} FROM {table} WHERE id = ?",
                                   (row_id,)).fetchone()
                updates = {}
                for column in columns:
                    if row[column] is None:
                        continue
                    ad = _associated_data(table, column, row[0], row_id)
                    try:
                        plain = crypto.open_sealed(self._key, row[column], ad)
                    except (crypto.AuthenticationFailed, TypeError):
                        continue
                    updates[column] = crypto.seal(new_key, plain, ad)
                if updates:
                    sets = ", ".join(f"{column} = ?" for column in updates)
                    conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?", (*updates.values(), row_id))

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- transactions ----------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One API call = one transaction; SQLite errors become a StorageError naming the file."""
        verb = "written" if write else "read"
        with self._lock:
            conn = self._require_open()
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:  # includes a failed COMMIT (busy, disk full): never leave it open
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StorageError(f"The history in {self.path} could not be {verb} ({exc}).") from exc

    def _require_open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"The history in {self.path} is closed.")
        return self._conn

    # -- sealing ---------------------------------------------------------------------------------------
    def _seal(self, table: str, column: str, conversation_id: int, row_id: int, value: str | bytes) -> bytes:
        data = value.encode("utf-8") if isinstance(value, str) else value
        return crypto.seal(self._key, data, _associated_data(table, column, conversation_id, row_id))

    def _unseal(self, table: str, column: str, conversation_id: int, row_id: int, blob: bytes) -> bytes:
        """Raises crypto.AuthenticationFailed; callers turn it into a TamperedDataError naming the row."""
        if not isinstance(blob, bytes):
            raise crypto.AuthenticationFailed(f"{table}.{column} holds {type(blob).__name__}, not a sealed value")
        return crypto.open_sealed(self._key, blob, _associated_data(table, column, conversation_id, row_id))

    def _unseal_text(self, table: str, column: str, conversation_id: int, row_id: int, blob: bytes) -> str:
        return self._unseal(table, column, conversation_id, row_id, blob).decode("utf-8")

    def _tampered(self, what: str, conversation_id: int | None, message_id: int | None = None) -> TamperedDataError:
        return TamperedDataError(
            f"{what} in {self.path} failed authentication: it was modified, damaged or moved from another row.",
            conversation_id, message_id)

    # -- row helpers -----------------------------------------------------------------------------------
    def _row(self, conn: sqlite3.Connection, table: str, row_id: int, what: str) -> sqlite3.Row:
        row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"{what} {row_id} does not exist in the history in {self.path}.")
        return row

    @staticmethod
    def _touch(conn: sqlite3.Connection, conversation_id: int, now: float) -> None:
        """Any change to a conversation moves it to the top of the list."""
        conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))

    # -- opening helpers -------------------------------------------------------------------------------
    def _create_file(self) -> None:
        """Private directory and file (0700/0600 on POSIX): the ciphertext is nobody else's business."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))

    def _mark_interrupted(self) -> list[int]:
        """A message still "streaming" at open was cut off by a killed app: keep its text, mark it."""
        with self._transaction() as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM messages WHERE status = ?",
                                                  (MessageStatus.STREAMING.value,))]
            conn.execute("UPDATE messages SET status = ? WHERE status = ?",
                         (MessageStatus.INTERRUPTED.value, MessageStatus.STREAMING.value))
        return ids


def _associated_data(table: str, column: str, conversation_id: int, row_id: int) -> bytes:
    """Binds a ciphertext to its place: moving it to another row, column or conversation breaks the tag."""
    return f"enclave/v1/{table}/{column}/c{conversation_id}/r{row_id}".encode()


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)
