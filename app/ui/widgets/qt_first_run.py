"""What a user sees before any model is open: what Enclave is, and the one thing to do next."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.ui.safe_text import PlainLabel
from app.ui.widgets.qt_progress import show_fraction

FIRST_RUN_TEXT = (
    "Enclave runs OpenAI's gpt-oss models entirely on this computer. Nothing you type or attach leaves it.\n\n"
    "To start, get a model once: download it (the only time Enclave goes online, and only when you press "
    "Download), or import the folder your IT department gave you (for example on a USB drive): an Enclave "
    "package, an onnxruntime-genai model folder, or the gpt-oss-20b / gpt-oss-120b checkpoint from Hugging Face. "
    "Every file is checked, and a Hugging Face checkpoint is converted once for this computer's hardware."
)


def catalog_summary() -> str:
    """The supported models, from models/catalog.json: what to get and what it needs."""
    from app.model_catalog import load_catalog

    rows = []
    for model in load_catalog():
        gb = model.checkpoint_bytes / 1e9
        cpu = next((t for t in model.targets if t.target == "cpu-int4"), None)
        gpu = next((t for t in model.targets if t.target == "cuda"), None)
        needs = []
        if gpu:
            needs.append(f"a GPU with {gpu.min_memory_gb:.0f} GB")
        if cpu:
            needs.append(f"{cpu.min_memory_gb:.0f} GB of RAM without one")
        name, repo, license_ = (html.escape(str(v)) for v in (model.name, model.hub_repo, model.license))
        rows.append(f"<b>{name}</b> ({repo}, {license_}): {gb:.1f} GB to download; "
                    f"runs on {' or '.join(needs)}.")
    return "Supported models:<br>" + "<br>".join(rows)


class QtFirstRun(QWidget):
    openRequested = Signal()
    cancelRequested = Signal()
    downloadRequested = Signal(str)  # catalog id
    importRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = PlainLabel("Welcome to Enclave")
        title.setObjectName("firstRunTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        text = PlainLabel(FIRST_RUN_TEXT)
        text.setWordWrap(True)
        text.setFixedWidth(560)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(text, 0, Qt.AlignmentFlag.AlignCenter)
        self.catalog = QLabel(catalog_summary())  # rich text built from escaped catalog fields
        self.catalog.setWordWrap(True)
        self.catalog.setFixedWidth(560)
        self.catalog.setTextFormat(Qt.TextFormat.RichText)
        layout.addSpacing(10)
        layout.addWidget(self.catalog, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addSpacing(10)
        from app.model_catalog import load_catalog

        self.download_buttons: dict[str, QPushButton] = {}
        downloads = QHBoxLayout()
        for model in load_catalog():
            button = QPushButton(f"Download {model.name} ({model.checkpoint_bytes / 1e9:.1f} GB)")
            button.clicked.connect(lambda _c=False, model_id=model.id: self.downloadRequested.emit(model_id))
            self.download_buttons[model.id] = button
            downloads.addWidget(button)
        layout.addLayout(downloads)
        others = QHBoxLayout()
        self.import_button = QPushButton("Import model folder…")
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.importRequested)
        others.addWidget(self.import_button)
        self.open_button = QPushButton("Open model folder…")
        self.open_button.clicked.connect(self.openRequested)
        others.addWidget(self.open_button)
        layout.addLayout(others)
        self.status = PlainLabel("")  # shows error texts that quote folder and file names
        self.status.setWordWrap(True)
        self.status.setFixedWidth(560)
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.status, 0, Qt.AlignmentFlag.AlignCenter)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(420)
        self.progress.setVisible(False)
        layout.addWidget(self.progress, 0, Qt.AlignmentFlag.AlignCenter)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignCenter)

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #d93025;" if error else "")

    def show_progress(self, fraction: float | None, message: str, *, cancellable: bool) -> None:
        show_fraction(self.progress, fraction)
        self.status.setStyleSheet("")
        self.status.setText(message)
        self.cancel_button.setVisible(cancellable)
        self._enable_actions(False)

    def hide_progress(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._enable_actions(True)

    def _enable_actions(self, enabled: bool) -> None:
        for button in (self.open_button, self.import_button, *self.download_buttons.values()):
            button.setEnabled(enabled)
