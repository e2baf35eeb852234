"""The local API server's dialog: the on/off switch, the port, the address and the token to give to tools."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox,
    QVBoxLayout, QWidget,
)

from app.ui.i18n import counts, translate
from app.ui.server_controller import ServerState


class QtServerDialog(QDialog):
    switched = Signal(bool, int)  # on/off, port
    renewRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Local API server"))
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr("Programs on this computer (editors, scripts, codex --oss) can use the open model "
                               "through an OpenAI-compatible API. Only this computer can connect, and every request "
                               "needs the token."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.switch = QCheckBox(self.tr("Serve the API on 127.0.0.1"))
        self.switch.toggled.connect(lambda on: self.switched.emit(on, self.port.value()))
        layout.addWidget(self.switch)
        form = QFormLayout()
        self.port = QSpinBox()
        self.port.setRange(1024, 65535)
        form.addRow(self.tr("Port"), self.port)
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        self.url.setAccessibleName(self.tr("Base URL"))
        form.addRow(self.tr("Base URL"), _with_copy(self.url, self.tr("Copy the base URL")))
        self.token = QLineEdit()
        self.token.setReadOnly(True)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setAccessibleName(self.tr("Token"))
        self.show_token = QCheckBox(self.tr("Show"))
        self.show_token.toggled.connect(lambda on: self.token.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        row = _with_copy(self.token, self.tr("Copy the token"))
        row.layout().insertWidget(1, self.show_token)
        self.renew = QPushButton(self.tr("New token"))
        self.renew.setToolTip(self.tr("Make a new token; programs using the old one are refused from now on"))
        self.renew.clicked.connect(self.renewRequested)
        row.layout().addWidget(self.renew)
        form.addRow(self.tr("Token"), row)
        layout.addLayout(form)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def set_allowed(self, allowed: bool) -> None:
        self.switch.setEnabled(allowed)
        self.port.setEnabled(allowed)
        if not allowed:
            self.switch.setToolTip(self.tr("Managed by your organization: the policy does not allow the local API "
                                           "server"))

    def set_token(self, value: str, note: str) -> None:
        self.token.setText(value)
        self.note.setText(self.tr("The token is {where}.").format(where=note))

    def show_state(self, state: ServerState, port: int) -> None:
        self.switch.blockSignals(True)
        self.switch.setChecked(state.running)
        self.switch.blockSignals(False)
        self.port.setValue(port)
        self.port.setEnabled(not state.running and self.switch.isEnabled())
        self.url.setText(state.url or f"http://127.0.0.1:{port}/v1")  # not translated: an address
        if state.error:
            self.status.setText(state.error)
        elif state.running:
            self.status.setText(counts.requests_answered(state.requests))
        else:
            self.status.setText(self.tr("Off."))


def _with_copy(field: QLineEdit, name: str) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(field, 1)
    copy = QPushButton(translate("ServerDialog", "Copy"))
    copy.setAccessibleName(name)
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(field.text()))
    layout.addWidget(copy)
    return row
