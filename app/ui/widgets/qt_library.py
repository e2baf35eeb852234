"""The library window: every installed model with its source, revision, size, target, check and last use;
Open, Verify, Remove (with the space it frees) and Show in folder, plus Download and Import."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDialog, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.ui.safe_text import plain_tooltip
from app.ui.widgets.managed import MANAGED
from app.ui.widgets.qt_progress import show_fraction

COLUMNS = ("Name", "Kind", "Source and revision", "Size", "Target", "Checked", "Last used")


def entry_cells(entry) -> tuple[str, ...]:
    revision = f" @ {entry.revision[:12]}" if entry.revision else ""
    where = " (used in place)" if entry.in_place else ""
    checked = {"verified": "Verified", "failed": "FAILED", "unchecked": "Not checked"}.get(entry.verified,
                                                                                         entry.verified)
    return (entry.name, entry.kind + where, entry.source + revision, f"{entry.size_bytes / 1e9:.2f} GB",
            entry.target or "", checked, (entry.last_used_utc or "never").replace("T", " ").rstrip("Z"))


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
        self.setWindowTitle("Models")
        self.resize(900, 420)
        self.entries: list = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _i: self._open())
        self.open_button = QPushButton("Open")
        self.verify_button = QPushButton("Verify")
        self.remove_button = QPushButton("Remove…")
        self.reveal_button = QPushButton("Show in folder")
        self.open_button.clicked.connect(self._open)
        self.verify_button.clicked.connect(lambda: self._selected() and self.verifyRequested.emit(self._selected().name))
        self.remove_button.clicked.connect(lambda: self._selected() and self.removeRequested.emit(self._selected().name))
        self.reveal_button.clicked.connect(lambda: self._selected() and self.revealRequested.emit(self._selected().folder))
        self.catalog_choice = QComboBox()
        for model_id, label in catalog:
            self.catalog_choice.addItem(label, model_id)
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(lambda: self.downloadRequested.emit(self.catalog_choice.currentData()))
        self.import_button = QPushButton("Import folder…")
        self.import_button.clicked.connect(self.importRequested)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # file names and messages come from outside

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
        self.download_button.setText("Download" if allowed else f"Download ({MANAGED.lower()})")
        tip = "" if allowed else f"{MANAGED}: its policy does not allow downloading models"
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
        self.status.setStyleSheet("")
        self.status.setText(text)
        self._update_buttons()

    def finish_job(self, text: str = "", *, error: bool = False) -> None:
        self._busy = False
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.status.setStyleSheet("color: #d93025;" if error else "")
        self.status.setText(text)
        self._update_buttons()
