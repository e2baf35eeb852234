"""The main window's part of the model library: the model picker in the model bar, the Models window, and the
download, import, check and removal flows (each runs on the library thread; see app.ui.library_controller).

A mixin of MainWindow, kept apart so that the window's file stays about the chat. It uses the window's
`_library`, `_models`, `settings`, `status`, `first_run`, `model_bar`, `_load` and `_show_busy`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMainWindow, QMessageBox

from app.model_folder import NotAModelFolder, classify_model_folder
from app.ui.file_dialogs import choose_folder
from app.ui.safe_text import ask_yes_no


class WindowLibrary(QMainWindow):
    """Library flows of the main window (mixed into MainWindow)."""

    library_window = None

    def _library_entries(self) -> list:
        from app.library.errors import LibraryError

        if self._library is None:
            return []
        try:
            return self._library.entries()
        except LibraryError as exc:
            self.status.showMessage(str(exc), 15000)
            return []

    def _refresh_library(self) -> None:
        entries = self._library_entries()
        info = self._models.info()
        current = Path(info.path).resolve() if info else None
        picker = self.model_picker
        picker.blockSignals(True)
        picker.clear()
        picker.addItem(self.tr("Models…"), None)
        for entry in entries:
            if entry.kind in ("package", "genai"):
                picker.addItem(entry.name, entry.folder)
                if current is not None and Path(entry.folder).resolve() == current:
                    picker.setCurrentIndex(picker.count() - 1)
        if info is not None and picker.currentIndex() == 0:  # a model opened from outside the library
            picker.addItem(info.name, info.path)
            picker.setCurrentIndex(picker.count() - 1)
        picker.blockSignals(False)
        if self.library_window is not None:
            self.library_window.set_entries(entries)

    def _on_model_picked(self, index: int) -> None:
        folder = self.model_picker.itemData(index)
        if folder is None:
            self.show_library()
            return
        info = self._models.info()
        if info is None or Path(folder).resolve() != Path(info.path).resolve():
            self._load(folder)

    def show_library(self) -> None:
        if self.library_window is None:
            from app.model_catalog import load_catalog
            from app.ui.widgets.qt_library import QtLibrary

            catalog = [(m.id, f"{m.name} ({m.checkpoint_bytes / 1e9:.1f} GB)") for m in load_catalog()]
            self.library_window = w = QtLibrary(catalog, self)
            w.openRequested.connect(self.open_model_folder)
            w.verifyRequested.connect(lambda name: self._library and self._library.verify(name))
            w.removeRequested.connect(self.remove_model)
            w.revealRequested.connect(lambda folder: QDesktopServices.openUrl(QUrl.fromLocalFile(folder)))
            w.downloadRequested.connect(self.download_model)
            w.importRequested.connect(lambda: self.import_model_folder())
            w.cancelRequested.connect(self._on_cancel)
            w.set_downloads_allowed(self.policy.downloads_allowed)
        self._refresh_library()
        self.library_window.show()
        self.library_window.raise_()

    def _recommended_target(self, checkpoint_bytes: int) -> str:
        import onnxruntime as ort
        import psutil

        from app.model_folder import recommend_target

        return recommend_target(ort.get_available_providers(), psutil.virtual_memory().total, checkpoint_bytes)

    def download_model(self, ref: str) -> None:
        """Downloads a model once (a catalog id or a Hub repo), checks every file, converts it for this computer,
        then opens it: the one thing in the window that goes online, and only when the user asks."""
        from app.library.credentials import load_token
        from app.library.download import parse_model_ref
        from app.library.errors import LibraryError
        from app.library.hub import resolve_access

        if self._library is None:
            return
        try:
            access = resolve_access(self.settings.hub_endpoint, self.settings.hub_proxy, load_token())
            repo, model = parse_model_ref(ref)
        except LibraryError as exc:
            self._on_job_failed(str(exc))
            return
        target = self._recommended_target(model.checkpoint_bytes if model else 0)
        label = self.tr("Downloading {name}").format(name=model.name if model else repo)
        if self._library.download(ref, access, target, label):
            self._show_busy(None, label, cancellable=True)

    def import_model_folder(self, folder: str | None = None, mode: str | None = None) -> None:
        """Adds a folder from a USB drive or a share: checked, copied in (or used in place), converted when it is
        a checkpoint, then opened."""
        if self._library is None:
            return
        if folder is None:
            folder = choose_folder(self, self.tr("Import model folder"), str(Path.home()))
            if not folder:
                return
        try:
            model_folder = classify_model_folder(Path(folder))
        except NotAModelFolder as exc:
            self._report_open_failure(str(exc))
            return
        mode = mode or self.choose_import_mode(model_folder.path)
        if mode is None:
            return
        target = None
        if model_folder.needs_export:
            target = self._recommended_target(sum(p.stat().st_size for p in model_folder.path.glob("*.safetensors")))
        if self._library.import_folder(model_folder.path, copy=mode == "copy", target=target):
            self._show_busy(None, self.tr("Importing {name}").format(name=model_folder.path.name), cancellable=True)

    def remove_model(self, name: str) -> None:
        from app.library.errors import LibraryError

        if self._library is None:
            return
        entry = next((e for e in self._library_entries() if e.name == name), None)
        if entry is None:
            self._on_job_failed(self.tr("There is no model named “{name}” in the library.").format(name=name))
            return
        info = self._models.info()
        if info is not None and Path(entry.folder).resolve() == Path(info.path).resolve():
            self._on_job_failed(self.tr("{name} is the model in use; open another model before removing it.").format(
                name=name))
            return
        what = (self.tr("Its folder stays where it is.") if entry.in_place else
                self.tr("This deletes {folder} and frees {size} GB.").format(
                    folder=entry.folder, size=f"{entry.size_bytes / 1e9:.2f}"))
        if self.confirm(self.tr("Remove model?"), self.tr("Remove {name} from the library? {what}").format(
                name=name, what=what)):
            try:
                self._library.remove(name)
            except LibraryError as exc:
                self._on_job_failed(str(exc))

    def _on_job_progress(self, progress) -> None:
        self._show_busy(progress.fraction, progress.describe(), cancellable=True)

    def _on_job_finished(self, label: str, result) -> None:
        from app.library.library import Removed

        self.first_run.hide_progress()
        self._refresh_library()
        if isinstance(result, Removed):
            text = (self.tr("Removed {name}; {size} GB freed.").format(
                        name=result.entry.name, size=f"{result.freed_bytes / 1e9:.2f}") if result.freed_bytes
                    else self.tr("Removed {name}; its folder was left where it is.").format(name=result.entry.name))
        else:
            text = self.tr("{job}: done, checked against {source}.").format(job=label, source=result.verified_against)
        self.status.showMessage(text, 15000)
        self.model_bar.show_model(self._models.info())
        if self.library_window is not None:
            self.library_window.finish_job(text)
            self.library_window.select(getattr(result, "name", ""))
        if not isinstance(result, Removed) and result.kind in ("package", "genai") and not self._library.checking():
            self._load(result.folder)

    def _on_job_failed(self, message: str) -> None:
        """A failed download, import, check or removal: said where the user is; the model in use stays."""
        self.first_run.hide_progress()
        self.first_run.show_message(message, error=True)
        self.status.showMessage(message, 15000)
        self.model_bar.show_model(self._models.info())
        if self.library_window is not None:
            self.library_window.finish_job(message, error=True)
        self._refresh_library()

    def _confirm(self, title: str, text: str) -> bool:
        return ask_yes_no(self, title, text)

    def _choose_import_mode(self, folder: Path) -> str | None:
        box = QMessageBox(self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # the folder's name comes from outside
        box.setWindowTitle(self.tr("Import model"))
        box.setText(self.tr("Copy {folder} into the library (it keeps working when the drive is removed), or use "
                            "it where it is?").format(folder=folder))
        copy = box.addButton(self.tr("Copy into the library"), QMessageBox.ButtonRole.AcceptRole)
        in_place = box.addButton(self.tr("Use in place"), QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        box.deleteLater()
        return "copy" if clicked is copy else "in-place" if clicked is in_place else None
