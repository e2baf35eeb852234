"""The message composer: one card with the text, the attached documents and a row of controls under it.

Enter sends, Shift+Enter adds a line; Send turns into Stop while a reply streams. The controls row holds
Attach, the reasoning effort (its label sits right beside its menu) and Send; the card is as wide as the chat's
reading column.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox, QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSizePolicy, QToolButton, QVBoxLayout,
    QWidget,
)

from app.engine.chat_request import REASONING_EFFORTS
from app.ui.i18n import translate
from app.ui.icons import icon
from app.ui.safe_text import PlainLabel
from app.ui.theme import SPACE, add_readable_column
from app.ui.widgets.qt_attachment_chips import QtAttachmentChips


def effort_names() -> dict[str, str]:
    return {"low": translate("Composer", "Low"), "medium": translate("Composer", "Medium"),
            "high": translate("Composer", "High")}


class _ComposerEdit(QPlainTextEdit):
    """Grows with its text from one line to MAX_LINES, then scrolls."""

    submitted = Signal()
    MAX_LINES = 8

    def __init__(self) -> None:
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(lambda _size: self._fit())
        self._fit()

    def _fit(self) -> None:
        lines = max(2, min(self.MAX_LINES, int(self.document().documentLayout().documentSize().height())))
        margins = self.contentsMargins()
        frame = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom() + 4
        height = lines * self.fontMetrics().lineSpacing() + frame
        if self.height() != height:
            self.setFixedHeight(height)

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
        self.setObjectName("composerArea")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._busy = False
        self._can_send = True
        outer = QHBoxLayout(self)
        outer.setContentsMargins(SPACE["xl"], SPACE["sm"], SPACE["xl"], SPACE["lg"])
        self.card = QFrame()
        self.card.setObjectName("composerCard")
        add_readable_column(outer, self.card)
        layout = QVBoxLayout(self.card)
        layout.setContentsMargins(SPACE["sm"], SPACE["sm"], SPACE["sm"], SPACE["sm"])
        layout.setSpacing(SPACE["xs"])
        self.chips = QtAttachmentChips()
        layout.addWidget(self.chips)
        self.notice = PlainLabel("")  # where the conversation goes when it leaves this computer (a remote engine)
        self.notice.setObjectName("composerNotice")
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)
        layout.addWidget(self.notice)

        self.edit = _ComposerEdit()
        self.edit.setObjectName("composer")
        self.edit.setPlaceholderText(self.tr("Message gpt-oss"))
        self.edit.setTabChangesFocus(True)
        self.edit.submitted.connect(self._on_submit)
        self.edit.setAccessibleName(self.tr("Message"))
        self.edit.setAccessibleDescription(self.tr("Enter sends, Shift+Enter starts a new line"))
        layout.addWidget(self.edit)

        row = QHBoxLayout()
        row.setSpacing(SPACE["sm"])
        self.attach_button = QToolButton()
        self.attach_button.setIcon(icon("paperclip"))
        self.attach_button.setText(self.tr("Attach"))
        self.attach_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.attach_button.setToolTip(self.tr("Attach documents (or drop files on the window)"))
        self.attach_button.setAccessibleName(self.tr("Attach documents"))
        self.attach_button.clicked.connect(self.attachRequested)
        row.addWidget(self.attach_button)

        self.reasoning_label = QLabel(self.tr("Reasoning"))
        self.reasoning_label.setObjectName("composerHint")
        self.reasoning = QComboBox()
        self.reasoning.setObjectName("reasoningEffort")
        names = effort_names()
        for effort in REASONING_EFFORTS:
            self.reasoning.addItem(names[effort], effort)
        self.reasoning.setCurrentIndex(1)
        self.reasoning.setToolTip(self.tr("Reasoning effort: how long the model thinks before answering"))
        self.reasoning.setAccessibleName(self.tr("Reasoning effort"))
        self.reasoning.currentIndexChanged.connect(lambda i: self.reasoningChanged.emit(REASONING_EFFORTS[i]))
        self.reasoning_label.setBuddy(self.reasoning)
        row.addSpacing(SPACE["sm"])
        row.addWidget(self.reasoning_label)
        row.addWidget(self.reasoning)
        row.addStretch(1)
        self.hint = QLabel(self.tr("Enter to send · Shift+Enter for a new line"))
        self.hint.setObjectName("composerHint")
        row.addWidget(self.hint)

        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.setObjectName("primaryButton")
        self.send_button.setIcon(icon("send", "on_accent"))
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self._on_button)
        self.send_button.setAccessibleName(self.tr("Send"))
        row.addWidget(self.send_button)
        layout.addLayout(row)
        self.set_busy(False)

    # --- controller-facing ---------------------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        """While busy, the button stops the reply instead of sending."""
        self._busy = busy
        self.send_button.setText(self.tr("Stop") if busy else self.tr("Send"))
        self.send_button.setAccessibleName(self.send_button.text())
        self.send_button.setIcon(icon("stop" if busy else "send", "on_accent"))
        self.send_button.setToolTip(self.tr("Stop the reply (Esc)") if busy else self.tr("Send (Enter)"))
        self._update_enabled()

    def set_can_send(self, can_send: bool, reason: str = "") -> None:
        self._can_send = can_send
        self.edit.setToolTip(reason)
        self.send_button.setToolTip(reason or (self.tr("Stop the reply (Esc)") if self._busy else
                                               self.tr("Send (Enter)")))
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
