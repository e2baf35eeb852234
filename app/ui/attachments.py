"""Documents attached to the open conversation: reading them off-thread, storing them encrypted, chips state.

A document belongs to its conversation: it is stored (encrypted, like messages) as the extracted `Document`
in JSON, so reopening a chat brings its documents back without re-reading the files, which may be gone.
"""

from __future__ import annotations

import enum
import itertools
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.documents.model import Document, DocumentLimits, ErrorKind
from app.engine.events import ModelInfo
from app.storage.models import Attachment
from app.ui.document_host import DocumentHost, Extracted, ReadFailure, ReadProgress
from app.ui.history_host import HistoryClient
from app.ui.i18n import translate
from app.ui.worker import WorkerClient

_keys = itertools.count(1)


class ChipState(enum.Enum):
    READING = "reading"
    READY = "ready"
    ERROR = "error"


@dataclass
class AttachmentItem:
    name: str
    state: ChipState = ChipState.READING
    message: str = ""  # the reader's full sentence: a warning, or why the file could not be read
    error_kind: ErrorKind | None = None  # why it could not be read, for a plain summary on the chip
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

    def __init__(self, history: HistoryClient, documents: WorkerClient[DocumentHost],
                 limits: DocumentLimits = DocumentLimits()) -> None:
        super().__init__()
        self._items: list[AttachmentItem] = []
        self._limits = limits
        self._history = history
        self._documents = documents
        self._conversation_id: int | None = None  # None: a new chat, stored (with its documents) at its first Send

    # --- API for the replies and the window ----------------------------------------------------------------------
    def items(self) -> list[AttachmentItem]:
        return list(self._items)

    def limits(self) -> DocumentLimits:
        return self._limits

    def set_limits(self, limits: DocumentLimits) -> None:
        """Applies to the next file read."""
        self._limits = limits

    def use_model(self, info: ModelInfo) -> None:
        """Token counts on the chips use the loaded model's own tokenizer."""
        tokenizer = Path(info.path) / "tokenizer.json"
        if tokenizer.is_file():
            path = str(tokenizer)
            self._documents.submit(lambda host, _report: host.use_tokenizer(path))

    def cancel_all(self) -> None:
        for item in self._items:
            item.cancel.set()

    def documents(self) -> tuple[Document, ...]:
        return tuple(i.document for i in self._items if i.state is ChipState.READY and i.document is not None)

    def reading(self) -> bool:
        return any(i.state is ChipState.READING for i in self._items)

    def show_conversation(self, conversation_id: int | None) -> None:
        """Swaps the chips for those of another conversation (files still being read are cancelled)."""
        for item in self._items:
            item.cancel.set()
        self._items = []
        self._conversation_id = conversation_id
        self.changed.emit(self._items)
        if conversation_id is not None:  # a slow list from an earlier switch is dropped (`latest`, and the id)
            self._history.call(lambda store: store.list_attachments(conversation_id, with_text=True),
                               finished=lambda rows: self._on_listed(conversation_id, rows),
                               latest="attachments shown")

    def adopt_conversation(self, conversation_id: int) -> None:
        """The chat being written got its database id: store the documents already read for it."""
        self._conversation_id = conversation_id
        for item in self._items:
            if item.state is ChipState.READY and item.attachment_id is None:
                self._store(item)

    def add_files(self, paths: list[str]) -> None:
        for path in paths:
            item = AttachmentItem(name=Path(path).name)
            self._items.append(item)
            self._read(item, Path(path))
        self.changed.emit(self._items)

    def _read(self, item: AttachmentItem, path: Path) -> None:
        limits, cancel, key = self._limits, item.cancel, item.key
        self._documents.submit(lambda host, report: host.extract(path, limits, cancel, report),
                               yielded=lambda progress: self._on_progress(key, progress),
                               finished=lambda extracted: self._on_extracted(key, extracted),
                               errored=lambda message: self._on_failed(key, message))

    def remove(self, key: int) -> None:
        item = self._find(key)
        if item is None:
            return
        item.cancel.set()
        self._items.remove(item)
        if item.attachment_id is not None:
            attachment_id = item.attachment_id
            self._history.call(lambda store: store.delete_attachment(attachment_id))
        self.changed.emit(self._items)

    # --- worker results ----------------------------------------------------------------------------------------
    def _on_progress(self, key: int, progress: ReadProgress) -> None:
        item = self._find(key)
        if item is not None:
            item.progress = (progress.done, progress.total)
            self.changed.emit(self._items)

    def _on_extracted(self, key: int, extracted: Extracted | ReadFailure | None) -> None:
        item = self._find(key)
        if item is None or extracted is None:
            return  # removed while it was being read
        if isinstance(extracted, ReadFailure):
            item.state, item.message, item.error_kind = ChipState.ERROR, extracted.message, extracted.kind
            self.changed.emit(self._items)
            return
        document = extracted.document
        item.state, item.document, item.tokens = ChipState.READY, document, extracted.tokens
        item.size_bytes, item.pages = document.metadata.size_bytes, document.metadata.pages
        item.message = "; ".join(document.warnings)
        self.changed.emit(self._items)
        if self._conversation_id is not None:  # else the chat is new: adopt_conversation stores it at Send
            self._store(item)

    def _on_failed(self, key: int, message: str) -> None:
        item = self._find(key)
        if item is not None:
            item.state, item.message = ChipState.ERROR, message
            self.changed.emit(self._items)

    def _store(self, item: AttachmentItem) -> None:
        assert item.document is not None and self._conversation_id is not None
        doc, cid = item.document, self._conversation_id
        payload = json.dumps(doc.to_dict(), ensure_ascii=False)
        metadata = {"pages": doc.metadata.pages, "tokens": item.tokens}
        self._history.call(
            lambda store: store.add_attachment(cid, doc.name, doc.type, text=payload, size=doc.metadata.size_bytes,
                                               metadata=metadata),
            finished=lambda record: self._on_stored(item, record),
            errored=lambda message: self._on_failed(item.key, translate("Attachments", "Not saved: {reason}").format(
                reason=message)))

    def _on_stored(self, item: AttachmentItem, record: Attachment) -> None:
        item.attachment_id = record.id
        if item not in self._items:  # removed (×) while it was being saved: don't let it come back
            self._history.call(lambda store: store.delete_attachment(record.id))

    def _on_listed(self, conversation_id: int, rows: list[Attachment]) -> None:
        if conversation_id != self._conversation_id:
            return
        for row in rows:
            item = AttachmentItem(name=row.file_name, attachment_id=row.id, size_bytes=row.size)
            try:
                item.document = Document.from_dict(json.loads(row.text or ""))
            except (ValueError, KeyError, TypeError):
                item.state = ChipState.ERROR
                item.message = row.decrypt_error or translate("Attachments", "This attachment could not be read back "
                                                                             "from the history.")
            else:
                item.state = ChipState.READY
                item.pages = item.document.metadata.pages
                tokens = (row.metadata or {}).get("tokens")
                item.tokens = int(tokens) if isinstance(tokens, int) else -1
            self._items.append(item)
        self.changed.emit(self._items)

    def _find(self, key: int) -> AttachmentItem | None:
        return next((i for i in self._items if i.key == key), None)
