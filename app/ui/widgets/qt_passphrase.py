"""The history passphrase dialog: one field to unlock; to choose one, a confirmation field and a strength message.

What the user types is checked as they type with the same rule the store applies (app.storage.passphrase), so
OK is only enabled for a passphrase the store will accept, and a typo cannot become a passphrase nobody knows.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.storage.passphrase import passphrase_problem
from app.ui.safe_text import PlainLabel


class QtPassphraseDialog(QDialog):
    """`choose=True`: a new passphrase (twice); `current=True`: also the passphrase in use now (to change it)."""

    def __init__(self, parent: QWidget | None, title: str, prompt: str, *, choose: bool,
                 current: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("passphraseDialog")
        self._choose = choose
        layout = QVBoxLayout(self)
        self.prompt = PlainLabel(prompt)  # the prompt may quote a file path
        self.prompt.setWordWrap(True)
        layout.addWidget(self.prompt)
        form = QFormLayout()
        self.current_edit = self._field("currentPassphrase") if current else None
        if self.current_edit is not None:
            self.current_edit.setAccessibleName(self.tr("Current passphrase"))
            form.addRow(self.tr("Current passphrase"), self.current_edit)
        self.edit = self._field("passphrase")
        label = self.tr("New passphrase") if choose and current else self.tr("Passphrase")
        self.edit.setAccessibleName(label)
        form.addRow(label, self.edit)
        self.confirm_edit = self._field("confirmPassphrase") if choose else None
        if self.confirm_edit is not None:
            self.confirm_edit.setAccessibleName(self.tr("Type it again"))
            form.addRow(self.tr("Type it again"), self.confirm_edit)
        layout.addLayout(form)
        self.feedback = QLabel("")
        self.feedback.setObjectName("passphraseFeedback")
        self.feedback.setWordWrap(True)
        layout.addWidget(self.feedback)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._update()

    def _field(self, name: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.textChanged.connect(self._update)
        return edit

    def passphrase(self) -> str:
        return self.edit.text()

    def current_passphrase(self) -> str:
        return self.current_edit.text() if self.current_edit is not None else ""

    def problem(self) -> str | None:
        """Why OK is disabled, or None."""
        if self.current_edit is not None and not self.current_edit.text():
            return self.tr("Enter the passphrase that protects the history now.")
        text = self.edit.text()
        if not self._choose:
            return None if text else ""
        if not text:
            return ""
        weak = passphrase_problem(text)
        if weak:
            return weak
        if self.confirm_edit is not None and self.confirm_edit.text() != text:
            return self.tr("The two passphrases are not the same.")
        return None

    def _update(self) -> None:
        problem = self.problem()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)
        if problem is None and self._choose:
            self.feedback.setText(self.tr("Strong enough. Keep it somewhere safe: a forgotten passphrase cannot "
                                          "be recovered."))
        else:
            self.feedback.setText(problem or "")
