"""Preferences that apply to the whole app: the safety limits for reading attached documents, and where model
downloads come from (a Hub mirror, a proxy). What the organisation's policy sets is shown locked."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget,
)

from app.documents.model import DocumentLimits
from app.ui.widgets.managed import MANAGED

_MB = 1024 * 1024


def _spin(low: int, high: int, value: int, suffix: str, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setSuffix(suffix)
    box.setToolTip(tip)
    return box


class QtPreferences(QDialog):
    def __init__(self, limits: DocumentLimits, parent: QWidget | None = None, *, hub_endpoint: str = "",
                 hub_proxy: str = "", managed: dict[str, str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self._limits = limits
        layout = QVBoxLayout(self)
        note = QLabel("Attached documents are read in a separate, limited process. Larger limits let bigger "
                      "files in; smaller ones protect a low-memory laptop from hostile or broken files.")
        note.setWordWrap(True)
        layout.addWidget(note)
        form = QFormLayout()
        self.max_file_mb = _spin(1, 4096, max(1, limits.max_file_bytes // _MB), " MB", "Largest file Enclave reads")
        self.max_pages = _spin(1, 100000, limits.max_pages, " pages", "Most pages, slides or sheets per document")
        self.timeout_s = _spin(5, 3600, int(limits.timeout_s), " s", "Longest time to read one document")
        self.memory_mb = _spin(128, 65536, limits.memory_mb, " MB", "Most memory the reading process may use")
        managed = managed or {}
        self._managed_max_file = "max_document_size_mb" in managed  # the policy's MaxDocumentSizeMB
        if self._managed_max_file:
            self.max_file_mb.setEnabled(False)
            self.max_file_mb.setToolTip(MANAGED)
        form.addRow(f"Largest document ({MANAGED.lower()})" if self._managed_max_file else "Largest document",
                    self.max_file_mb)
        form.addRow("Most pages", self.max_pages)
        form.addRow("Time per document", self.timeout_s)
        form.addRow("Memory for reading", self.memory_mb)
        layout.addLayout(form)
        downloads = QLabel("Model downloads (the only time Enclave goes online, when you press Download). Empty "
                           "fields use HF_ENDPOINT and HTTPS_PROXY, else huggingface.co directly.")
        downloads.setWordWrap(True)
        layout.addWidget(downloads)
        self.hub_endpoint = QLineEdit(managed.get("hub_endpoint", hub_endpoint))
        self.hub_endpoint.setPlaceholderText("https://artifactory.example.com/api/huggingfaceml/huggingface")
        self.hub_proxy = QLineEdit(managed.get("proxy", hub_proxy))
        self.hub_proxy.setPlaceholderText("http://proxy.example.com:3128")
        hub_form = QFormLayout()
        for label, edit, key in (("Hub mirror", self.hub_endpoint, "hub_endpoint"), ("Proxy", self.hub_proxy, "proxy")):
            if key in managed:
                edit.setReadOnly(True)
                edit.setToolTip(MANAGED)
                label = f"{label} ({MANAGED.lower()})"
            hub_form.addRow(label, edit)
        layout.addLayout(hub_form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._restore_defaults)
        layout.addWidget(buttons)

    def limits(self) -> DocumentLimits:
        return replace(self._limits, max_file_bytes=self.max_file_mb.value() * _MB, max_pages=self.max_pages.value(),
                       timeout_s=float(self.timeout_s.value()), memory_mb=self.memory_mb.value())

    def _restore_defaults(self) -> None:
        d = DocumentLimits()
        if not self._managed_max_file:
            self.max_file_mb.setValue(d.max_file_bytes // _MB)
        self.max_pages.setValue(d.max_pages)
        self.timeout_s.setValue(int(d.timeout_s))
        self.memory_mb.setValue(d.memory_mb)
