"""The library window: every installed model with its source, revision, size, target, check and last use;
Open, Verify, Remove (with the space it frees) and Show in folder, plus Download and Import."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDialog, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.ui.i18n import translate
from app.ui.safe_text import PlainLabel, plain_tooltip
from app.ui.theme import SPACE, set_style_state
from app.ui.widgets.managed import managed_text
from app.ui.widgets.qt_progress import show_fraction


def columns() -> tuple[str, ...]:
    return tuple(translate("Library", name) for name in (
        QT_TRANSLATE_NOOP("Library", "Name"), QT_TRANSLATE_NOOP("Library", "Kind"),
        QT_TRANSLATE_NOOP("Library", "Source and revision"), QT_TRANSLATE_NOOP("Library", "Size"),
        QT_TRANSLATE_NOOP("Library", "Target"), QT_TRANSLATE_NOOP("Library", "Checked"),
        QT_TRANSLATE_NOOP("Library", "Last used")))


def entry_cells(entry) -> tuple[str, ...]:
    revision = f" @ {entry.revision[:12]}" if entry.revision else ""
    where = translate("Library", " (used in place)") if entry.in_place else ""
    checked = {"verified": translate("Library", "Verified"), "failed": translate("Library", "FAILED"),
               "unchecked": translate("Library", "Not checked")}.get(entry.verified, entry.verified)
    kinds = {"package": translate("Library", "package"), "checkpoint": translate("Library", "checkpoint"),
             "genai": translate("Library", "onnxruntime-genai folder")}
    last_used = (entry.last_used_utc or "").replace("T", " ").rstrip("Z") or translate("Library", "never")
    return (entry.name, kinds.get(entry.kind, entry.kind) + where, entry.source + revision,
            f"{entry.size_bytes / 1e9:.2f} GB", entry.target or "", checked, last_used)


class QtLibrary(QDialog):
    openRequested = Signal(str)  # folder
    verifyRequested = Signal(str)  # name
    removeRequested = Signal(str)  # name
    revealRequested = Signal(str)  # folder
    downloadRequested = Signal(str)  # catalog id
    importRequested = Signal()
    cancelRequested = Signal()

    def __init__(self, catalog: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models"))
        self.resize(900, 420)
        self.entries: list = []
        self.table = QTableWidget(0, len(columns()))
        self.table.setHorizontalHeaderLabels(columns())
        self.table.setAccessibleName(self.tr("Installed models"))
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _i: self._open())
        self.open_button = QPushButton(self.tr("Open"))
        self.open_button.setObjectName("primaryButton")
        self.verify_button = QPushButton(self.tr("Verify"))
        self.verify_button.setToolTip(self.tr("Check every file against its recorded size and SHA-256"))
        self.remove_button = QPushButton(self.tr("Remove…"))
        self.reveal_button = QPushButton(self.tr("Show in folder"))
        self.open_button.clicked.connect(self._open)
        self.verify_button.clicked.connect(lambda: self._selected() and self.verifyRequested.emit(self._selected().name))
        self.remove_button.clicked.connect(lambda: self._selected() and self.removeRequested.emit(self._selected().name))
        self.reveal_button.clicked.connect(lambda: self._selected() and self.revealRequested.emit(self._selected().folder))
        self.catalog_choice = QComboBox()
        for model_id, label in catalog:
            self.catalog_choice.addItem(label, model_id)
        self.catalog_choice.setAccessibleName(self.tr("Model to download"))
        self.download_button = QPushButton(self.tr("Download"))
        self.download_button.clicked.connect(lambda: self.downloadRequested.emit(self.catalog_choice.currentData()))
        self.import_button = QPushButton(self.tr("Import folder…"))
        self.import_button.clicked.connect(self.importRequested)
        self.progress = QProgressBar()
        self.progress.setAccessibleName(self.tr("Progress"))
        self.progress.setVisible(False)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.status = PlainLabel("")  # file names and messages come from outside
        self.status.setObjectName("libraryStatus")
        self.status.setWordWrap(True)

        actions = QHBoxLayout()
        for button in (self.open_button, self.verify_button, self.remove_button, self.reveal_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.catalog_choice)
        actions.addWidget(self.download_button)
        actions.addWidget(self.import_button)
        busy = QHBoxLayout()
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setSpacing(SPACE["sm"])
        title = QLabel(self.tr("Models on this computer"))
        title.setObjectName("sectionHeading")
        layout.addWidget(title)
        hint = QLabel(self.tr("Every model is checked file by file when it is added and before it is opened. "
                              "Downloads are the only time Enclave goes online."))
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addLayout(busy)
        layout.addWidget(self.status)
        self._busy = False
        self._downloads_allowed = True
        self._update_buttons()

    def set_downloads_allowed(self, allowed: bool) -> None:
        """The organisation's DownloadsAllowed: off locks Download (Import and everything else stay)."""
        self._downloads_allowed = allowed
        self.download_button.setText(self.tr("Download") if allowed
                                     else self.tr("Download (managed by your organization)"))
        tip = "" if allowed else self.tr("{managed}: its policy does not allow downloading models").format(
            managed=managed_text())
        for widget in (self.download_button, self.catalog_choice):
            widget.setToolTip(tip)
        self._update_buttons()

    def set_entries(self, entries: list) -> None:
        selected = self._selected().name if self._selected() else None
        self.entries = list(entries)
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            for column, text in enumerate(entry_cells(entry)):
                item = QTableWidgetItem(text)
                if column == 5 and entry.problem:
                    item.setToolTip(plain_tooltip(entry.problem))  # the sentence quotes file names
                self.table.setItem(row, column, item)
            if entry.name == selected:
                self.table.selectRow(row)
        self._update_buttons()

    def select(self, name: str) -> None:
        for row, entry in enumerate(self.entries):
            if entry.name == name:
                self.table.selectRow(row)

    def _selected(self):
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows and rows[0].row() < len(self.entries) else None

    def _open(self) -> None:
        entry = self._selected()
        if entry is not None:  # a checkpoint: the window opens its package, or offers to convert it
            self.openRequested.emit(entry.folder)

    def _update_buttons(self) -> None:
        has = self._selected() is not None
        for button in (self.open_button, self.verify_button, self.remove_button, self.reveal_button):
            button.setEnabled(has and not (self._busy and button is not self.reveal_button))
        can_download = self._downloads_allowed and not self._busy
        self.download_button.setEnabled(can_download and self.catalog_choice.count() > 0)
        self.catalog_choice.setEnabled(self._downloads_allowed)
        self.import_button.setEnabled(not self._busy)

    def show_progress(self, fraction: float | None, text: str, *, cancellable: bool) -> None:
        self._busy = True
        show_fraction(self.progress, fraction)
        self.cancel_button.setVisible(cancellable)
        self._set_error(False)
        self.status.setText(text)
        self._update_buttons()

    def finish_job(self, text: str = "", *, error: bool = False) -> None:
        self._busy = False
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._set_error(error)
        self.status.setText(text)
        self._update_buttons()

    def _set_error(self, error: bool) -> None:
        set_style_state(self.status, "error" if error else "")
