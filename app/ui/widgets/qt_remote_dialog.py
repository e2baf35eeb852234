"""Adding a remote engine: its URL, model, CA bundle and token, and which engines the organisation allows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout,
    QWidget,
)

from app.ui.file_dialogs import choose_file
from app.ui.safe_text import PlainLabel


@dataclass(frozen=True)
class RemoteChoice:
    url: str
    model: str
    ca_bundle: str
    token: str  # "" keeps the token the keyring holds for this URL


class QtRemoteDialog(QDialog):
    def __init__(self, allowed: list[str], last: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Connect to a remote engine"))
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr("Use gpt-oss on a server of your organisation (vLLM, SGLang, llama.cpp, Enclave...) "
                               "instead of a model on this computer. History stays here; conversations and the "
                               "passages of attached documents are sent to that server only."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        listed = PlainLabel(self.tr("Allowed by your organisation: {engines}").format(
            engines=", ".join(sorted(allowed)) if allowed else self.tr("none (an administrator lists them in the "
                                                                       "policy)")))
        listed.setWordWrap(True)
        layout.addWidget(listed)
        form = QFormLayout()
        self.url = QLineEdit(last.get("url") or (sorted(allowed)[0] if allowed else ""))
        self.url.setPlaceholderText("https://gpt-oss.example.com/v1")  # not translated: an example address
        form.addRow(self.tr("URL"), self.url)
        self.model = QLineEdit(last.get("model", ""))
        self.model.setPlaceholderText(self.tr("the model the server serves"))
        form.addRow(self.tr("Model"), self.model)
        self.ca_bundle = QLineEdit(last.get("ca_bundle", ""))
        self.ca_bundle.setPlaceholderText(self.tr("the system's certificates"))
        self.ca_bundle.setAccessibleName(self.tr("CA bundle"))
        browse = QPushButton(self.tr("Choose…"))
        browse.setAccessibleName(self.tr("Choose a CA bundle"))
        browse.clicked.connect(self._choose_bundle)
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.ca_bundle, 1)
        row_layout.addWidget(browse)
        form.addRow(self.tr("CA bundle"), row)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText(self.tr("kept in the OS keyring once entered"))
        form.addRow(self.tr("Token"), self.token)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Connect"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def choice(self) -> RemoteChoice:
        return RemoteChoice(self.url.text().strip(), self.model.text().strip(), self.ca_bundle.text().strip(),
                            self.token.text().strip())

    def _choose_bundle(self) -> None:
        path = choose_file(self, self.tr("CA bundle"), str(Path.home()),
                           self.tr("Certificates (*.pem *.crt *.cer);;All files (*)"))
        if path:
            self.ca_bundle.setText(path)
