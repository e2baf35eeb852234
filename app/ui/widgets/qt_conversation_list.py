"""The conversation list: new, rename, delete, export and search by text."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QInputDialog, QLineEdit, QListWidget, QListWidgetItem, QMenu, QPushButton,
    QVBoxLayout, QWidget,
)

from app.ui.chat_state import ConversationSummary
from app.ui.safe_text import ask_yes_no, plain_tooltip


class QtConversationList(QWidget):
    newRequested = Signal()
    selected = Signal(int)
    renameRequested = Signal(int, str)
    deleteRequested = Signal(int)
    exportRequested = Signal(int, str)  # conversation id, "markdown" | "json"
    searchChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        top = QHBoxLayout()
        self.new_button = QPushButton("New chat")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.newRequested)
        top.addWidget(self.new_button)
        layout.addLayout(top)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search conversations")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.searchChanged)
        self.search.setAccessibleName("Search conversations")
        layout.addWidget(self.search)
        self.list = QListWidget()
        self.list.setObjectName("conversationList")
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_menu)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.setAccessibleName("Conversations")
        layout.addWidget(self.list, 1)
        self._suppress = False
        self._export_allowed = True

    def set_export_allowed(self, allowed: bool) -> None:
        """The organisation's policy (ChatExportAllowed) can forbid exports: the menu shows them locked."""
        self._export_allowed = allowed

    def set_conversations(self, conversations: list[ConversationSummary], current: int | None) -> None:
        self._suppress = True
        self.list.clear()
        for conv in conversations:
            item = QListWidgetItem(conv.title or "New chat")
            item.setData(Qt.ItemDataRole.UserRole, conv.conversation_id)
            item.setToolTip(plain_tooltip(conv.title))  # titles come from messages and file names
            self.list.addItem(item)
            if conv.conversation_id == current:
                self.list.setCurrentItem(item)
        self._suppress = False

    def _on_current_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None and not self._suppress:
            self.selected.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _on_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        conv_id = int(item.data(Qt.ItemDataRole.UserRole))
        title = item.text()  # the list may be rebuilt while the menu is open: never touch `item` after exec
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        rename = menu.addAction("Rename…")
        export_md = menu.addAction("Export as Markdown…")
        export_json = menu.addAction("Export as JSON…")
        if not self._export_allowed:
            for action in (export_md, export_json):
                action.setEnabled(False)
                action.setText(action.text().rstrip("…") + " (managed by your organization)")
        menu.addSeparator()
        delete = menu.addAction("Delete…")
        chosen = menu.exec(self.list.viewport().mapToGlobal(pos))
        if chosen is rename:
            new_title, ok = QInputDialog.getText(self, "Rename conversation", "Title:", text=title)
            if ok and new_title.strip():
                self.renameRequested.emit(conv_id, new_title.strip())
        elif chosen is delete:
            if ask_yes_no(self, "Delete conversation", f"Delete “{title}”? This cannot be undone."):
                self.deleteRequested.emit(conv_id)
        elif chosen is export_md:
            self.exportRequested.emit(conv_id, "markdown")
        elif chosen is export_json:
            self.exportRequested.emit(conv_id, "json")
