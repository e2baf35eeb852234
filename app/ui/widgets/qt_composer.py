"""The message composer: Enter sends, Shift+Enter adds a line; Send turns into Stop while a reply streams."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QToolButton, QVBoxLayout, QWidget,
)

from app.engine.chat_request import REASONING_EFFORTS
from app.ui.widgets.qt_attachment_chips import QtAttachmentChips


class _ComposerEdit(QPlainTextEdit):
    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not (event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class QtComposer(QWidget):
    sendRequested = Signal(str)
    stopRequested = Signal()
    attachRequested = Signal()
    reasoningChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._busy = False
        self._can_send = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 10)
        self.chips = QtAttachmentChips()
        layout.addWidget(self.chips)
        self.notice = QLabel("")  # where the conversation goes when it leaves this computer (a remote engine)
        self.notice.setObjectName("composerNotice")
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)
        layout.addWidget(self.notice)

        row = QHBoxLayout()
        self.attach_button = QToolButton()
        self.attach_button.setText("Attach…")  # text, not an emoji: offline machines often lack emoji fonts
        self.attach_button.setToolTip("Attach documents (or drop files here)")
        self.attach_button.clicked.connect(self.attachRequested)
        row.addWidget(self.attach_button)

        self.edit = _ComposerEdit()
        self.edit.setObjectName("composer")
        self.edit.setPlaceholderText("Message gpt-oss — Enter to send, Shift+Enter for a new line")
        self.edit.setTabChangesFocus(True)
        self.edit.setMaximumHeight(140)
        self.edit.submitted.connect(self._on_submit)
        self.edit.setAccessibleName("Message")
        row.addWidget(self.edit, 1)

        side = QVBoxLayout()
        self.reasoning = QComboBox()
        self.reasoning.addItems([e.capitalize() for e in REASONING_EFFORTS])
        self.reasoning.setCurrentIndex(1)
        self.reasoning.setToolTip("Reasoning effort: how long the model thinks before answering")
        self.reasoning.setAccessibleName("Reasoning effort")
        self.reasoning.currentIndexChanged.connect(
            lambda i: self.reasoningChanged.emit(REASONING_EFFORTS[i]))
        side.addWidget(QLabel("Reasoning"))
        side.addWidget(self.reasoning)
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self._on_button)
        side.addWidget(self.send_button)
        row.addLayout(side)
        layout.addLayout(row)

    # --- controller-facing ---------------------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        """While busy, the button stops the reply instead of sending."""
        self._busy = busy
        self.send_button.setText("Stop" if busy else "Send")
        self.send_button.setToolTip("Stop the reply (Esc)" if busy else "Send (Enter)")
        self._update_enabled()

    def set_can_send(self, can_send: bool, reason: str = "") -> None:
        self._can_send = can_send
        self.edit.setToolTip(reason)
        self._update_enabled()

    def set_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def set_reasoning_effort(self, effort: str) -> None:
        if effort in REASONING_EFFORTS:
            self.reasoning.blockSignals(True)
            self.reasoning.setCurrentIndex(REASONING_EFFORTS.index(effort))
            self.reasoning.blockSignals(False)

    def reasoning_effort(self) -> str:
        return REASONING_EFFORTS[self.reasoning.currentIndex()]

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        self.edit.setFocus()

    def text(self) -> str:
        return self.edit.toPlainText()

    # --- internals ----------------------------------------------------------------------------------------------
    def _update_enabled(self) -> None:
        self.send_button.setEnabled(self._busy or self._can_send)

    def _on_button(self) -> None:
        if self._busy:
            self.stopRequested.emit()
        else:
            self._on_submit()

    def _on_submit(self) -> None:
        if self._busy or not self._can_send:
            return
        text = self.edit.toPlainText().strip()
        if not text:
            return
        self.edit.clear()
        self.sendRequested.emit(text)
