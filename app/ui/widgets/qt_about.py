"""About Enclave: what it is and promises, the versions that matter when reporting a problem, the model in use,
and where its data lives."""

from __future__ import annotations

import platform
from pathlib import Path

from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from app.engine.events import ModelInfo
from app.ui.icons import icon
from app.ui.safe_text import PlainLabel
from app.ui.theme import SPACE


def versions() -> dict[str, str]:
    """What a support request needs: Enclave, ONNX Runtime, Qt, Python, the operating system."""
    from app import __version__

    try:
        from importlib.metadata import version

        ort = version("onnxruntime")
    except Exception:  # noqa: BLE001 - a GPU build is named onnxruntime-gpu / -directml
        ort = "?"
        for name in ("onnxruntime-gpu", "onnxruntime-directml"):
            try:
                ort = version(name)
                break
            except Exception:  # noqa: BLE001
                continue
    return {"Enclave": __version__, "ONNX Runtime": ort, "Qt": qVersion(),  # not translated: product names
            "Python": platform.python_version(), platform.system() or "OS": platform.release()}  # not translated: names


class QtAbout(QDialog):
    def __init__(self, model: ModelInfo | None, data_folder: Path, models_folder: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("About Enclave"))
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.setSpacing(SPACE["md"])
        title = QLabel(self.tr("Enclave"))
        title.setObjectName("aboutTitle")
        layout.addWidget(title)
        promise = QLabel(self.tr(
            "Chat with OpenAI's open-weight gpt-oss models entirely on this computer. No cloud, no account, no "
            "telemetry: nothing you type or attach leaves the machine. Conversations and documents are encrypted "
            "at rest. The network is used only for a download you start."))
        promise.setWordWrap(True)
        layout.addWidget(promise)
        form = QFormLayout()
        self.facts: dict[str, str] = {}
        for name, value in versions().items():
            self._fact(form, name, value)
        if model is not None:
            self._fact(form, self.tr("Model"), f"{model.name} ({model.target}, "
                                               f"{model.provider.removesuffix('ExecutionProvider')})")
            self._fact(form, self.tr("Model folder"), model.path)
        self._fact(form, self.tr("Conversations"), str(data_folder))
        self._fact(form, self.tr("Models"), str(models_folder))
        layout.addLayout(form)
        licence = QLabel(self.tr("gpt-oss is published by OpenAI under the Apache 2.0 licence. Enclave uses ONNX "
                                 "Runtime (MIT) and Qt for Python (LGPLv3)."))
        licence.setObjectName("hint")
        licence.setWordWrap(True)
        layout.addWidget(licence)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton(icon("copy"), self.tr("Copy details"))
        self.copy_button.setToolTip(self.tr("Copy the versions and folders, for a support request"))
        self.copy_button.clicked.connect(self.copy_details)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _fact(self, form: QFormLayout, name: str, value: str) -> None:
        label = PlainLabel(value)  # paths and names come from the file system and manifests
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setWordWrap(True)
        form.addRow(name, label)
        self.facts[name] = value

    def details(self) -> str:
        return "\n".join(f"{name}: {value}" for name, value in self.facts.items())

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details())
