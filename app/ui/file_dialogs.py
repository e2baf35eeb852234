"""File dialogs that leave no trace of which folders the user opened documents from.

Qt's QFileDialog saves its browsing history and the last folder visited into the shared `QtProject` settings
(`~/.config/QtProject.conf` on Linux, the registry on Windows, a plist on macOS) whenever a dialog is destroyed:
attach `~/Cases/Smith divorce/budget.docx` and that folder name sits there in plaintext. The platforms' native
dialogs are worse for us: they add the folder to the OS's own recent lists (Windows' common-dialog MRU, GTK's
recently-used.xbel, macOS recent places), which no application can take back. So Enclave uses Qt's own dialog,
and before it is destroyed points its history and current folder at a neutral place (the user's home), so only
that is written; then the values other Qt applications had there are put back exactly.
"""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

_GROUP = "FileDialog"
_TRACES = ("history", "lastVisited")


def choose_files(parent: QWidget | None, title: str, start: str, name_filter: str = "") -> list[str]:
    dialog = _dialog(parent, title, start, name_filter)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
    return _run(dialog)


def choose_file(parent: QWidget | None, title: str, start: str, name_filter: str = "") -> str:
    dialog = _dialog(parent, title, start, name_filter)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    chosen = _run(dialog)
    return chosen[0] if chosen else ""


def choose_folder(parent: QWidget | None, title: str, start: str) -> str:
    dialog = _dialog(parent, title, start, "")
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    chosen = _run(dialog)
    return chosen[0] if chosen else ""


def choose_save_path(parent: QWidget | None, title: str, start: str, name_filter: str) -> str:
    dialog = _dialog(parent, title, start, name_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    chosen = _run(dialog)
    return chosen[0] if chosen else ""


def _dialog(parent: QWidget | None, title: str, start: str, name_filter: str) -> QFileDialog:
    dialog = QFileDialog(parent, title, start, name_filter)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)  # see the module docstring
    dialog.setObjectName("enclaveFileDialog")
    return dialog


def _run(dialog: QFileDialog) -> list[str]:
    before = _read_traces()
    try:
        accepted = dialog.exec() == QFileDialog.DialogCode.Accepted
        chosen = list(dialog.selectedFiles()) if accepted else []
        neutral = str(Path.home())
        dialog.setHistory([])
        dialog.setDirectory(neutral)  # also Qt's "last visited" folder, which the destructor saves
    finally:
        shiboken6.delete(dialog)  # the destructor writes the settings: let it happen now, then undo it
        _restore_traces(before)
    return chosen


def _read_traces() -> dict[str, object]:
    settings = QSettings(QSettings.Scope.UserScope, "QtProject")
    settings.beginGroup(_GROUP)
    return {key: settings.value(key) for key in _TRACES if settings.contains(key)}


def _restore_traces(before: dict[str, object]) -> None:
    settings = QSettings(QSettings.Scope.UserScope, "QtProject")
    settings.beginGroup(_GROUP)
    for key in _TRACES:
        if key in before:
            settings.setValue(key, before[key])
        else:
            settings.remove(key)
    settings.endGroup()
    settings.sync()
