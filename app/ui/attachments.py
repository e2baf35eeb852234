"""Documents attached to the open conversation: reading them off-thread, storing them encrypted, chips state.

A document belongs to its conversation: it is stored (encrypted, like messages) as the extracted `Document`
in JSON, so reopening a chat brings its documents back without re-reading the files, which may be gone.
"""

from __future__ import annotations

import enum
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.documents.model import Document, DocumentLimits
from app.storage.models import Attachment
from app.ui.document_worker import DocumentWorker
from app.ui.storage_worker import StorageClient

_keys = itertools.count(1)


class ChipState(enum.Enum):
    READING = "reading"
    READY = "ready"
    ERROR = "error"


@dataclass
class AttachmentItem:
    name: str
    state: ChipState = ChipState.READING
    message: str = ""
    size_bytes: int = 0
    pages: int | None = None
    tokens: int = -1
    document: Document | None = None
    attachment_id: int | None = None
    progress: tuple[int, int] | None = None
    key: int = field(default_factory=lambda: next(_keys))
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)


class AttachmentsController(QObject):
    changed = Signal(list)  # list[AttachmentItem]
    _extract = Signal(int, str, object, object)
    _useTokenizer = Signal(str)

    def __init__(self, storage: StorageClient, worker: DocumentWorker,
                 ensure_conversation: Callable[[str, Callable[[int], None]], None]) -> None:
        super().__init__()
        self.items: list[AttachmentItem] = []
        self.limits = DocumentLimits()
        self._storage = storage
        self._ensure_conversation = ensure_conversation
        self._conversation_id: int | None = None
        self._shown = 0  # bumped on every switch: a slow list from an earlier switch is dropped
        self._extract.connect(worker.extract)
        self._useTokenizer.connect(worker.use_tokenizer)
        worker.progress.connect(self._on_progress)
        worker.extracted.connect(self._on_extracted)
        worker.failed.connect(self._on_failed)

    # --- API for the chat controller and the window ------------------------------------------------------------
    def use_tokenizer(self, path: str) -> None:
        self._useTokenizer.emit(path)

    def documents(self) -> tuple[Document, ...]:
        return tuple(i.document for i in self.items if i.state is ChipState.READY and i.document is not None)

    def reading(self) -> bool:
        return any(i.state is ChipState.READING for i in self.items)

    def show_conversation(self, conversation_id: int | None) -> None:
        """Swaps the chips for those of another conversation (files still being read are cancelled)."""
        for item in self.items:
            item.cancel.set()
        self.items = []
        self._conversation_id = conversation_id
        self._shown += 1
        self.changed.emit(self.items)
        if conversation_id is not None:
            shown = self._shown
            self._storage.call("list_attachments", conversation_id, with_text=True,
                               then=lambda rows: self._on_listed(shown, rows))

    def adopt_conversation(self, conversation_id: int) -> None:
        """The chat being written got its database id: store the documents already read for it."""
        self._conversation_id = conversation_id
        for item in self.items:
            if item.state is ChipState.READY and item.attachment_id is None:
                self._store(item)

    def add_files(self, paths: list[str]) -> None:
        for path in paths:
            item = AttachmentItem(name=Path(path).name)
            self.items.append(item)
            self._extract.emit(item.key, str(path), self.limits, item.cancel)
        self.changed.emit(self.items)

    def remove(self, key: int) -> None:
        item = self._find(key)
        if item is None:
            return
        item.cancel.set()
        self.items.remove(item)
        if item.attachment_id is not None:
            self._storage.call("delete_attachment", item.attachment_id)
        self.changed.emit(self.items)

    # --- worker results ----------------------------------------------------------------------------------------
    def _on_progress(self, key: int, done: int, total: int) -> None:
        item = self._find(key)
        if item is not None:
            item.progress = (done, total)
            self.changed.emit(self.items)

    def _on_extracted(self, key: int, document: Document, tokens: int) -> None:
        item = self._find(key)
        if item is None:
            return  # removed while it was being read
        item.state, item.document, item.tokens = ChipState.READY, document, tokens
        item.size_bytes, item.pages = document.metadata.size_bytes, document.metadata.pages
        item.message = "; ".join(document.warnings)
        self.changed.emit(self.items)
        if self._conversation_id is None:
            self._ensure_conversation(document.name, lambda _cid: None)  # adopt_conversation stores it
        else:
            self._store(item)

    def _on_failed(self, key: int, message: str) -> None:
        item = self._find(key)
        if item is not None:
            item.state, item.message = ChipState.ERROR, message
            self.changed.emit(self.items)

    def _store(self, item: AttachmentItem) -> None:
        assert item.document is not None and self._conversation_id is not None
        doc = item.document
        payload = json.dumps(doc.to_dict(), ensure_ascii=False)
        self._storage.call(
            "add_attachment", self._conversation_id, doc.name, doc.type, text=payload, size=doc.metadata.size_bytes,
            metadata={"pages": doc.metadata.pages, "tokens": item.tokens},
            then=lambda record: self._on_stored(item, record),
            failed=lambda message: self._on_failed(item.key, f"Not saved: {message}"))

    def _on_stored(self, item: AttachmentItem, record: Attachment) -> None:
        item.attachment_id = record.id
        if item not in self.items:  # removed (×) while it was being saved: don't let it come back
            self._storage.call("delete_attachment", record.id)

    def _on_listed(self, shown: int, rows: list[Attachment]) -> None:
        if shown != self._shown:
            return
        for row in rows:
            item = AttachmentItem(name=row.file_name, attachment_id=row.id, size_bytes=row.size)
            try:
                item.document = Document.from_dict(json.loads(row.text or ""))
            except (ValueError, KeyError, TypeError):
                item.state = ChipState.ERROR
                item.message = row.decrypt_error or "This attachment could not be read back from the history."
            else:
                item.state = ChipState.READY
                item.pages = item.document.metadata.pages
                tokens = (row.metadata or {}).get("tokens")
                item.tokens = int(tokens) if isinstance(tokens, int) else -1
            self.items.append(item)
        self.changed.emit(self.items)

    def _find(self, key: int) -> AttachmentItem | None:
        return next((i for i in self.items if i.key == key), None)
