"""History settings: how long conversations are kept, where the key is, changing the passphrase, deleting all.

The dialog only asks; the window carries each request out through the storage worker and reports the result.
Settings the organisation's policy sets are shown with "Managed by your organization" and cannot be changed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QGroupBox, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSpinBox,
    QVBoxLayout, QWidget,
)

from app.ui.i18n import translate
from app.ui.widgets.managed import managed_note, managed_text
from app.ui.widgets.qt_passphrase import QtPassphraseDialog

DEFAULT_RETENTION_DAYS = 90


class QtHistorySettings(QDialog):
    changePassphrase = Signal(str, str)  # current, new
    usePassphrase = Signal(str)  # new
    useKeyring = Signal(str)  # current
    deleteAll = Signal()

    def __init__(self, parent: QWidget | None, *, retention_days: int | None, retention_managed: bool,
                 key_status: dict[str, object] | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("History settings"))
        self.setObjectName("historySettings")
        layout = QVBoxLayout(self)

        keep = QGroupBox(self.tr("Keeping conversations"))
        keep_layout = QVBoxLayout(keep)
        row = QHBoxLayout()
        self.retention_check = QCheckBox(self.tr("Delete conversations not used for"))
        self.retention_days = QSpinBox()
        self.retention_days.setRange(1, 36500)
        self.retention_days.setSuffix(self.tr(" days"))
        self.retention_days.setAccessibleName(self.tr("Days before an unused conversation is deleted"))
        self.retention_days.setValue(retention_days or DEFAULT_RETENTION_DAYS)
        self.retention_check.setChecked(retention_days is not None)
        self.retention_days.setEnabled(retention_days is not None and not retention_managed)
        self.retention_check.toggled.connect(
            lambda on: self.retention_days.setEnabled(on and not retention_managed))
        row.addWidget(self.retention_check)
        row.addWidget(self.retention_days)
        row.addStretch(1)
        keep_layout.addLayout(row)
        self.retention_managed = managed_note(retention_managed)
        keep_layout.addWidget(self.retention_managed)
        if retention_managed:
            for widget in (self.retention_check, self.retention_days):
                widget.setEnabled(False)
                widget.setToolTip(managed_text())
        note = QLabel(self.tr("Deleted conversations are overwritten in the history file, not just hidden."))
        note.setWordWrap(True)
        keep_layout.addWidget(note)
        layout.addWidget(keep)

        key = QGroupBox(self.tr("Encryption key"))
        key_layout = QVBoxLayout(key)
        self.key_label = QLabel(_key_text(key_status))
        self.key_label.setObjectName("keyStatus")
        self.key_label.setWordWrap(True)
        key_layout.addWidget(self.key_label)
        mode = (key_status or {}).get("mode")
        self.change_button = QPushButton(self.tr("Change passphrase…"))
        self.change_button.setObjectName("changePassphrase")
        self.change_button.clicked.connect(self._ask_change)
        self.to_passphrase_button = QPushButton(self.tr("Protect with a passphrase instead…"))
        self.to_passphrase_button.setObjectName("usePassphrase")
        self.to_passphrase_button.clicked.connect(self._ask_use_passphrase)
        self.to_keyring_button = QPushButton(self.tr("Keep the key in the OS keyring instead…"))
        self.to_keyring_button.setObjectName("useKeyring")
        self.to_keyring_button.clicked.connect(self._ask_use_keyring)
        self.change_button.setVisible(mode == "passphrase")
        self.to_keyring_button.setVisible(mode == "passphrase")
        self.to_keyring_button.setEnabled(bool((key_status or {}).get("keyring_usable")))
        if not self.to_keyring_button.isEnabled():
            self.to_keyring_button.setToolTip(self.tr("No OS keyring is available in this session."))
        self.to_passphrase_button.setVisible(mode == "keyring")
        required = bool((key_status or {}).get("keyring_required"))
        self.key_managed = managed_note(required and mode == "keyring")
        if required:
            self.to_passphrase_button.setEnabled(False)
            self.to_passphrase_button.setToolTip(managed_text())
        for button in (self.change_button, self.to_passphrase_button, self.to_keyring_button):
            key_layout.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
        key_layout.addWidget(self.key_managed)
        layout.addWidget(key)

        danger = QGroupBox(self.tr("Delete"))
        danger_layout = QVBoxLayout(danger)
        self.delete_button = QPushButton(self.tr("Delete all history…"))
        self.delete_button.setObjectName("deleteAllHistory")
        self.delete_button.clicked.connect(self._ask_delete_all)
        self.delete_button.setEnabled(key_status is not None)
        danger_layout.addWidget(self.delete_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(danger)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def retention(self) -> int | None:
        """The retention the user chose (None: keep conversations)."""
        return self.retention_days.value() if self.retention_check.isChecked() else None

    # -- the questions behind each button ------------------------------------------------------------------
    def _ask_change(self) -> None:
        dialog = QtPassphraseDialog(self, self.tr("Change passphrase"), self.tr(
            "Choose a new passphrase for your history. Every conversation is encrypted again under a new key."),
            choose=True, current=True)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.changePassphrase.emit(dialog.current_passphrase(), dialog.passphrase())
        dialog.deleteLater()

    def _ask_use_passphrase(self) -> None:
        dialog = QtPassphraseDialog(self, self.tr("Protect with a passphrase"), self.tr(
            "Choose the passphrase that will protect your history instead of the OS keyring. Anyone with a copy of "
            "the file can then try to guess it, so make it long."), choose=True)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.usePassphrase.emit(dialog.passphrase())
        dialog.deleteLater()

    def _ask_use_keyring(self) -> None:
        dialog = QtPassphraseDialog(self, self.tr("Keep the key in the OS keyring"), self.tr(
            "Enter your passphrase once more; afterwards the OS keyring unlocks your history when you log in."),
            choose=False)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.useKeyring.emit(dialog.passphrase())
        dialog.deleteLater()

    def _ask_delete_all(self) -> None:
        answer = QMessageBox.warning(
            self, self.tr("Delete all history"),
            self.tr("Delete every conversation and its documents, and the key that encrypts them? This cannot be "
                    "undone."),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Yes:
            self.deleteAll.emit()


def _key_text(status: dict[str, object] | None) -> str:
    if status is None:
        return translate("QtHistorySettings", "The history is locked: unlock it to change how it is protected.")
    if status.get("mode") == "keyring":
        return translate("QtHistorySettings", "The key that encrypts your history is kept in the OS keyring.")
    if status.get("mode") == "passphrase":
        return translate("QtHistorySettings", "Your history is protected by your passphrase (Argon2id). Anyone with "
                         "a copy of the file can try to guess it, so the OS keyring is safer where there is one.")
    return translate("QtHistorySettings", "The history's key settings could not be read.")
