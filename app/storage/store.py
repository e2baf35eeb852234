"""HistoryStore: conversations and messages, encrypted at rest, for the UI's worker thread.

History model: each conversation is ONE linear list of messages ordered by `position`. There are no
branches. Regenerate = `regenerate_reply(<reply>)`: the reply is kept as an earlier version (app.storage.versions)
and its row is written again; the user pages between versions of the last reply. Edit-and-resend =
`edit_message(<user message>, new_text)`, which rewrites it and deletes every later message in the same
transaction: text the user replaced is really gone (secure_delete overwrites it on disk).

Streaming replies are written as they arrive: `begin_assistant_message` creates the row with status
STREAMING, `update_streaming_content` / `append_streaming_content` commit the text so far (the worker calls
them a few times per second), and `finish_message` sets the final status. If the app is killed, the next
open marks any STREAMING row INTERRUPTED and keeps its partial text: at most the reply in flight is lost.
This assumes one Enclave instance per database (the app is single-instance): a second instance opening the
file would mark the first one's reply in flight as interrupted.

Search decrypts titles and message texts in Python and matches substrings (case-insensitive). An FTS
index would be faster but would store the words of every message in plaintext (or need a leaky blind
index), defeating the encryption; decrypting a few thousand conversations takes well under a second.

Threading: use from one worker thread (see app.storage.database); every method is one transaction.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time

from app.storage import crypto, export
from app.storage.attachments import AttachmentsMixin
from app.storage.database import UNSET, _Unset
from app.storage.errors import StorageError
from app.storage.lifecycle import LifecycleMixin
from app.storage.models import REASONING_EFFORTS, Conversation, Message, MessageStatus, Role, SearchHit
from app.storage.versions import ReplyVersionsMixin

log = logging.getLogger(__name__)

DEFAULT_TITLE = "New chat"
_SNIPPET_CONTEXT = 40


class HistoryStore(LifecycleMixin, ReplyVersionsMixin, AttachmentsMixin):
    """The conversation history. Open with `HistoryStore.open(path)` (default path: user data dir)."""

    # -- conversations ---------------------------------------------------------------------------------
    def create_conversation(self, title: str = DEFAULT_TITLE, *, system_prompt: str = "",
                            reasoning_effort: str = "medium", sampling: dict[str, object] | None = None,
                            model_id: str | None = None) -> Conversation:
        _check_effort(reasoning_effort)
        now = time.time()
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO conversations (title, system_prompt, reasoning_effort, sampling_json, model_id, "
                "created, updated) VALUES (x'', x'', ?, ?, ?, ?, ?)",
                (reasoning_effort, json.dumps(sampling or {}), model_id, now, now))
            cid = int(cur.lastrowid)  # type: ignore[arg-type]
            conn.execute("UPDATE conversations SET title = ?, system_prompt = ? WHERE id = ?",
                         (self._seal("conversations", "title", cid, cid, title),
                          self._seal("conversations", "system_prompt", cid, cid, system_prompt), cid))
            return self._conversation(conn, cid, strict=True)

    def get_conversation(self, conversation_id: int) -> Conversation:
        """Raises NotFoundError, or TamperedDataError if its title or system prompt fail authentication."""
        with self._transaction(write=False) as conn:
            return self._conversation(conn, conversation_id, strict=True)

    def list_conversations(self) -> list[Conversation]:
        """Most recently updated first; unreadable ones are listed with `decrypt_error` set."""
        with self._transaction(write=False) as conn:
            rows = conn.execute("SELECT * FROM conversations ORDER BY updated DESC, id DESC").fetchall()
            return [self._conversation_from_row(row, strict=False) for row in rows]

    def rename(self, conversation_id: int, title: str) -> Conversation:
        return self.update_conversation(conversation_id, title=title)

    def update_conversation(self, conversation_id: int, *, title: str | _Unset = UNSET,
                            system_prompt: str | _Unset = UNSET, reasoning_effort: str | _Unset = UNSET,
                            sampling: dict[str, object] | _Unset = UNSET,
                            model_id: str | None | _Unset = UNSET) -> Conversation:
        """Change only the given fields; the conversation moves to the top of the list."""
        if not isinstance(reasoning_effort, _Unset):
            _check_effort(reasoning_effort)
        cid = conversation_id
        with self._transaction() as conn:
            self._row(conn, "conversations", cid, "Conversation")
            sets: dict[str, object] = {"updated": time.time()}
            if not isinstance(title, _Unset):
                sets["title"] = self._seal("conversations", "title", cid, cid, title)
            if not isinstance(system_prompt, _Unset):
                sets["system_prompt"] = self._seal("conversations", "system_prompt", cid, cid, system_prompt)
            if not isinstance(reasoning_effort, _Unset):
                sets["reasoning_effort"] = reasoning_effort
            if not isinstance(sampling, _Unset):
                sets["sampling_json"] = json.dumps(sampling)
            if not isinstance(model_id, _Unset):
                sets["model_id"] = model_id
            assignments = ", ".join(f"{column} = ?" for column in sets)
            conn.execute(f"UPDATE conversations SET {assignments} WHERE id = ?", (*sets.values(), cid))
            return self._conversation(conn, cid, strict=True)

    def delete_conversation(self, conversation_id: int) -> None:
        """Deletes its messages and attachments too, then checkpoints so the WAL holds no copy either."""
        with self._transaction() as conn:
            self._row(conn, "conversations", conversation_id, "Conversation")
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        self.checkpoint()

    # -- messages --------------------------------------------------------------------------------------
    def add_message(self, conversation_id: int, role: Role, content: str, *, reasoning: str = "",
                    status: MessageStatus = MessageStatus.COMPLETE, prompt_tokens: int | None = None,
                    completion_tokens: int | None = None,
                    timings: dict[str, object] | None = None) -> Message:
        """Append a finished message (user input, a system note, a tool result, an imported reply)."""
        with self._transaction() as conn:
            mid = self._insert_message(conn, conversation_id, Role(role), content, reasoning, MessageStatus(status),
                                       prompt_tokens, completion_tokens, timings or {})
            return self._message(conn, mid, strict=True)

    def begin_assistant_message(self, conversation_id: int) -> Message:
        """Create the reply row (status STREAMING) before the first token, so a crash keeps what follows."""
        with self._transaction() as conn:
            mid = self._insert_message(conn, conversation_id, Role.ASSISTANT, "", "", MessageStatus.STREAMING,
                                       None, None, {})
            return self._message(conn, mid, strict=True)

    def update_streaming_content(self, message_id: int, content: str, reasoning: str = "") -> None:
        """Replace the streamed text so far (full text, not a delta) in one small transaction."""
        with self._transaction() as conn:
            row = self._streaming_row(conn, message_id)
            self._write_texts(conn, row, content=content, reasoning=reasoning)

    def append_streaming_content(self, message_id: int, content_delta: str = "", reasoning_delta: str = "") -> None:
        """Add deltas to the streamed text; for callers that don't keep the whole text themselves."""
        with self._transaction() as conn:
            row = self._streaming_row(conn, message_id)
            current = self._message_from_row(row, strict=True)
            self._write_texts(conn, row, content=current.content + content_delta,
                              reasoning=current.reasoning + reasoning_delta)

    def finish_message(self, message_id: int, status: MessageStatus, *, content: str | None = None,
                       reasoning: str | None = None, prompt_tokens: int | None = None,
                       completion_tokens: int | None = None, timings: dict[str, object] | None = None,
                       error: str | None = None) -> Message:
        """End a streamed reply: COMPLETE, STOPPED (user pressed Stop) or ERROR; optional final text/stats."""
        status = MessageStatus(status)
        if status is MessageStatus.STREAMING:
            raise ValueError("finish_message needs a final status, not STREAMING")
        with self._transaction() as conn:
            row = self._row(conn, "messages", message_id, "Message")
            self._write_texts(conn, row, content=content, reasoning=reasoning, error=error)
            sets: dict[str, object] = {"status": status.value}
            if prompt_tokens is not None:
                sets["prompt_tokens"] = prompt_tokens
            if completion_tokens is not None:
                sets["completion_tokens"] = completion_tokens
            if timings is not None:
                sets["details"] = self._seal("messages", "details", row["conversation_id"], message_id,
                                             json.dumps(timings))
            assignments = ", ".join(f"{column} = ?" for column in sets)
            conn.execute(f"UPDATE messages SET {assignments} WHERE id = ?", (*sets.values(), message_id))
            return self._message(conn, message_id, strict=True)

    def get_message(self, message_id: int) -> Message:
        """Raises NotFoundError, or TamperedDataError (naming the message) if it fails authentication."""
        with self._transaction(write=False) as conn:
            return self._message(conn, message_id, strict=True)

    def get_messages(self, conversation_id: int) -> list[Message]:
        """In order. A message that fails authentication comes back with empty text and `decrypt_error`."""
        with self._transaction(write=False) as conn:
            self._row(conn, "conversations", conversation_id, "Conversation")
            return self._messages(conn, conversation_id)

    def edit_message(self, message_id: int, content: str, *, truncate: bool = True) -> Message:
        """Edit-and-resend: replace the text and (by default) delete every later message, atomically."""
        with self._transaction() as conn:
            row = self._row(conn, "messages", message_id, "Message")
            if truncate:
                self._delete_after(conn, row)
            self._write_texts(conn, row, content=content)
            return self._message(conn, message_id, strict=True)

    def truncate_after(self, message_id: int) -> int:
        """Regenerate: delete every message after this one; returns how many were deleted."""
        with self._transaction() as conn:
            return self._delete_after(conn, self._row(conn, "messages", message_id, "Message"))

    # -- search and export -----------------------------------------------------------------------------
    def search(self, text: str) -> list[SearchHit]:
        """Conversations whose title or message text contains `text` (case-insensitive), newest first.

        Rows that fail authentication are skipped and logged; they never stop a search.
        """
        needle = text.casefold().strip()
        if not needle:
            return []
        hits: list[SearchHit] = []
        with self._transaction(write=False) as conn:
            for conv_row in conn.execute("SELECT * FROM conversations ORDER BY updated DESC, id DESC").fetchall():
                conv = self._conversation_from_row(conv_row, strict=False)
                if conv.decrypt_error:
                    log.warning("%s", conv.decrypt_error)
                    continue
                hit = self._search_conversation(conn, conv, needle)
                if hit is not None:
                    hits.append(hit)
        return hits

    def export_markdown(self, conversation_id: int) -> str:
        """The conversation as Markdown; unreadable messages appear as a note, not as an exception."""
        with self._transaction(write=False) as conn:
            conv = self._conversation(conn, conversation_id, strict=False)
            return export.to_markdown(conv, self._messages(conn, conversation_id),
                                      self._attachments(conn, conversation_id, with_text=False))

    def export_json(self, conversation_id: int, *, include_attachment_text: bool = False) -> dict[str, object]:
        """A JSON-ready dict (see app.storage.export.to_json for the format)."""
        with self._transaction(write=False) as conn:
            conv = self._conversation(conn, conversation_id, strict=False)
            return export.to_json(conv, self._messages(conn, conversation_id),
                                  self._attachments(conn, conversation_id, with_text=include_attachment_text))

    # -- helpers ---------------------------------------------------------------------------------------
    def _insert_message(self, conn: sqlite3.Connection, cid: int, role: Role, content: str, reasoning: str,
                        status: MessageStatus, prompt_tokens: int | None, completion_tokens: int | None,
                        timings: dict[str, object]) -> int:
        self._row(conn, "conversations", cid, "Conversation")
        now = time.time()
        position = conn.execute("SELECT coalesce(max(position) + 1, 0) FROM messages WHERE conversation_id = ?",
                                (cid,)).fetchone()[0]
        cur = conn.execute(
            "INSERT INTO messages (conversation_id, position, role, content, reasoning, status, prompt_tokens, "
            "completion_tokens, details, created, updated) VALUES (?, ?, ?, x'', x'', ?, ?, ?, x'', ?, ?)",
            (cid, position, role.value, status.value, prompt_tokens, completion_tokens, now, now))
        mid = int(cur.lastrowid)  # type: ignore[arg-type]
        conn.execute("UPDATE messages SET content = ?, reasoning = ?, details = ? WHERE id = ?",
                     (self._seal("messages", "content", cid, mid, content),
                      self._seal("messages", "reasoning", cid, mid, reasoning),
                      self._seal("messages", "details", cid, mid, json.dumps(timings)), mid))
        self._touch(conn, cid, now)
        return mid

    def _write_texts(self, conn: sqlite3.Connection, row: sqlite3.Row, **texts: str | None) -> None:
        """Seal and store the given text columns (None = leave unchanged); bumps both timestamps."""
        mid, cid, now = row["id"], row["conversation_id"], time.time()
        for column, value in texts.items():
            if value is not None:
                conn.execute(f"UPDATE messages SET {column} = ? WHERE id = ?",
                             (self._seal("messages", column, cid, mid, value), mid))
        conn.execute("UPDATE messages SET updated = ? WHERE id = ?", (now, mid))
        self._touch(conn, cid, now)

    def _streaming_row(self, conn: sqlite3.Connection, message_id: int) -> sqlite3.Row:
        row = self._row(conn, "messages", message_id, "Message")
        if row["status"] != MessageStatus.STREAMING.value:
            raise StorageError(f"Message {message_id} in {self.path} is not streaming (status {row['status']}).")
        return row

    def _delete_after(self, conn: sqlite3.Connection, row: sqlite3.Row) -> int:
        cur = conn.execute("DELETE FROM messages WHERE conversation_id = ? AND position > ?",
                           (row["conversation_id"], row["position"]))
        self._touch(conn, row["conversation_id"], time.time())
        return cur.rowcount

    def _conversation(self, conn: sqlite3.Connection, cid: int, strict: bool) -> Conversation:
        return self._conversation_from_row(self._row(conn, "conversations", cid, "Conversation"), strict)

    def _conversation_from_row(self, row: sqlite3.Row, strict: bool) -> Conversation:
        cid = row["id"]
        try:
            title = self._unseal_text("conversations", "title", cid, cid, row["title"])
            system_prompt = self._unseal_text("conversations", "system_prompt", cid, cid, row["system_prompt"])
            error = None
        except crypto.AuthenticationFailed as exc:
            tampered = self._tampered(f"Conversation {cid}", cid)
            if strict:
                raise tampered from exc
            title, system_prompt, error = f"(unreadable conversation {cid})", "", str(tampered)
        return Conversation(id=cid, title=title, created=row["created"], updated=row["updated"],
                            system_prompt=system_prompt, reasoning_effort=row["reasoning_effort"],
                            sampling=json.loads(row["sampling_json"]), model_id=row["model_id"],
                            decrypt_error=error)

    def _messages(self, conn: sqlite3.Connection, cid: int) -> list[Message]:
        rows = conn.execute("SELECT * FROM messages WHERE conversation_id = ? ORDER BY position", (cid,))
        kept = self._kept_versions(conn, cid)
        return [self._message_from_row(row, strict=False, kept=kept.get(row["id"], ())) for row in rows.fetchall()]

    def _message(self, conn: sqlite3.Connection, mid: int, strict: bool) -> Message:
        row = self._row(conn, "messages", mid, "Message")
        return self._message_from_row(row, strict, kept=self._kept_versions(conn, row["conversation_id"]).get(mid, ()))

    def _message_from_row(self, row: sqlite3.Row, strict: bool, kept: tuple[int, ...] = ()) -> Message:
        """`kept`: the numbers of the other versions of this reply that reply_versions holds."""
        mid, cid = row["id"], row["conversation_id"]
        texts: dict[str, str | None] = {"content": "", "reasoning": "", "error": None, "details": "{}"}
        decrypt_error = None
        try:
            for column in texts:
                if row[column] is not None:
                    texts[column] = self._unseal_text("messages", column, cid, mid, row[column])
        except crypto.AuthenticationFailed as exc:
            tampered = self._tampered(f"Message {mid} of conversation {cid}", cid, mid)
            if strict:
                raise tampered from exc
            texts, decrypt_error = {"content": "", "reasoning": "", "error": None, "details": "{}"}, str(tampered)
        return Message(id=mid, conversation_id=cid, position=row["position"], role=Role(row["role"]),
                       content=texts["content"] or "", reasoning=texts["reasoning"] or "",
                       status=MessageStatus(row["status"]), created=row["created"], updated=row["updated"],
                       prompt_tokens=row["prompt_tokens"], completion_tokens=row["completion_tokens"],
                       timings=json.loads(texts["details"] or "{}"), error=texts["error"], decrypt_error=decrypt_error,
                       **_ordinal(row["version"], kept))

    def _search_conversation(self, conn: sqlite3.Connection, conv: Conversation, needle: str) -> SearchHit | None:
        first: tuple[int | None, str] | None = None
        matches = 0
        if needle in conv.title.casefold():
            matches, first = 1, (None, conv.title)
        for message in self._messages(conn, conv.id):
            if message.decrypt_error:
                log.warning("%s", message.decrypt_error)
            elif needle in message.content.casefold():
                matches += 1
                first = first or (message.id, message.content)
        if first is None:
            return None
        return SearchHit(conversation_id=conv.id, title=conv.title, message_id=first[0],
                         snippet=_snippet(first[1], needle), matches=matches)


def _ordinal(number: int, kept: tuple[int, ...]) -> dict[str, int]:
    """Which version a reply shows, counted 1..n among its versions (numbers may have gaps: a reply that failed
    before writing anything is not kept)."""
    numbers = sorted({*kept, number})
    return {"version": numbers.index(number) + 1, "versions": len(numbers)}


def _snippet(text: str, needle: str) -> str:
    """A short one-line excerpt around the first match (casefold keeps lengths for almost all text)."""
    at = max(text.casefold().find(needle), 0)
    start, end = max(at - _SNIPPET_CONTEXT, 0), at + len(needle) + _SNIPPET_CONTEXT
    excerpt = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + excerpt + ("…" if end < len(text) else "")


def _check_effort(effort: str) -> None:
    if effort not in REASONING_EFFORTS:
        raise ValueError(f"reasoning effort must be one of {', '.join(REASONING_EFFORTS)}, not {effort!r}")
