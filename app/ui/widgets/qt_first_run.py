"""What a user sees before any model is open: what Enclave is, and the one thing to do next (download a model once,
or import or open the folder IT gave them)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.ui.i18n import translate
from app.ui.icons import icon
from app.ui.safe_text import PlainLabel
from app.ui.theme import set_style_state
from app.ui.widgets.qt_progress import show_fraction

TEXT_WIDTH = 580


def first_run_text() -> str:
    return translate(
        "FirstRun",
        "Enclave runs OpenAI's gpt-oss models entirely on this computer. Nothing you type or attach leaves it.\n\n"
        "To start, get a model once: download it (the only time Enclave goes online, and only when you press "
        "Download), or import the folder your IT department gave you (for example on a USB drive): an Enclave "
        "package, an onnxruntime-genai model folder, or the gpt-oss-20b / gpt-oss-120b checkpoint from Hugging "
        "Face. Every file is checked, and a Hugging Face checkpoint is converted once for this computer's hardware.")


def catalog_summary() -> str:
    """The supported models, from models/catalog.json: what to get and what it needs (rich text, escaped)."""
    from app.model_catalog import load_catalog

    rows = []
    for model in load_catalog():
        gb = model.checkpoint_bytes / 1e9
        cpu = next((t for t in model.targets if t.target == "cpu-int4"), None)
        gpu = next((t for t in model.targets if t.target == "cuda"), None)
        needs = []
        if gpu:
            needs.append(translate("FirstRun", "a GPU with {size} GB of its own memory").format(
                size=f"{gpu.min_memory_gb:.0f}"))
        if cpu and cpu.min_memory_gb_prepacked is not None and cpu.min_memory_gb_prepacked < cpu.min_memory_gb:
            needs.append(translate("FirstRun", "{size} GB of RAM on a computer without one ({copied} GB once Enclave "
                                               "has prepared a memory-mapped copy, which takes another {disk} GB of "
                                               "disk)").format(
                size=f"{cpu.min_memory_gb:.0f}", copied=f"{cpu.min_memory_gb_prepacked:.0f}",
                disk=f"{cpu.prepacked_copy_gb_estimate:.0f}"))
        elif cpu:
            needs.append(translate("FirstRun", "{size} GB of RAM on a computer without one").format(
                size=f"{cpu.min_memory_gb:.0f}"))
        name, repo, license_ = (html.escape(str(v)) for v in (model.name, model.hub_repo, model.license))
        rows.append(translate("FirstRun", "<b>{name}</b> ({repo}, {license}): {size} GB to download; needs "
                              "{needs}.").format(name=name, repo=repo, license=license_, size=f"{gb:.1f}",
                                                 needs=html.escape(translate("FirstRun", ", or ").join(needs))))
    return html.escape(translate("FirstRun", "Supported models:")) + "<br>" + "<br>".join(rows)


class QtFirstRun(QWidget):
    openRequested = Signal()
    cancelRequested = Signal()
    downloadRequested = Signal(str)  # catalog id
    importRequested = Signal()
    prepareRequested = Signal()  # make the prepacked copy of the package that was refused for memory

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRun")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        outer = QVBoxLayout(self)  # a centred column of fixed width: wrapped labels get the height they need
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        column = QWidget()
        column.setFixedWidth(TEXT_WIDTH)
        row.addWidget(column)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(1)
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        title = PlainLabel(self.tr("Welcome to Enclave"))
        title.setObjectName("firstRunTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        text = PlainLabel(first_run_text())
        text.setObjectName("firstRunText")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(text)
        self.catalog = QLabel(catalog_summary())  # rich text built from escaped catalog fields
        self.catalog.setObjectName("catalog")
        self.catalog.setWordWrap(True)
        self.catalog.setTextFormat(Qt.TextFormat.RichText)
        layout.addSpacing(6)
        layout.addWidget(self.catalog)
        layout.addSpacing(6)
        from app.model_catalog import load_catalog

        self.download_buttons: dict[str, QPushButton] = {}
        downloads = QHBoxLayout()
        downloads.addStretch(1)
        for index, model in enumerate(load_catalog()):
            button = QPushButton(icon("download", "on_accent" if index == 0 else "text"), self.tr(
                "Download {name} ({size} GB)").format(name=model.name, size=f"{model.checkpoint_bytes / 1e9:.1f}"))
            if index == 0:
                button.setObjectName("primaryButton")  # the model most computers run
            button.clicked.connect(lambda _c=False, model_id=model.id: self.downloadRequested.emit(model_id))
            self.download_buttons[model.id] = button
            downloads.addWidget(button)
        downloads.addStretch(1)
        layout.addLayout(downloads)
        others = QHBoxLayout()
        others.addStretch(1)
        self.import_button = QPushButton(icon("box"), self.tr("Import model folder…"))
        self.import_button.setToolTip(self.tr("Copy a model folder (for example from a USB drive) into Enclave's "
                                              "library, checked file by file"))
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.importRequested)
        others.addWidget(self.import_button)
        self.open_button = QPushButton(icon("folder"), self.tr("Open model folder…"))
        self.open_button.setToolTip(self.tr("Use a model folder where it is, without copying it"))
        self.open_button.clicked.connect(self.openRequested)
        others.addWidget(self.open_button)
        others.addStretch(1)
        layout.addLayout(others)
        self.status = PlainLabel("")  # shows error texts that quote folder and file names
        self.status.setObjectName("firstRunStatus")
        self.status.setWordWrap(True)
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.status)
        self.prepare_button = QPushButton(self.tr("Prepare a memory-mapped copy"))
        self.prepare_button.setToolTip(self.tr("Saves this model's prepacked weights for this computer, so that "
                                               "they are read from disk instead of copied into memory"))
        self.prepare_button.setVisible(False)
        self.prepare_button.clicked.connect(self.prepareRequested)
        layout.addWidget(self.prepare_button, 0, Qt.AlignmentFlag.AlignCenter)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(420)
        self.progress.setMinimumWidth(320)
        self.progress.setAccessibleName(self.tr("Progress"))
        self.progress.setVisible(False)
        layout.addWidget(self.progress, 0, Qt.AlignmentFlag.AlignCenter)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignCenter)

    def show_message(self, text: str, *, error: bool = False, offer_prepare: bool = False) -> None:
        """`text` below the actions; `offer_prepare`: with the button that makes a prepacked copy."""
        self.status.setText(text)
        self._set_error(error)
        self.prepare_button.setVisible(offer_prepare)

    def show_progress(self, fraction: float | None, message: str, *, cancellable: bool) -> None:
        show_fraction(self.progress, fraction)
        self._set_error(False)
        self.status.setText(message)
        self.cancel_button.setVisible(cancellable)
        self.prepare_button.setVisible(False)
        self._enable_actions(False)

    def hide_progress(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._enable_actions(True)

    def _enable_actions(self, enabled: bool) -> None:
        for button in (self.open_button, self.import_button, *self.download_buttons.values()):
            button.setEnabled(enabled)

    def _set_error(self, error: bool) -> None:
        set_style_state(self.status, "error" if error else "")
