"""Reply versions: Regenerate keeps the reply it replaces, and the user pages back and forth between them.

The messages row always holds the version on screen (so reading a conversation, searching it, exporting it and
building the next prompt need no join); `reply_versions` holds the others, each with its number (1, 2, 3 in the
order they were written) and every field a reply has, sealed like the message itself. Showing version n swaps
it with the row's, in one transaction. Only the last reply of a conversation changes version: the turns after
a reply were written in answer to the version that was shown then.
"""

from __future__ import annotations

import sqlite3
import time

from app.storage import crypto
from app.storage.database import Database
from app.storage.errors import NotFoundError, StorageError
from app.storage.models import Message, MessageStatus, Role

_SEALED = ("content", "reasoning", "error", "details")  # details: timings, finish reason, citations


class ReplyVersionsMixin(Database):
    """Reply-version methods of HistoryStore (kept apart so each file stays small)."""

    def regenerate_reply(self, message_id: int) -> Message:
        """Keeps this reply as an earlier version, deletes every later message, and turns the row into a new,
        empty, streaming version (numbered after the others) that the next reply is written into."""
        with self._transaction() as conn:
            row = self._reply_row(conn, message_id, "regenerated")
            self._delete_later(conn, row)
            if _worth_keeping(row):
                try:
                    self._archive(conn, row)
                except crypto.AuthenticationFailed:
                    pass  # an unreadable reply is not kept: its text is gone either way
            number = self._next_number(conn, row)
            cid = row["conversation_id"]
            conn.execute("UPDATE messages SET content = ?, reasoning = ?, error = NULL, status = ?, prompt_tokens = NULL, "
                         "completion_tokens = NULL, details = ?, version = ?, updated = ? WHERE id = ?",
                         (self._seal("messages", "content", cid, message_id, ""),
                          self._seal("messages", "reasoning", cid, message_id, ""), MessageStatus.STREAMING.value,
                          self._seal("messages", "details", cid, message_id, "{}"), number, time.time(), message_id))
            self._touch(conn, cid, time.time())
            return self._versioned(conn, message_id)

    def show_reply_version(self, message_id: int, ordinal: int) -> Message:
        """Makes the `ordinal`-th version of this reply (1 = the first written) the one shown; the one shown until
        now is kept. `Message.version` / `versions` count the same way."""
        with self._transaction() as conn:
            row = self._reply_row(conn, message_id, "switched to another version")
            if conn.execute("SELECT 1 FROM messages WHERE conversation_id = ? AND position > ?",
                            (row["conversation_id"], row["position"])).fetchone():
                raise StorageError(f"Message {message_id} in {self.path} is not the last of its conversation, so "
                                   "its version cannot change: later messages answer the version shown now.")
            numbers = sorted({row["version"], *self._kept_versions(conn, row["conversation_id"]).get(message_id, ())})
            if not 1 <= ordinal <= len(numbers):
                raise NotFoundError(f"Message {message_id} in {self.path} has no version {ordinal} "
                                    f"(it has {len(numbers)}).")
            number = numbers[ordinal - 1]
            if number == row["version"]:
                return self._versioned(conn, message_id)
            kept = conn.execute("SELECT * FROM reply_versions WHERE message_id = ? AND number = ?",
                                (message_id, number)).fetchone()
            cid, vid = row["conversation_id"], kept["id"]
            values: dict[str, object] = {}
            try:
                for column in _SEALED:
                    blob = kept[column]
                    values[column] = None if blob is None else self._seal(
                        "messages", column, cid, message_id,
                        self._unseal("reply_versions", column, cid, vid, blob))
            except crypto.AuthenticationFailed as exc:
                raise self._tampered(f"Version {number} of message {message_id}", cid, message_id) from exc
            self._archive(conn, row)
            conn.execute("DELETE FROM reply_versions WHERE id = ?", (vid,))
            conn.execute("UPDATE messages SET content = ?, reasoning = ?, error = ?, status = ?, prompt_tokens = ?, "
                         "completion_tokens = ?, details = ?, version = ?, updated = ? WHERE id = ?",
                         (values["content"], values["reasoning"], values["error"], kept["status"],
                          kept["prompt_tokens"], kept["completion_tokens"], values["details"], number,
                          time.time(), message_id))
            return self._versioned(conn, message_id)

    # -- helpers ---------------------------------------------------------------------------------------
    def _reply_row(self, conn: sqlite3.Connection, message_id: int, verb: str) -> sqlite3.Row:
        row = self._row(conn, "messages", message_id, "Message")
        if row["role"] != Role.ASSISTANT.value:
            raise StorageError(f"Message {message_id} in {self.path} is not a reply, so it cannot be {verb}.")
        if row["status"] == MessageStatus.STREAMING.value:
            raise StorageError(f"Message {message_id} in {self.path} is still being written, so it cannot be {verb}.")
        return row

    def _archive(self, conn: sqlite3.Connection, row: sqlite3.Row) -> None:
        """Copies the reply in `row` into reply_versions under its own number, re-sealed for its new place."""
        mid, cid = row["id"], row["conversation_id"]
        plain = {column: self._unseal("messages", column, cid, mid, row[column])
                 for column in _SEALED if row[column] is not None}  # before any write: a failure changes nothing
        cur = conn.execute(
            "INSERT INTO reply_versions (message_id, conversation_id, number, content, reasoning, error, status, "
            "prompt_tokens, completion_tokens, details, created) VALUES (?, ?, ?, x'', x'', NULL, ?, ?, ?, x'', ?)",
            (mid, cid, row["version"], row["status"], row["prompt_tokens"], row["completion_tokens"], row["updated"]))
        vid = int(cur.lastrowid)  # type: ignore[arg-type]
        sealed = {column: self._seal("reply_versions", column, cid, vid, value) for column, value in plain.items()}
        assignments = ", ".join(f"{column} = ?" for column in sealed)
        conn.execute(f"UPDATE reply_versions SET {assignments} WHERE id = ?", (*sealed.values(), vid))

    @staticmethod
    def _next_number(conn: sqlite3.Connection, row: sqlite3.Row) -> int:
        highest = conn.execute("SELECT max(number) FROM reply_versions WHERE message_id = ?", (row["id"],)).fetchone()[0]
        return max(row["version"], highest or 0) + 1

    @staticmethod
    def _delete_later(conn: sqlite3.Connection, row: sqlite3.Row) -> None:
        conn.execute("DELETE FROM messages WHERE conversation_id = ? AND position > ?",
                     (row["conversation_id"], row["position"]))

    def _versioned(self, conn: sqlite3.Connection, message_id: int) -> Message:
        return self._message(conn, message_id, strict=True)

    @staticmethod
    def _kept_versions(conn: sqlite3.Connection, conversation_id: int) -> dict[int, tuple[int, ...]]:
        """Message id -> the numbers of the other versions it keeps, for one conversation."""
        kept: dict[int, list[int]] = {}
        for message_id, number in conn.execute("SELECT message_id, number FROM reply_versions WHERE "
                                               "conversation_id = ? ORDER BY number", (conversation_id,)):
            kept.setdefault(message_id, []).append(number)
        return {message_id: tuple(numbers) for message_id, numbers in kept.items()}


def _worth_keeping(row: sqlite3.Row) -> bool:
    """A reply that failed before it wrote anything is not a version anyone pages back to."""
    return not (row["status"] == MessageStatus.ERROR.value and row["completion_tokens"] in (None, 0))

