"""One chat message: Markdown body, a collapsible "Thought for N s" section, and per-message actions."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from app.engine.events import FinishReason
from app.ui.chat_state import ChatMessage, MessageState
from app.ui.markdown_render import render_markdown
from app.ui.safe_text import PlainLabel
from app.ui.widgets.qt_auto_text import QtAutoText

_FINISH_NOTES = {  # a complete reply that the model did not end itself
    FinishReason.LENGTH: "The reply reached the length limit (Max reply tokens in Chat settings); Regenerate after "
                         "raising it.",
    FinishReason.CONTEXT_FULL: "The conversation has filled the model's context; start a new chat to go on.",
}
_STATE_NOTES = {
    MessageState.STOPPED: "Stopped — the reply above is partial.",
    MessageState.INTERRUPTED: "Interrupted — Enclave closed before this reply finished.",
}


class QtMessage(QFrame):
    """Shows a ChatMessage; `refresh()` re-renders after the controller changed it."""

    copyRequested = Signal(str)
    regenerateRequested = Signal()
    editRequested = Signal()
    citationActivated = Signal(str)

    def __init__(self, message: ChatMessage, *, dark: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self._dark = dark
        self._code_blocks: list[str] = []
        self._rendered = ("", "", None)
        self.setObjectName("userBubble" if message.role == "user" else "assistantBubble")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)

        self.role_label = PlainLabel("You" if message.role == "user" else "gpt-oss")
        self.role_label.setStyleSheet("font-weight: 600;")
        layout.addWidget(self.role_label)

        self.thought_toggle = QToolButton()
        self.thought_toggle.setObjectName("thoughtToggle")
        self.thought_toggle.setCheckable(True)
        self.thought_toggle.setChecked(False)  # reasoning is collapsed by default
        self.thought_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.thought_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.thought_toggle.toggled.connect(self._on_thought_toggled)
        self.thought_view = QtAutoText()
        self.thought_view.setObjectName("thoughtView")  # styled apart from the answer (grey, indented)
        self.thought_view.setVisible(False)
        layout.addWidget(self.thought_toggle)
        layout.addWidget(self.thought_view)

        self.body = QtAutoText()
        self.body.linkActivated.connect(self._on_link)
        layout.addWidget(self.body)

        self.sources = QLabel()
        self.sources.setWordWrap(True)
        self.sources.setTextFormat(Qt.TextFormat.RichText)
        self.sources.linkActivated.connect(self.citationActivated)
        self.sources.setVisible(False)
        layout.addWidget(self.sources)

        self.note = PlainLabel()  # error texts quote engine and file messages
        self.note.setStyleSheet("color: gray; font-style: italic;")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)

        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        self.copy_button = _small_button("Copy", "Copy this message")
        self.copy_button.clicked.connect(lambda: self.copyRequested.emit(self.message.text))
        actions.addWidget(self.copy_button)
        if message.role == "assistant":
            self.regenerate_button = _small_button("Regenerate", "Ask for a new reply to the same message")
            self.regenerate_button.clicked.connect(self.regenerateRequested)
            actions.addWidget(self.regenerate_button)
        else:
            self.edit_button = _small_button("Edit", "Edit this message and send it again")
            self.edit_button.clicked.connect(self.editRequested)
            actions.addWidget(self.edit_button)
        actions.addStretch(1)
        layout.addLayout(actions)
        self.refresh()

    # --- updates from the controller ---------------------------------------------------------------------------
    def refresh(self) -> None:
        m = self.message
        key = (m.text, m.reasoning, m.state, len(m.citations), m.finish_reason)
        if key == self._rendered:
            return
        self._rendered = key
        rendered = render_markdown(m.text, dark=self._dark) if m.role == "assistant" else None
        if rendered is not None:
            self._code_blocks = rendered.code_blocks
            self.body.setHtml(rendered.html)
        else:
            self.body.setPlainText(m.text)
        has_thought = bool(m.reasoning)
        self.thought_toggle.setVisible(has_thought)
        if has_thought:
            self.thought_toggle.setText(self._thought_label())
            if self.thought_view.isVisible():
                self.thought_view.setPlainText(m.reasoning)
        if m.citations:
            links = " ".join(
                f'<a href="cite:{i}">[{html.escape(str(c.marker))}] {html.escape(c.label)}</a>'
                for i, c in enumerate(m.citations))
            self.sources.setText(f"<span style='color:gray'>Sources:</span> {links}")
        self.sources.setVisible(bool(m.citations))
        note = _STATE_NOTES.get(m.state, "")
        if m.state is MessageState.COMPLETE:
            note = _FINISH_NOTES.get(m.finish_reason, "") if m.finish_reason else ""
        if m.state is MessageState.ERROR:
            note = f"Error: {m.error or 'the reply failed.'}"
        self.note.setText(note)
        self.note.setVisible(bool(note))
        streaming = m.state is MessageState.STREAMING
        for button in self._action_buttons():
            button.setEnabled(not streaming)

    def set_actions_enabled(self, enabled: bool) -> None:
        for button in self._action_buttons():
            if button is not self.copy_button:
                button.setEnabled(enabled)

    def _action_buttons(self) -> list[QToolButton]:
        return [b for b in (self.copy_button, getattr(self, "regenerate_button", None),
                            getattr(self, "edit_button", None)) if b is not None]

    def _thought_label(self) -> str:
        m = self.message
        if m.state is MessageState.STREAMING and not m.text:
            return "Thinking…"
        if m.thought_seconds is not None:
            return f"Thought for {m.thought_seconds:.0f} s"
        return "Reasoning"

    # --- private slots -------------------------------------------------------------------------------------------
    def _on_thought_toggled(self, shown: bool) -> None:
        self.thought_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if shown:
            self.thought_view.setPlainText(self.message.reasoning)
        self.thought_view.setVisible(shown)

    def _on_link(self, url: str) -> None:
        if url.startswith("copy:"):
            index = int(url.split(":", 1)[1])
            if 0 <= index < len(self._code_blocks):
                QGuiApplication.clipboard().setText(self._code_blocks[index])
        elif url.startswith("cite:"):
            self.citationActivated.emit(url)


def _small_button(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    return button
