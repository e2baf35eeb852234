"""The scrolling conversation: turns in a centred column of readable width, or a short welcome when empty.

Streaming deltas only mark a message dirty; a 30 Hz timer re-renders dirty messages. Re-rendering Markdown on
every token would make the UI thread's work grow with the reply length times the token rate.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.ui.chat_state import ChatMessage
from app.ui.theme import SPACE, add_readable_column
from app.ui.widgets.qt_message import QtMessage

RENDER_INTERVAL_MS = 33


class QtChatView(QScrollArea):
    regenerateRequested = Signal(int)  # message index
    editRequested = Signal(int)  # the editor of this message opened
    editSubmitted = Signal(int, str)  # message index, the edited text
    alternativeRequested = Signal(int, int)  # message index, reply version to show
    citationActivated = Signal(int, int)  # message index, citation index

    def __init__(self, *, dark: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self._dark = dark
        self._widgets: list[QtMessage] = []
        self._dirty: set[int] = set()
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the messages inside take focus, not the scroll area
        page = QWidget()
        page.setObjectName("chatColumn")
        row = QHBoxLayout(page)
        row.setContentsMargins(SPACE["xl"], SPACE["xl"], SPACE["xl"], SPACE["lg"])
        self._column = QWidget()
        self._column.setObjectName("chatColumn")
        add_readable_column(row, self._column)
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(SPACE["xl"])  # turns are set apart by space, not by boxes
        self.empty = QWidget()
        empty_layout = QVBoxLayout(self.empty)
        empty_layout.setContentsMargins(0, 80, 0, 0)
        self.empty_title = QLabel(self.tr("What would you like to know?"))
        self.empty_title.setObjectName("emptyChatTitle")
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint = QLabel(self.tr("Ask a question, or drop documents on the window to ask about them. "
                                         "Everything stays on this computer."))
        self.empty_hint.setObjectName("emptyChatHint")
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_layout.addWidget(self.empty_title)
        empty_layout.addWidget(self.empty_hint)
        self._layout.addWidget(self.empty)
        self._layout.addStretch(1)
        self.setWidget(page)
        self._timer = QTimer(self)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self._render_dirty)
        self._stick_to_bottom = True
        self._busy = False
        self.verticalScrollBar().rangeChanged.connect(self._on_range_changed)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    # --- controller-facing API -----------------------------------------------------------------------------------
    def set_messages(self, messages: list[ChatMessage]) -> None:
        for widget in self._widgets:
            widget.setParent(None)
            widget.deleteLater()
        self._widgets = []
        self._dirty.clear()
        for message in messages:
            self._append_widget(message)
        self._stick_to_bottom = True
        self.empty.setVisible(not messages)

    def append_message(self, message: ChatMessage) -> None:
        self._append_widget(message)
        self._stick_to_bottom = True
        self.empty.setVisible(False)

    def mark_dirty(self, index: int) -> None:
        self._dirty.add(index)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Renders pending changes now (end of a reply, so the final text never waits for the timer)."""
        self._render_dirty()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in self._widgets:
            widget.set_actions_enabled(not busy)

    def set_dark(self, dark: bool) -> None:
        """Re-renders the open conversation in the new theme (code-block colours are baked into the HTML)."""
        if dark != self._dark:
            self._dark = dark
            self.set_messages([w.message for w in self._widgets])

    def message_widgets(self) -> list[QtMessage]:
        return list(self._widgets)

    # --- internals ----------------------------------------------------------------------------------------------
    def _append_widget(self, message: ChatMessage) -> None:
        index = len(self._widgets)
        widget = QtMessage(message, dark=self._dark)
        widget.copyRequested.connect(lambda text: QGuiApplication.clipboard().setText(text))
        widget.regenerateRequested.connect(lambda i=index: self.regenerateRequested.emit(i))
        widget.editRequested.connect(lambda i=index: self.editRequested.emit(i))
        widget.editSubmitted.connect(lambda text, i=index: self.editSubmitted.emit(i, text))
        widget.alternativeRequested.connect(lambda version, i=index: self.alternativeRequested.emit(i, version))
        widget.citationActivated.connect(
            lambda url, i=index: self.citationActivated.emit(i, int(url.split(":", 1)[1])))
        self._layout.insertWidget(self._layout.count() - 1, widget)
        self._widgets.append(widget)
        widget.set_actions_enabled(not self._busy)  # no Edit/Regenerate while any reply is being made

    def _render_dirty(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for index in sorted(dirty):
            if 0 <= index < len(self._widgets):
                self._widgets[index].refresh()
        if not self._dirty:
            self._timer.stop()

    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick_to_bottom = value >= bar.maximum() - 24

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(maximum)
