"""The sidebar: New chat, search, and the conversations grouped by date (Today, Yesterday, Previous 7 days, …).

Titles never widen the sidebar: each row is drawn elided to the list's width (no horizontal scrollbar), with
the full title in its tooltip and accessible name. While searching, each hit shows the matching snippet under
its title, and a search without a match says so. Rename edits the title in place, across the row's full width;
Delete asks first, with Cancel as the default button.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMenu, QMessageBox,
    QPushButton, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QVBoxLayout, QWidget,
)

from app.ui.chat_state import ConversationSummary
from app.ui.i18n import translate
from app.ui.icons import icon
from app.ui.safe_text import PlainLabel, plain_tooltip
from app.ui.theme import SPACE, palette_for

_ID = Qt.ItemDataRole.UserRole
_SNIPPET = Qt.ItemDataRole.UserRole + 1
_HEADING = Qt.ItemDataRole.UserRole + 2
_TITLE = Qt.ItemDataRole.UserRole + 3


def date_group(updated: float, today: dt.date) -> str:
    """The sidebar heading a conversation last changed at `updated` (epoch seconds) goes under."""
    day = dt.datetime.fromtimestamp(updated).date()
    age = (today - day).days
    if age <= 0:
        return translate("ConversationList", "Today")
    if age == 1:
        return translate("ConversationList", "Yesterday")
    if age < 7:
        return translate("ConversationList", "Previous 7 days")
    if age < 30:
        return translate("ConversationList", "Previous 30 days")
    from PySide6.QtCore import QLocale

    return QLocale().toString(dt.date(day.year, day.month, 1), "MMMM yyyy")


def delete_confirmation(parent: QWidget | None, title: str) -> QMessageBox:
    """The question before a conversation is deleted: Delete or Cancel, and Cancel is what Enter picks."""
    box = QMessageBox(QMessageBox.Icon.Warning, translate("ConversationList", "Delete conversation"),
                      translate("ConversationList", "Delete “{title}”? This cannot be undone.").format(title=title),
                      QMessageBox.StandardButton.NoButton, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)  # the title comes from a message or a file name
    delete = box.addButton(translate("ConversationList", "Delete"), QMessageBox.ButtonRole.DestructiveRole)
    delete.setObjectName("confirmDelete")
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    return box


class _RowDelegate(QStyledItemDelegate):
    """Draws a conversation row (elided title, optional snippet) or a date heading; edits titles in place."""

    def __init__(self, view: QListWidget) -> None:
        super().__init__(view)
        self._view = view
        self.dark = False

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        metrics = QFontMetrics(option.font)
        if index.data(_HEADING):
            return QSize(0, metrics.height() + SPACE["md"] + SPACE["xs"])
        lines = 2 if index.data(_SNIPPET) else 1
        return QSize(0, metrics.height() * lines + SPACE["sm"] * 2 + (2 if lines == 2 else 0))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        colours = palette_for(self.dark)
        painter.save()
        rect = option.rect.adjusted(SPACE["xs"], 1, -SPACE["xs"], -1)
        if index.data(_HEADING):
            font = option.font
            font.setPointSizeF(font.pointSizeF() * 0.86)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(QColor(colours.text_muted))
            text_rect = rect.adjusted(SPACE["sm"], SPACE["md"], -SPACE["sm"], 0)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             QFontMetrics(font).elidedText(index.data(), Qt.TextElideMode.ElideRight,
                                                           text_rect.width()))
            painter.restore()
            return
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if selected or hovered:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(colours.selection))
            painter.drawRoundedRect(rect, 6, 6)
        if selected:
            painter.setBrush(QColor(colours.accent))
            painter.drawRoundedRect(QRect(rect.left(), rect.top() + 6, 3, rect.height() - 12), 1.5, 1.5)
        if option.state & QStyle.StateFlag.State_HasFocus and self._view.hasFocus():
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QColor(colours.focus))
            painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 6, 6)
        inner = rect.adjusted(SPACE["sm"] + 4, SPACE["sm"], -SPACE["sm"], -SPACE["sm"])
        metrics = QFontMetrics(option.font)
        painter.setFont(option.font)
        painter.setPen(QColor(colours.text))
        title_rect = QRect(inner.left(), inner.top(), inner.width(), metrics.height())
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(index.data(_TITLE) or "", Qt.TextElideMode.ElideRight, inner.width()))
        snippet = index.data(_SNIPPET)
        if snippet:
            font = option.font
            font.setPointSizeF(font.pointSizeF() * 0.86)
            painter.setFont(font)
            painter.setPen(QColor(colours.text_muted))
            small = QFontMetrics(font)
            snippet_rect = QRect(inner.left(), title_rect.bottom() + 3, inner.width(), small.height())
            painter.drawText(snippet_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             small.elidedText(" ".join(snippet.split()), Qt.TextElideMode.ElideRight, inner.width()))
        painter.restore()

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,  # noqa: N802
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        editor = QLineEdit(parent)
        editor.setObjectName("renameEditor")
        editor.setAccessibleName(translate("ConversationList", "New title"))
        return editor

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:  # noqa: N802
        assert isinstance(editor, QLineEdit)
        editor.setText(index.data(_TITLE) or "")
        editor.selectAll()

    def setModelData(self, editor: QWidget, model, index: QModelIndex | QPersistentModelIndex) -> None:  # noqa: N802
        assert isinstance(editor, QLineEdit)
        model.setData(index, editor.text().strip(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem,  # noqa: N802
                             index: QModelIndex | QPersistentModelIndex) -> None:
        editor.setGeometry(option.rect.adjusted(SPACE["xs"], 0, -SPACE["xs"], 0))  # the row's whole width


class QtConversationList(QWidget):
    newRequested = Signal()
    selected = Signal(int)
    renameRequested = Signal(int, str)
    deleteRequested = Signal(int)
    exportRequested = Signal(int, str)  # conversation id, "markdown" | "json"
    searchChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(SPACE["md"], SPACE["md"], SPACE["md"], SPACE["sm"])
        layout.setSpacing(SPACE["sm"])
        top = QHBoxLayout()
        brand = QLabel(self.tr("Enclave"))
        brand.setObjectName("sidebarBrand")
        top.addWidget(brand)
        top.addStretch(1)
        self.new_button = QPushButton(icon("plus"), self.tr("New chat"))
        self.new_button.setToolTip(self.tr("Start a new conversation (Ctrl+N)"))
        self.new_button.setAccessibleName(self.tr("New chat"))
        self.new_button.clicked.connect(self.newRequested)
        top.addWidget(self.new_button)
        layout.addLayout(top)
        self.search = QLineEdit()
        self.search.setObjectName("searchField")
        self.search.setPlaceholderText(self.tr("Search conversations"))
        self.search.addAction(icon("search", "text_muted"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_text)
        self.search.setAccessibleName(self.tr("Search conversations"))
        self.search.setToolTip(self.tr("Search titles and messages (Ctrl+F)"))
        layout.addWidget(self.search)
        self.list = QListWidget()
        self.list.setObjectName("conversationList")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # titles are elided instead
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setMouseTracking(True)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)  # F2; Rename… in the menu
        self.delegate = _RowDelegate(self.list)
        self.list.setItemDelegate(self.delegate)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_menu)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.setAccessibleName(self.tr("Conversations"))
        layout.addWidget(self.list, 1)
        self.hint = PlainLabel()  # it quotes what the user typed
        self.hint.setObjectName("listHint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.hint.setVisible(False)
        layout.addWidget(self.hint)
        delete_key = QShortcut(QKeySequence.StandardKey.Delete, self.list)
        delete_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete_key.activated.connect(self._delete_current)
        self._suppress = False
        self._export_allowed = True
        self._search_text = ""
        self.set_conversations([], None)

    def set_export_allowed(self, allowed: bool) -> None:
        """The organisation's policy (ChatExportAllowed) can forbid exports: the menu shows them locked."""
        self._export_allowed = allowed

    # --- controller-facing -----------------------------------------------------------------------------------
    def set_dark(self, dark: bool) -> None:
        self.delegate.dark = dark
        self.list.viewport().update()

    def set_conversations(self, conversations: list[ConversationSummary], current: int | None,
                          today: dt.date | None = None) -> None:
        self._suppress = True
        self.list.clear()
        today = today or dt.date.today()
        searching = bool(self._search_text)
        heading = None
        for conv in conversations:
            if not searching:  # search hits come by relevance and show snippets instead of dates
                group = date_group(conv.updated, today)
                if group != heading:
                    heading = group
                    head = QListWidgetItem(group)
                    head.setData(_HEADING, True)
                    head.setFlags(Qt.ItemFlag.NoItemFlags)
                    self.list.addItem(head)
            title = conv.title or self.tr("New chat")
            item = QListWidgetItem(title)
            item.setData(_ID, conv.conversation_id)
            item.setData(_TITLE, title)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            item.setToolTip(plain_tooltip(title))  # titles come from messages and file names
            if searching and conv.snippet:
                item.setData(_SNIPPET, conv.snippet)
                item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, conv.snippet)
            self.list.addItem(item)
            if conv.conversation_id == current:
                self.list.setCurrentItem(item)
        self._suppress = False
        if searching and not conversations:
            self.hint.setText(self.tr("No conversation contains “{text}”.").format(text=self._search_text))
        elif not conversations:
            self.hint.setText(self.tr("No conversations yet. What you send is kept here, encrypted."))
        self.hint.setVisible(not conversations)
        self.list.setVisible(bool(conversations))

    def titles(self) -> list[str]:
        """The conversation titles in the order shown (date headings left out)."""
        return [self.list.item(i).data(_TITLE) for i in range(self.list.count())
                if not self.list.item(i).data(_HEADING)]

    def ids(self) -> list[int]:
        """The conversation ids in the order shown."""
        return [int(self.list.item(i).data(_ID)) for i in range(self.list.count())
                if self.list.item(i).data(_ID) is not None]

    def row_of(self, conversation_id: int) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            if self.list.item(i).data(_ID) == conversation_id:
                return self.list.item(i)
        return None

    def start_rename(self, conversation_id: int) -> None:
        item = self.row_of(conversation_id)
        if item is not None:
            self.list.setCurrentItem(item)
            self.list.editItem(item)

    # --- internals ------------------------------------------------------------------------------------------
    def _on_search_text(self, text: str) -> None:
        self._search_text = text.strip()
        self.searchChanged.emit(text)

    def _on_current_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None and not self._suppress and item.data(_ID) is not None:
            self.selected.emit(int(item.data(_ID)))

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._suppress or item.data(_ID) is None:
            return
        new_title, old_title = item.text().strip(), item.data(_TITLE)
        if new_title and new_title != old_title:
            self.renameRequested.emit(int(item.data(_ID)), new_title)
        elif not new_title:  # an empty title is not a title: keep the old one
            self._suppress = True
            item.setText(old_title)
            self._suppress = False

    def _delete_current(self) -> None:
        item = self.list.currentItem()
        if item is not None and item.data(_ID) is not None:
            self._confirm_delete(int(item.data(_ID)), item.data(_TITLE))

    def _confirm_delete(self, conv_id: int, title: str) -> None:
        box = delete_confirmation(self, title)
        box.exec()
        confirmed = box.clickedButton() is box.findChild(QPushButton, "confirmDelete")
        box.deleteLater()
        if confirmed:
            self.deleteRequested.emit(conv_id)

    def _on_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None or item.data(_ID) is None:
            return
        conv_id = int(item.data(_ID))
        title = item.data(_TITLE)  # the list may be rebuilt while the menu is open: never touch `item` after exec
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        rename = menu.addAction(icon("pencil"), self.tr("Rename"))
        if self._export_allowed:
            export_md = menu.addAction(icon("download"), self.tr("Export as Markdown…"))
            export_json = menu.addAction(icon("download"), self.tr("Export as JSON…"))
        else:
            export_md = menu.addAction(icon("download"), self.tr("Export as Markdown (managed by your organization)"))
            export_json = menu.addAction(icon("download"), self.tr("Export as JSON (managed by your organization)"))
            for action in (export_md, export_json):
                action.setEnabled(False)
        menu.addSeparator()
        delete = menu.addAction(icon("trash", "danger"), self.tr("Delete…"))
        chosen = menu.exec(self.list.viewport().mapToGlobal(pos))
        if chosen is rename:
            self.start_rename(conv_id)
        elif chosen is delete:
            self._confirm_delete(conv_id, title)
        elif chosen is export_md:
            self.exportRequested.emit(conv_id, "markdown")
        elif chosen is export_json:
            self.exportRequested.emit(conv_id, "json")

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.list.viewport().update()

