"""Attachments: documents the user added to a conversation, with their extracted text (all sealed).

The documents helper extracts text from PDF/DOCX/...; this module only keeps it. File name, extracted
text, metadata and (optionally) the original bytes are encrypted like messages; mime type and size stay
in the clear so lists can be shown and limits enforced without decrypting.
"""

from __future__ import annotations

import json
import sqlite3
import time

from app.storage import crypto
from app.storage.database import UNSET, Database, _Unset
from app.storage.models import Attachment


class AttachmentsMixin(Database):
    """Attachment methods of HistoryStore (kept apart so each file stays small)."""

    def add_attachment(self, conversation_id: int, file_name: str, mime: str, *, text: str | None = None,
                       data: bytes | None = None, metadata: dict[str, object] | None = None,
                       size: int | None = None, message_id: int | None = None) -> Attachment:
        """Store a document; `size` defaults to len(data), else the UTF-8 length of `text`."""
        if size is None:
            size = len(data) if data is not None else len((text or "").encode("utf-8"))
        now = time.time()
        with self._transaction() as conn:
            self._row(conn, "conversations", conversation_id, "Conversation")
            if message_id is not None:
                self._row(conn, "messages", message_id, "Message")
            cur = conn.execute(
                "INSERT INTO attachments (conversation_id, message_id, file_name, mime, size, metadata, created) "
                "VALUES (?, ?, x'', ?, ?, x'', ?)", (conversation_id, message_id, mime, size, now))
            aid = int(cur.lastrowid)  # type: ignore[arg-type]
            self._write_attachment_fields(conn, conversation_id, aid, file_name=file_name, text=text,
                                          data=data, metadata=metadata or {})
            self._touch(conn, conversation_id, now)
            return self._attachment_from_row(self._row(conn, "attachments", aid, "Attachment"), True, strict=True)

    def get_attachment(self, attachment_id: int, *, with_text: bool = True) -> Attachment:
        """Raises NotFoundError, or TamperedDataError if its sealed fields fail authentication."""
        with self._transaction(write=False) as conn:
            return self._attachment_from_row(self._row(conn, "attachments", attachment_id, "Attachment"),
                                             with_text, strict=True)

    def get_attachment_data(self, attachment_id: int) -> bytes | None:
        """The original file bytes, if they were stored."""
        with self._transaction(write=False) as conn:
            row = self._row(conn, "attachments", attachment_id, "Attachment")
            if row["data"] is None:
                return None
            try:
                return self._unseal("attachments", "data", row["conversation_id"], attachment_id, row["data"])
            except crypto.AuthenticationFailed as exc:
                raise self._tampered(f"Attachment {attachment_id} of conversation {row['conversation_id']}",
                                     row["conversation_id"]) from exc

    def list_attachments(self, conversation_id: int, *, with_text: bool = False) -> list[Attachment]:
        """Oldest first. Unreadable attachments come back with `decrypt_error` set instead of raising."""
        with self._transaction(write=False) as conn:
            self._row(conn, "conversations", conversation_id, "Conversation")
            return self._attachments(conn, conversation_id, with_text)

    def update_attachment(self, attachment_id: int, *, text: str | None | _Unset = UNSET,
                          metadata: dict[str, object] | _Unset = UNSET,
                          message_id: int | None | _Unset = UNSET) -> Attachment:
        """Replace extracted text / metadata (e.g. after re-extraction) or link it to a message."""
        now = time.time()
        with self._transaction() as conn:
            row = self._row(conn, "attachments", attachment_id, "Attachment")
            cid = row["conversation_id"]
            if not isinstance(message_id, _Unset):
                if message_id is not None:
                    self._row(conn, "messages", message_id, "Message")
                conn.execute("UPDATE attachments SET message_id = ? WHERE id = ?", (message_id, attachment_id))
            self._write_attachment_fields(conn, cid, attachment_id, text=text, metadata=metadata)
            self._touch(conn, cid, now)
            return self._attachment_from_row(self._row(conn, "attachments", attachment_id, "Attachment"),
                                             True, strict=True)

    def delete_attachment(self, attachment_id: int) -> None:
        with self._transaction() as conn:
            row = self._row(conn, "attachments", attachment_id, "Attachment")
            conn.execute("DELETE FROM attachments WHERE id = ?", (attachment_id,))
            self._touch(conn, row["conversation_id"], time.time())

    # -- helpers ---------------------------------------------------------------------------------------
    def _attachments(self, conn: sqlite3.Connection, cid: int, with_text: bool) -> list[Attachment]:
        rows = conn.execute("SELECT * FROM attachments WHERE conversation_id = ? ORDER BY id", (cid,)).fetchall()
        return [self._attachment_from_row(row, with_text, strict=False) for row in rows]

    def _write_attachment_fields(self, conn: sqlite3.Connection, cid: int, aid: int, *,
                                 file_name: str | _Unset = UNSET, text: str | None | _Unset = UNSET,
                                 data: bytes | None | _Unset = UNSET,
                                 metadata: dict[str, object] | _Unset = UNSET) -> None:
        values = {"file_name": file_name, "text": text, "data": data,
                  "metadata": UNSET if isinstance(metadata, _Unset) else json.dumps(metadata)}
        for column, value in values.items():
            if isinstance(value, _Unset):
                continue
            sealed = None if value is None else self._seal("attachments", column, cid, aid, value)
            conn.execute(f"UPDATE attachments SET {column} = ? WHERE id = ?", (sealed, aid))

    def _attachment_from_row(self, row: sqlite3.Row, with_text: bool, strict: bool) -> Attachment:
        aid, cid = row["id"], row["conversation_id"]
        fields: dict[str, object] = {}
        try:
            fields["file_name"] = self._unseal_text("attachments", "file_name", cid, aid, row["file_name"])
            fields["metadata"] = json.loads(self._unseal_text("attachments", "metadata", cid, aid, row["metadata"]))
            if with_text and row["text"] is not None:
                fields["text"] = self._unseal_text("attachments", "text", cid, aid, row["text"])
        except crypto.AuthenticationFailed as exc:
            error = self._tampered(f"Attachment {aid} of conversation {cid}", cid)
            if strict:
                raise error from exc
            fields = {"file_name": f"(unreadable attachment {aid})", "decrypt_error": str(error)}
        return Attachment(id=aid, conversation_id=cid, message_id=row["message_id"], mime=row["mime"],
                          size=row["size"], created=row["created"], has_data=row["data"] is not None,
                          **fields)  # type: ignore[arg-type]
