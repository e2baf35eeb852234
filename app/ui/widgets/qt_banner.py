"""A message across the top of the chat that must be read in full: warnings (no OS keyring, a damaged history),
errors, and confirmations with an action ("Exported to … — Show in folder").

The status bar is for passing notes; it cuts long text mid-word and forgets it after seconds. The banner wraps,
stays until the user closes it, and is read by screen readers when it appears.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from app.ui.icons import icon
from app.ui.safe_text import PlainLabel
from app.ui.theme import SPACE, set_style_state

KINDS = {"warning": ("alert", "warning_text"), "error": ("alert", "danger"), "info": ("check", "text")}


class QtBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(SPACE["lg"], SPACE["sm"], SPACE["sm"], SPACE["sm"])
        layout.setSpacing(SPACE["sm"])
        self.icon = QLabel()
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        self.text = PlainLabel()  # warnings quote paths and error texts
        self.text.setObjectName("bannerText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text, 1)
        self.action = QPushButton()
        self.action.setVisible(False)
        self.action.clicked.connect(self._on_action)
        layout.addWidget(self.action, 0, Qt.AlignmentFlag.AlignTop)
        self.close_button = QToolButton()
        self.close_button.setIcon(icon("x"))
        self.close_button.setToolTip(self.tr("Dismiss"))
        self.close_button.setAccessibleName(self.tr("Dismiss this message"))
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._callback: Callable[[], None] | None = None
        self.kind = ""
        self.setVisible(False)

    def show_message(self, text: str, kind: str = "warning", action: tuple[str, Callable[[], None]] | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"banner kind must be one of {', '.join(KINDS)}, not {kind!r}")
        self.kind = kind
        set_style_state(self, kind, also=(self.text,))
        name, tone = KINDS[kind]
        self.icon.setPixmap(icon(name, tone).pixmap(QSize(18, 18), self.devicePixelRatioF()))
        self.text.setText(text)
        self.setAccessibleName(text)
        if action is None:
            self._callback = None
            self.action.setVisible(False)
        else:
            label, self._callback = action
            self.action.setText(label)
            self.action.setVisible(True)
        self.setVisible(True)
        from PySide6.QtGui import QAccessible, QAccessibleEvent

        QAccessible.updateAccessibility(QAccessibleEvent(self.text, QAccessible.Event.Alert))

    def dismiss(self) -> None:
        self.setVisible(False)
        self.kind = ""

    def _on_action(self) -> None:
        if self._callback is not None:
            self._callback()
