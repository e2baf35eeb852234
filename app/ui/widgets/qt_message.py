"""One turn of the chat: the user's message as a bubble on the right, or a reply across the reading column.

A reply shows its collapsible reasoning ("Thought for 4 s"), the Markdown answer, the sources it cited, a note
when it did not end normally, and actions: Copy, Regenerate, Details (tokens, speed, time to first token, why it
stopped) and, after Regenerate, ‹ 2 / 3 › to page through the replies kept. The user's message shows the
documents that went with it, and Edit turns the bubble into an editor in place (Ctrl+Enter sends, Esc cancels).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QToolButton, QVBoxLayout, QWidget,
)

from app.documents.grounding import citations_used
from app.engine.events import FinishReason
from app.ui.chat_state import ChatMessage, MessageState
from app.ui.i18n import counts, translate
from app.ui.icons import icon
from app.ui.markdown_render import render_markdown
from app.ui.safe_text import PlainLabel
from app.ui.theme import SPACE, set_style_state
from app.ui.widgets.qt_auto_text import QtAutoText

BUBBLE_SHARE = 0.82  # a user's message takes at most this much of the column


def finish_note(message: ChatMessage) -> str:
    """The line under a reply that did not simply end (stopped, cut by a limit, failed); "" otherwise."""
    state = message.state
    if state is MessageState.ERROR:
        return translate("Message", "Error: {reason}").format(
            reason=message.error or translate("Message", "the reply failed."))
    if state is MessageState.STOPPED:
        return translate("Message", "Stopped — the reply above is partial.")
    if state is MessageState.INTERRUPTED:
        return translate("Message", "Interrupted — Enclave closed before this reply finished.")
    if state is MessageState.STREAMING and not message.text and not message.reasoning:
        return translate("Message", "Waiting for the first words…")
    if state is MessageState.COMPLETE and message.finish_reason is FinishReason.LENGTH:
        return translate("Message", "The reply reached the length limit (Max reply tokens in Chat settings); "
                                    "Regenerate after raising it.")
    if state is MessageState.COMPLETE and message.finish_reason is FinishReason.CONTEXT_FULL:
        return translate("Message", "The conversation has filled the model's context; start a new chat to go on.")
    return ""


def stop_reason(message: ChatMessage) -> str:
    """Why a reply ended, in words, for its details."""
    if message.state is MessageState.STREAMING:
        return translate("Message", "still writing")
    if message.state is MessageState.INTERRUPTED:
        return translate("Message", "interrupted when Enclave closed")
    reasons = {
        FinishReason.STOP: translate("Message", "the model finished its answer"),
        FinishReason.LENGTH: translate("Message", "reached the reply length limit"),
        FinishReason.CONTEXT_FULL: translate("Message", "the context window was full"),
        FinishReason.CANCELLED: translate("Message", "stopped by you"),
        FinishReason.ERROR: translate("Message", "failed"),
    }
    if message.finish_reason in reasons:
        return reasons[message.finish_reason]
    if message.state is MessageState.STOPPED:
        return reasons[FinishReason.CANCELLED]
    return translate("Message", "not recorded")


def details_text(message: ChatMessage) -> str:
    """Tokens, speed, time to first token and why it stopped: what Details shows under a reply."""
    stats = message.stats
    parts = [counts.tokens(stats.new_tokens)]
    if stats.decode_tok_s:
        parts.append(translate("Message", "{rate} tok/s").format(rate=f"{stats.decode_tok_s:.1f}"))
    if stats.ttft_s is not None:
        parts.append(translate("Message", "first token after {seconds} s").format(seconds=f"{stats.ttft_s:.2f}"))
    if message.thought_seconds is not None and message.reasoning:
        parts.append(translate("Message", "thought for {seconds} s").format(seconds=f"{message.thought_seconds:.1f}"))
    if stats.prompt_tokens:
        prompt = counts.prompt_tokens(stats.prompt_tokens)
        if stats.cached_tokens:
            prompt += " " + translate("Message", "({count} reused)").format(count=f"{stats.cached_tokens:,}")
        parts.append(prompt)
    parts.append(translate("Message", "stop: {reason}").format(reason=stop_reason(message)))
    return " · ".join(parts)


def sources_html(message: ChatMessage, show_all: bool) -> str:
    """The Sources line: the passages the answer cites with [n]; when it cites none, says so (and, on request,
    lists the passages that were given to the model)."""
    cited = citations_used(message.text, message.citations)
    index = {id(c): i for i, c in enumerate(message.citations)}

    def links(citations) -> str:
        return " &nbsp; ".join(f'<a href="cite:{index[id(c)]}">[{html.escape(str(c.marker))}] {html.escape(c.label)}</a>'
                               for c in citations)

    if cited:
        return f"{html.escape(translate('Message', 'Sources:'))} {links(cited)}"
    given = counts.passages_not_cited(len(message.citations))
    if show_all:
        hide = html.escape(translate("Message", "Hide"))
        return f"{html.escape(given)} <a href=\"sources:hide\">{hide}</a><br>{links(message.citations)}"
    show = html.escape(translate("Message", "Show them"))
    return f"{html.escape(given)} <a href=\"sources:show\">{show}</a>"


def _tool_button(name: str, tip: str, text: str = "") -> QToolButton:
    button = QToolButton()
    button.setIcon(icon(name, "text_muted"))
    button.setToolTip(tip)
    button.setAccessibleName(text or tip)
    if text:
        button.setText(text)
    button.setAutoRaise(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


class _InlineEditor(QPlainTextEdit):
    """The user's message being edited: Ctrl+Enter (or Enter) sends, Shift+Enter is a new line, Esc cancels."""

    submitted = Signal()
    cancelled = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class QtMessage(QWidget):
    """Shows a ChatMessage; `refresh()` re-renders after the controller changed it."""

    copyRequested = Signal(str)
    regenerateRequested = Signal()
    editRequested = Signal()  # the editor opened (the window may scroll to it)
    editSubmitted = Signal(str)  # the edited text, to send again
    alternativeRequested = Signal(int)  # the reply version (1-based) to show
    citationActivated = Signal(str)

    def __init__(self, message: ChatMessage, *, dark: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self._dark = dark
        self._code_blocks: list[str] = []
        self._rendered: tuple | None = None
        self._show_all_sources = False
        self._busy = False
        user = message.role == "user"
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        outer = QHBoxLayout()
        outer.setContentsMargins(0, 0, 0, 0)
        column.addLayout(outer)
        self.card = QFrame()
        self.card.setObjectName("userBubble" if user else "assistantMessage")
        layout = QVBoxLayout(self.card)
        layout.setContentsMargins(SPACE["lg"], SPACE["md"], SPACE["lg"], SPACE["md"]) if user else \
            layout.setContentsMargins(0, SPACE["xs"], 0, 0)
        layout.setSpacing(SPACE["xs"])
        if user:
            outer.addStretch(1)
            outer.addWidget(self.card)
        else:
            outer.addWidget(self.card, 1)

        self.role_label = PlainLabel(self.tr("You") if user else self.tr("gpt-oss"))
        self.role_label.setObjectName("roleLabel")
        self.role_label.setVisible(not user)  # the bubble says who wrote it; a reply gets a name
        layout.addWidget(self.role_label)

        self.thought_toggle = QToolButton()
        self.thought_toggle.setObjectName("thoughtToggle")
        self.thought_toggle.setCheckable(True)
        self.thought_toggle.setChecked(False)  # reasoning is collapsed by default
        self.thought_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.thought_toggle.setIcon(icon("chevron-right", "text_muted"))
        self.thought_toggle.setToolTip(self.tr("Show or hide the model's reasoning"))
        self.thought_toggle.toggled.connect(self._on_thought_toggled)
        self.thought_view = QtAutoText()
        self.thought_view.setObjectName("thoughtView")  # styled apart from the answer (muted, with a rule)
        self.thought_view.setAccessibleName(self.tr("Reasoning"))
        self.thought_view.setVisible(False)
        layout.addWidget(self.thought_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.thought_view)

        self.body = QtAutoText()
        self.body.setObjectName("messageBody")
        self.body.setAccessibleName(self.tr("Your message") if user else self.tr("Reply"))
        self.body.linkActivated.connect(self._on_link)
        layout.addWidget(self.body)

        self.editor: _InlineEditor | None = None
        self._edit_row: QWidget | None = None

        self.documents = PlainLabel()  # file names come from outside
        self.documents.setObjectName("sentDocuments")
        self.documents.setWordWrap(True)
        self.documents.setVisible(False)
        layout.addWidget(self.documents)

        self.sources = QLabel()
        self.sources.setObjectName("sources")
        self.sources.setWordWrap(True)
        self.sources.setTextFormat(Qt.TextFormat.RichText)  # built by sources_html, every outside text escaped
        self.sources.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                             | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.sources.linkActivated.connect(self._on_sources_link)
        self.sources.setVisible(False)
        layout.addWidget(self.sources)

        self.note = PlainLabel()  # error texts quote engine and file messages
        self.note.setObjectName("messageNote")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)

        self.details = PlainLabel()
        self.details.setObjectName("messageDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setVisible(False)
        layout.addWidget(self.details)

        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(2)
        self.copy_button = _tool_button("copy", self.tr("Copy this message"), "")
        self.copy_button.setAccessibleName(self.tr("Copy"))
        self.copy_button.clicked.connect(lambda: self.copyRequested.emit(self.message.text))
        self.regenerate_button: QToolButton | None = None
        self.edit_button: QToolButton | None = None
        self.details_button: QToolButton | None = None
        self.previous_button: QToolButton | None = None
        self.next_button: QToolButton | None = None
        self.version_label: QLabel | None = None
        if user:
            actions.addStretch(1)
            self.edit_button = _tool_button("pencil", self.tr("Edit this message and send it again"))
            self.edit_button.setAccessibleName(self.tr("Edit"))
            self.edit_button.clicked.connect(self.start_editing)
            actions.addWidget(self.edit_button)
            actions.addWidget(self.copy_button)
        else:
            self.previous_button = _tool_button("chevron-left", self.tr("Show the previous reply"))
            self.previous_button.setAccessibleName(self.tr("Previous reply"))
            self.previous_button.clicked.connect(lambda: self.alternativeRequested.emit(self.message.version - 1))
            self.version_label = QLabel()
            self.version_label.setObjectName("alternativeCounter")
            self.next_button = _tool_button("chevron-right", self.tr("Show the next reply"))
            self.next_button.setAccessibleName(self.tr("Next reply"))
            self.next_button.clicked.connect(lambda: self.alternativeRequested.emit(self.message.version + 1))
            for widget in (self.previous_button, self.version_label, self.next_button):
                actions.addWidget(widget)
            actions.addWidget(self.copy_button)
            self.regenerate_button = _tool_button("refresh", self.tr("Ask for a new reply to the same message; "
                                                                     "this one is kept"))
            self.regenerate_button.setAccessibleName(self.tr("Regenerate"))
            self.regenerate_button.clicked.connect(self.regenerateRequested)
            actions.addWidget(self.regenerate_button)
            self.details_button = _tool_button("info", self.tr("Tokens, speed and why the reply stopped"))
            self.details_button.setAccessibleName(self.tr("Details"))
            self.details_button.setCheckable(True)
            self.details_button.toggled.connect(self._on_details_toggled)
            actions.addWidget(self.details_button)
            actions.addStretch(1)
        (column if user else layout).addLayout(actions)  # under the bubble, not inside it
        self.refresh()

    # --- updates from the controller ---------------------------------------------------------------------------
    def refresh(self) -> None:
        m = self.message
        key = (m.text, m.reasoning, m.state, len(m.citations), m.finish_reason, m.version, m.versions,
               m.documents, m.stats, self._show_all_sources)
        if key == self._rendered:
            return
        self._rendered = key
        if m.role == "assistant":
            rendered = render_markdown(m.text, dark=self._dark)
            self._code_blocks = rendered.code_blocks
            self.body.setHtml(rendered.html)
        else:
            self.body.setPlainText(m.text)
        self.body.setVisible(bool(m.text) or m.role == "user")
        has_thought = bool(m.reasoning)
        self.thought_toggle.setVisible(has_thought)
        if has_thought:
            self.thought_toggle.setText(self._thought_label())
            if self.thought_view.isVisible():
                self.thought_view.setPlainText(m.reasoning)
        if m.documents:
            self.documents.setText(self.tr("Sent with: {names}").format(names=", ".join(m.documents)))
        self.documents.setVisible(bool(m.documents))
        if m.citations and m.state is not MessageState.STREAMING:
            self.sources.setText(sources_html(m, self._show_all_sources))
        self.sources.setVisible(bool(m.citations) and m.state is not MessageState.STREAMING)
        note = finish_note(m)
        self.note.setText(note)
        set_style_state(self.note, "error" if m.state is MessageState.ERROR else "")
        self.note.setVisible(bool(note))
        if self.details_button is not None and self.details_button.isChecked():
            self.details.setText(details_text(m))
        if self.version_label is not None:
            several = m.versions > 1
            self.version_label.setText(self.tr("{number} / {count}").format(number=m.version, count=m.versions))
            self.version_label.setAccessibleName(self.tr("Reply {number} of {count}").format(
                number=m.version, count=m.versions))
            for widget in (self.previous_button, self.version_label, self.next_button):
                widget.setVisible(several)
        self._update_enabled()
        self._fit_bubble()

    def set_actions_enabled(self, enabled: bool) -> None:
        """No Edit, Regenerate or paging while any reply is being made."""
        self._busy = not enabled
        self._update_enabled()

    def _update_enabled(self) -> None:
        m = self.message
        streaming = m.state is MessageState.STREAMING
        self.copy_button.setEnabled(not streaming)
        for button in (self.regenerate_button, self.edit_button):
            if button is not None:
                button.setEnabled(not streaming and not self._busy)
        if self.previous_button is not None and self.next_button is not None:
            self.previous_button.setEnabled(not self._busy and m.version > 1)
            self.next_button.setEnabled(not self._busy and m.version < m.versions)

    # --- inline edit -----------------------------------------------------------------------------------------
    def start_editing(self) -> None:
        if self.editor is not None or self.message.role != "user":
            return
        self.editor = _InlineEditor()
        self.editor.setObjectName("inlineEditor")
        self.editor.setAccessibleName(self.tr("Edit your message"))
        self.editor.setPlainText(self.message.text)
        self.editor.setTabChangesFocus(True)
        self.editor.submitted.connect(self._submit_edit)
        self.editor.cancelled.connect(self.stop_editing)
        row = QWidget()
        buttons = QHBoxLayout(row)
        buttons.setContentsMargins(0, 0, 0, 0)
        hint = QLabel(self.tr("Enter sends · Shift+Enter new line · Esc cancels"))
        hint.setObjectName("hint")
        buttons.addWidget(hint)
        buttons.addStretch(1)
        cancel = QPushButton(self.tr("Cancel"))
        cancel.clicked.connect(self.stop_editing)
        send = QPushButton(icon("send", "on_accent"), self.tr("Send"))
        send.setObjectName("primaryButton")
        send.setToolTip(self.tr("Send the edited message; the replies after it are replaced"))
        send.clicked.connect(self._submit_edit)
        buttons.addWidget(cancel)
        buttons.addWidget(send)
        self.save_edit_button, self.cancel_edit_button = send, cancel
        layout = self.card.layout()
        at = layout.indexOf(self.body)
        layout.insertWidget(at + 1, self.editor)
        layout.insertWidget(at + 2, row)
        self.editor.show()
        row.show()
        self._edit_row = row
        self.body.setVisible(False)
        self.card.setMinimumWidth(min(600, max(320, self.width() - 40)))
        self._fit_bubble()
        self.editor.setFocus()
        cursor = self.editor.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.editor.setTextCursor(cursor)
        self.editRequested.emit()

    def stop_editing(self) -> None:
        if self.editor is None:
            return
        for widget in (self.editor, self._edit_row):
            widget.setParent(None)
            widget.deleteLater()
        self.editor, self._edit_row = None, None
        self.card.setMinimumWidth(0)
        self.body.setVisible(True)
        self._fit_bubble()
        if self.edit_button is not None:
            self.edit_button.setFocus()

    def _submit_edit(self) -> None:
        if self.editor is None:
            return
        text = self.editor.toPlainText().strip()
        if not text or self._busy:
            return
        self.stop_editing()
        self.editSubmitted.emit(text)

    # --- layout ------------------------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_bubble()

    def _fit_bubble(self) -> None:
        """A user's message is as wide as its text, up to BUBBLE_SHARE of the column."""
        if self.message.role != "user" or self.width() <= 0:
            return
        limit = int(self.width() * BUBBLE_SHARE)
        margins = self.card.layout().contentsMargins()
        padding = margins.left() + margins.right() + 8
        if self.editor is not None:
            self.card.setFixedWidth(limit)
            return
        document = self.body.document()
        document.setTextWidth(limit - padding)
        needed = int(document.idealWidth()) + padding
        extras = [w.sizeHint().width() + padding for w in (self.documents,) if w.isVisible()]
        self.card.setFixedWidth(max(min(limit, max([needed, *extras])), 120))

    # --- private slots -------------------------------------------------------------------------------------------
    def _thought_label(self) -> str:
        m = self.message
        if m.state is MessageState.STREAMING and not m.text:
            return self.tr("Thinking…")
        if m.thought_seconds is not None:
            return self.tr("Thought for {seconds} s").format(seconds=f"{m.thought_seconds:.0f}")
        return self.tr("Reasoning")

    def _on_thought_toggled(self, shown: bool) -> None:
        self.thought_toggle.setIcon(icon("chevron-down" if shown else "chevron-right", "text_muted"))
        if shown:
            self.thought_view.setPlainText(self.message.reasoning)
        self.thought_view.setVisible(shown)

    def _on_details_toggled(self, shown: bool) -> None:
        if shown:
            self.details.setText(details_text(self.message))
        self.details.setVisible(shown)

    def _on_sources_link(self, url: str) -> None:
        if url.startswith("sources:"):
            self._show_all_sources = url == "sources:show"
            self.refresh()
        else:
            self.citationActivated.emit(url)

    def _on_link(self, url: str) -> None:
        if url.startswith("copy:"):
            index = int(url.split(":", 1)[1])
            if 0 <= index < len(self._code_blocks):
                QGuiApplication.clipboard().setText(self._code_blocks[index])
        elif url.startswith("cite:"):
            self.citationActivated.emit(url)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.LanguageChange:
            self._rendered = None
            self.refresh()
