"""The database layout, and the read-only check that runs before Enclave ever writes to a file.

A file is written only after it has been proven to be either new (missing, empty, or an SQLite database
with no tables) or an Enclave history of a schema version this build understands. Anything else (random
bytes, another application's SQLite database, a newer Enclave's schema) raises a StorageError and the
file is left byte-for-byte untouched: the check opens it with `mode=ro`, and a non-SQLite file is never
handed to SQLite at all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from app.storage.errors import CorruptDatabaseError, ForeignDatabaseError, NewerSchemaError

# PRAGMA application_id marks the file as Enclave's in the SQLite header (offset 68); "EnCv".
APPLICATION_ID = int.from_bytes(b"EnCv", "big")
# 2: messages.timings_json (plaintext, held citations' file names) became sealed `details`
# 3: replies keep their earlier versions (Regenerate): messages.version, reply_versions
SCHEMA_VERSION = 3
_SQLITE_MAGIC = b"SQLite format 3\x00"

# The earlier versions of a reply, kept when it is regenerated; the messages row holds the version shown.
REPLY_VERSIONS_SQL = """
CREATE TABLE reply_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,             -- 1, 2, 3 ... in the order the versions were written
    content BLOB NOT NULL,               -- sealed
    reasoning BLOB NOT NULL,             -- sealed
    error BLOB,                          -- sealed
    status TEXT NOT NULL CHECK (status IN ('complete', 'stopped', 'error', 'interrupted')),
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    details BLOB NOT NULL,               -- sealed JSON: timings, finish reason, citations
    created REAL NOT NULL,
    UNIQUE (message_id, number)
);
CREATE INDEX reply_versions_by_message ON reply_versions (message_id);
"""

SCHEMA_SQL = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value
);
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title BLOB NOT NULL,                 -- sealed
    system_prompt BLOB NOT NULL,         -- sealed
    reasoning_effort TEXT NOT NULL CHECK (reasoning_effort IN ('low', 'medium', 'high')),
    sampling_json TEXT NOT NULL,
    model_id TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX conversations_by_updated ON conversations (updated);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content BLOB NOT NULL,               -- sealed, final channel
    reasoning BLOB NOT NULL,             -- sealed, analysis channel
    error BLOB,                          -- sealed
    status TEXT NOT NULL
        CHECK (status IN ('complete', 'streaming', 'stopped', 'error', 'interrupted')),
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    details BLOB NOT NULL,               -- sealed JSON: timings, citations (file names, headings)
    created REAL NOT NULL,
    updated REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,  -- a reply: which of its versions the row holds (see reply_versions)
    UNIQUE (conversation_id, position)
);
CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming';
""" + REPLY_VERSIONS_SQL + """
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    file_name BLOB NOT NULL,             -- sealed
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,
    text BLOB,                           -- sealed, extracted text
    metadata BLOB NOT NULL,              -- sealed JSON
    data BLOB,                           -- sealed original bytes (optional)
    created REAL NOT NULL
);
CREATE INDEX attachments_by_conversation ON attachments (conversation_id);
"""

# Every sealed column, by table, with the column that holds its conversation id (part of the associated data).
# Re-encryption under a new key (passphrase change, key moved, migration) walks exactly these.
SEALED_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "conversations": ("id", ("title", "system_prompt")),
    "messages": ("conversation_id", ("content", "reasoning", "error", "details")),
    "attachments": ("conversation_id", ("file_name", "text", "metadata", "data")),
    "reply_versions": ("conversation_id", ("content", "reasoning", "error", "details")),
}


def inspect_database(path: Path) -> dict[str, object] | None:
    """Read-only check of an existing file: None if it may be initialised, else its `meta` entries.

    Raises CorruptDatabaseError, ForeignDatabaseError or NewerSchemaError without modifying the file.
    """
    if not path.exists() or path.stat().st_size == 0:
        return None
    if not path.is_file():
        raise CorruptDatabaseError(f"{path} is not a regular file, so it cannot hold the Enclave history.")
    with path.open("rb") as fh:
        if fh.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            raise CorruptDatabaseError(
                f"{path} is not an SQLite database (damaged or a different kind of file); Enclave left it untouched.")
    # Without a -wal file everything is in the main file; `immutable` then stops SQLite from creating
    # -wal/-shm files next to a file that may not even be ours.
    wal_exists = path.with_name(path.name + "-wal").exists()
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("" if wal_exists else "&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise CorruptDatabaseError(f"{path} could not be opened as an SQLite database ({exc}).") from exc
    try:
        return _inspect_open_database(conn, path)
    except sqlite3.DatabaseError as exc:
        raise CorruptDatabaseError(f"{path} is a damaged SQLite database ({exc}); Enclave left it untouched.") from exc
    finally:
        conn.close()


def _inspect_open_database(conn: sqlite3.Connection, path: Path) -> dict[str, object] | None:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if app_id == 0 and not tables:
        return None  # an empty SQLite file (e.g. creation was interrupted): nothing in it to lose
    if app_id != APPLICATION_ID:
        raise ForeignDatabaseError(
            f"{path} is an SQLite database of another application (application id {app_id:#010x}), "
            "so Enclave left it untouched.")
    if "meta" not in tables:
        raise CorruptDatabaseError(f"{path} is marked as an Enclave history but has no meta table.")
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    version = meta.get("schema_version")
    if not isinstance(version, int) or meta.get("application_id") != APPLICATION_ID:
        raise CorruptDatabaseError(f"{path} is marked as an Enclave history but its meta table is damaged.")
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{path} was written by a newer Enclave (history schema {version}, this version reads up to "
            f"{SCHEMA_VERSION}); please update Enclave.")
    check = conn.execute("PRAGMA quick_check").fetchall()
    if check != [("ok",)]:
        raise CorruptDatabaseError(f"{path} failed SQLite's integrity check ({check[0][0]}).")
    return meta


def connect(path: Path) -> sqlite3.Connection:
    """Open read-write with the settings every connection needs (WAL, foreign keys, explicit transactions).

    synchronous=NORMAL in WAL mode: a killed app loses no committed transaction; a power cut may lose the
    last few commits but never corrupts the file.
    secure_delete: deleted conversations are overwritten, not left in free pages.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    conn.row_factory = sqlite3.Row
    conn.text_factory = _text_or_bytes
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        conn.close()
        raise CorruptDatabaseError(f"{path} could not be switched to write-ahead logging (journal mode {mode}).")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA secure_delete = ON")
    return conn


def _text_or_bytes(raw: bytes) -> str | bytes:
    """A damaged row may hold non-UTF-8 TEXT; hand it over as bytes so it fails authentication by name."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def initialize(conn: sqlite3.Connection, path: Path, meta: dict[str, object]) -> None:
    """Create the schema and meta entries in one transaction (a crash leaves an empty, re-initialisable file)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise ForeignDatabaseError(f"{path} gained tables while Enclave was creating it; left untouched.")
        for statement in SCHEMA_SQL.split(";"):  # not executescript(): it would COMMIT mid-transaction
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        entries = {"application_id": APPLICATION_ID, "schema_version": SCHEMA_VERSION, **meta}
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", entries.items())
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, version: int, seal: Callable[[str, str, int, int, bytes], bytes]) -> bool:
    """Brings a database of an older schema up to SCHEMA_VERSION in one transaction; True if it changed anything.

    Runs only after the key is verified (it seals values). `seal(table, column, conversation id, row id, value)`.
    A crash mid-way rolls back to the old schema, which this version still reads and migrates next time.
    """
    if version >= SCHEMA_VERSION:
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        if version < 2:  # timings and citations were plaintext JSON
            conn.execute("ALTER TABLE messages RENAME COLUMN timings_json TO details")
            rows = conn.execute("SELECT id, conversation_id, details FROM messages").fetchall()
            for mid, cid, details in rows:
                plain = details if isinstance(details, bytes) else str(details).encode("utf-8")
                conn.execute("UPDATE messages SET details = ? WHERE id = ?",
                             (seal("messages", "details", cid, mid, plain), mid))
        if version < 3:  # replies kept only their latest version
            conn.execute("ALTER TABLE messages ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
            for statement in REPLY_VERSIONS_SQL.split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return True
