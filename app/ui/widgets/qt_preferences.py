"""Preferences: appearance and language, new chats' defaults, how models are opened, document limits, where model
downloads come from (a Hub mirror, a proxy), and where Enclave keeps its data (with buttons that open those
folders). What the organisation's policy sets is shown locked.

The dialog edits a copy; `result_preferences()` hands the window the values to apply and save on OK.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton,
    QSpinBox, QStackedWidget, QVBoxLayout, QWidget,
)

from app.documents.model import DocumentLimits
from app.engine.chat_request import ChatSettings
from app.storage.settings import CONTEXT_LENGTH_BOUND, CPU_THREADS_BOUND, EngineSettings
from app.ui.i18n import LANGUAGES
from app.ui.theme import SPACE
from app.ui.widgets.qt_chat_settings import ChatSettingsForm
from app.ui.widgets.managed import managed_text

_MB = 1024 * 1024
CONTEXT_CHOICES = (4096, 8192, 16384, 32768, 65536, 131072)


@dataclass(frozen=True)
class Preferences:
    """What the dialog edits."""

    theme: str
    language: str
    new_chat: ChatSettings
    engine: EngineSettings
    document_limits: DocumentLimits
    hub_endpoint: str = ""
    hub_proxy: str = ""


@dataclass(frozen=True)
class DataFolders:
    """Where Enclave keeps things on this computer (shown, with an Open button each)."""

    history: Path
    models: Path
    settings: Path


def _spin(low: int, high: int, value: int, suffix: str, tip: str, name: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setSuffix(suffix)
    box.setToolTip(tip)
    box.setAccessibleName(name)
    return box


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionHeading")
    return label


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    return label


class QtPreferences(QDialog):
    def __init__(self, current: Preferences, folders: DataFolders, parent: QWidget | None = None,
                 cpu_count: int | None = None, managed: dict[str, str] | None = None) -> None:
        """`managed`: the settings the organisation's policy sets ("hub_endpoint", "proxy",
        "max_document_size_mb"), with their values."""
        super().__init__(parent)
        self.setWindowTitle(self.tr("Preferences"))
        self.setMinimumSize(720, 520)
        self._current = current
        self.managed = managed or {}
        self._folders = folders
        self._cpu_count = cpu_count or os.cpu_count() or 1
        outer = QVBoxLayout(self)
        body = QHBoxLayout()
        self.pages_list = QListWidget()
        self.pages_list.setObjectName("preferencePages")
        self.pages_list.setFixedWidth(170)
        self.pages_list.setAccessibleName(self.tr("Preference pages"))
        self.pages = QStackedWidget()
        body.addWidget(self.pages_list)
        body.addWidget(self.pages, 1)
        outer.addLayout(body, 1)
        for title, page in ((self.tr("General"), self._general_page()),
                            (self.tr("New chats"), self._new_chat_page()),
                            (self.tr("Model"), self._model_page()),
                            (self.tr("Documents"), self._documents_page()),
                            (self.tr("Downloads"), self._downloads_page()),
                            (self.tr("Data"), self._data_page())):
            self.pages_list.addItem(title)
            self.pages.addWidget(page)
        self.pages_list.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.pages_list.setCurrentRow(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._restore_defaults)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).setToolTip(
            self.tr("Set every preference on every page back to its default"))
        self.buttons = buttons
        outer.addWidget(buttons)
        self._show(current)

    # --- pages ----------------------------------------------------------------------------------------------
    def _page(self, heading: str, hint: str = "") -> tuple[QWidget, QVBoxLayout]:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(SPACE["lg"], 0, 0, 0)
        layout.setSpacing(SPACE["md"])
        layout.addWidget(_heading(heading))
        if hint:
            layout.addWidget(_hint(hint))
        return page, layout

    def _general_page(self) -> QWidget:
        page, layout = self._page(self.tr("General"))
        form = QFormLayout()
        self.theme = QComboBox()
        for value, label in (("system", self.tr("Same as the system")), ("light", self.tr("Light")),
                             ("dark", self.tr("Dark"))):
            self.theme.addItem(label, value)
        self.theme.setAccessibleName(self.tr("Theme"))
        form.addRow(self.tr("Theme"), self.theme)
        self.language = QComboBox()
        self.language.addItem(self.tr("Same as the system"), "")
        for code, name in LANGUAGES:
            self.language.addItem(name, code)
        self.language.setAccessibleName(self.tr("Language"))
        form.addRow(self.tr("Language"), self.language)
        layout.addLayout(form)
        layout.addWidget(_hint(self.tr("A new language applies the next time Enclave starts.")))
        layout.addStretch(1)
        return page

    def _new_chat_page(self) -> QWidget:
        page, layout = self._page(self.tr("New chats"), self.tr("What a new chat starts with. Each chat keeps its "
                                                                 "own copy, changed in its Chat settings panel."))
        self.new_chat = ChatSettingsForm(with_effort=True)
        layout.addWidget(self.new_chat)
        layout.addStretch(1)
        return page

    def _model_page(self) -> QWidget:
        page, layout = self._page(self.tr("Model"), self.tr("These apply the next time a model is opened."))
        form = QFormLayout()
        self.context_length = QComboBox()
        self.context_length.addItem(self.tr("Automatic (32,768 on a CPU, 8,192 on a GPU)"), None)
        for length in CONTEXT_CHOICES:
            self.context_length.addItem(self.tr("{count} tokens").format(count=f"{length:,}"), length)
        self.context_length.setToolTip(self.tr("How much text (chat and documents) the model sees at once. More "
                                               "needs more memory; a package's own limit still applies."))
        self.context_length.setAccessibleName(self.tr("Context length"))
        form.addRow(self.tr("Context length"), self.context_length)
        self.cpu_threads = QSpinBox()
        self.cpu_threads.setRange(0, max(CPU_THREADS_BOUND.low, min(int(CPU_THREADS_BOUND.high), self._cpu_count)))
        self.cpu_threads.setSpecialValueText(self.tr("Automatic ({count})").format(count=max(1, self._cpu_count - 1)))
        self.cpu_threads.setToolTip(self.tr("Threads ONNX Runtime uses on the CPU. Automatic leaves one core to the "
                                            "window so it stays smooth while a reply streams."))
        self.cpu_threads.setAccessibleName(self.tr("CPU threads"))
        form.addRow(self.tr("CPU threads"), self.cpu_threads)
        layout.addLayout(form)
        layout.addStretch(1)
        return page

    def _documents_page(self) -> QWidget:
        page, layout = self._page(self.tr("Documents"), self.tr(
            "Attached documents are read in a separate, limited process. Larger limits let bigger files in; "
            "smaller ones protect a low-memory laptop from hostile or broken files."))
        limits = self._current.document_limits
        form = QFormLayout()
        self.max_file_mb = _spin(1, 4096, max(1, limits.max_file_bytes // _MB), self.tr(" MB"),
                                 self.tr("Largest file Enclave reads"), self.tr("Largest document"))
        self.max_pages = _spin(1, 100000, limits.max_pages, self.tr(" pages"),
                               self.tr("Most pages, slides or sheets per document"), self.tr("Most pages"))
        self.timeout_s = _spin(5, 3600, int(limits.timeout_s), self.tr(" s"), self.tr("Longest time to read one document"),
                               self.tr("Time per document"))
        self.memory_mb = _spin(128, 65536, limits.memory_mb, self.tr(" MB"), self.tr("Most memory the reading process may use"),
                               self.tr("Memory for reading"))
        self._managed_max_file = "max_document_size_mb" in self.managed  # the policy's MaxDocumentSizeMB
        largest = self.tr("Largest document")
        if self._managed_max_file:
            self.max_file_mb.setEnabled(False)
            self.max_file_mb.setToolTip(managed_text())
            self.max_file_mb.setAccessibleDescription(managed_text())
            largest = self.tr("{setting} (managed by your organization)").format(setting=largest)
        form.addRow(largest, self.max_file_mb)
        form.addRow(self.tr("Most pages"), self.max_pages)
        form.addRow(self.tr("Time per document"), self.timeout_s)
        form.addRow(self.tr("Memory for reading"), self.memory_mb)
        layout.addLayout(form)
        layout.addStretch(1)
        return page

    def _downloads_page(self) -> QWidget:
        page, layout = self._page(self.tr("Downloads"), self.tr(
            "Model downloads are the only time Enclave goes online, when you press Download. Empty fields use "
            "HF_ENDPOINT and HTTPS_PROXY, else huggingface.co directly."))
        self.hub_endpoint = QLineEdit(self.managed.get("hub_endpoint", self._current.hub_endpoint))
        self.hub_endpoint.setPlaceholderText("https://artifactory.example.com/api/huggingfaceml/huggingface")  # not translated: an example address
        self.hub_endpoint.setAccessibleName(self.tr("Hub mirror"))
        self.hub_proxy = QLineEdit(self.managed.get("proxy", self._current.hub_proxy))
        self.hub_proxy.setPlaceholderText("http://proxy.example.com:3128")  # not translated: an example address
        self.hub_proxy.setAccessibleName(self.tr("Proxy"))
        form = QFormLayout()
        for label, edit, key in ((self.tr("Hub mirror"), self.hub_endpoint, "hub_endpoint"),
                                 (self.tr("Proxy"), self.hub_proxy, "proxy")):
            if key in self.managed:
                edit.setReadOnly(True)
                edit.setToolTip(managed_text())
                edit.setAccessibleDescription(managed_text())
                label = self.tr("{setting} (managed by your organization)").format(setting=label)
            form.addRow(label, edit)
        layout.addLayout(form)
        layout.addStretch(1)
        return page

    def _data_page(self) -> QWidget:
        page, layout = self._page(self.tr("Data"), self.tr(
            "Everything Enclave keeps stays on this computer. Conversations and attached documents are encrypted."))
        self.folder_fields: dict[str, QLineEdit] = {}
        self.open_buttons: dict[str, QPushButton] = {}
        for key, label, path in (("history", self.tr("Conversations"), self._folders.history),
                                 ("models", self.tr("Models"), self._folders.models),
                                 ("settings", self.tr("Settings"), self._folders.settings)):
            layout.addWidget(QLabel(label))
            row = QHBoxLayout()
            shown = QLineEdit(str(path))
            shown.setReadOnly(True)
            shown.setAccessibleName(self.tr("{what} folder").format(what=label))
            button = QPushButton(self.tr("Open"))
            button.setAccessibleName(self.tr("Open the {what} folder").format(what=label.lower()))
            button.clicked.connect(lambda _checked=False, p=path: self.open_folder(p))
            row.addWidget(shown, 1)
            row.addWidget(button)
            layout.addLayout(row)
            self.folder_fields[key], self.open_buttons[key] = shown, button
        layout.addStretch(1)
        return page

    # --- values ---------------------------------------------------------------------------------------------
    def _show(self, prefs: Preferences) -> None:
        self.theme.setCurrentIndex(max(0, self.theme.findData(prefs.theme)))
        self.language.setCurrentIndex(max(0, self.language.findData(prefs.language)))
        self.new_chat.set_values(prefs.new_chat)
        index = self.context_length.findData(prefs.engine.context_length)
        if index < 0 and prefs.engine.context_length is not None:  # a value set in the file by hand
            self.context_length.addItem(self.tr("{count} tokens").format(count=f"{prefs.engine.context_length:,}"),
                                        prefs.engine.context_length)
            index = self.context_length.count() - 1
        self.context_length.setCurrentIndex(max(0, index))
        self.cpu_threads.setValue(prefs.engine.cpu_threads or 0)
        limits = prefs.document_limits
        self.max_file_mb.setValue(max(1, limits.max_file_bytes // _MB))
        self.max_pages.setValue(limits.max_pages)
        self.timeout_s.setValue(int(limits.timeout_s))
        self.memory_mb.setValue(limits.memory_mb)

    def result_preferences(self) -> Preferences:
        length = self.context_length.currentData()
        engine = EngineSettings(context_length=length if CONTEXT_LENGTH_BOUND.contains(length) else None,
                                cpu_threads=self.cpu_threads.value() or None)
        return Preferences(theme=self.theme.currentData(), language=self.language.currentData(),
                           new_chat=self.new_chat.settings(), engine=engine, document_limits=self.limits(),
                           hub_endpoint=self.hub_endpoint.text().strip(), hub_proxy=self.hub_proxy.text().strip())

    def limits(self) -> DocumentLimits:
        return replace(self._current.document_limits, max_file_bytes=self.max_file_mb.value() * _MB,
                       max_pages=self.max_pages.value(), timeout_s=float(self.timeout_s.value()),
                       memory_mb=self.memory_mb.value())

    def _restore_defaults(self) -> None:
        defaults = DocumentLimits()
        if self._managed_max_file:  # the organisation's value stays
            defaults = replace(defaults, max_file_bytes=self._current.document_limits.max_file_bytes)
        self._show(Preferences(theme="system", language="", new_chat=ChatSettings(), engine=EngineSettings(),
                               document_limits=defaults))
        for edit, key in ((self.hub_endpoint, "hub_endpoint"), (self.hub_proxy, "proxy")):
            if key not in self.managed:
                edit.clear()

    def open_folder(self, path: Path) -> bool:
        path.mkdir(parents=True, exist_ok=True)
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def select_page(dialog: QtPreferences, index: int) -> None:
    dialog.pages_list.setCurrentRow(index)
    dialog.pages.currentWidget().setFocus(Qt.FocusReason.OtherFocusReason)
