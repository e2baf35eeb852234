"""Help > Open data folder shows where this window keeps its history, and the app carries its own icon."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication

from tests.ui.scripted_backend import ScriptedBackend, opener


class _FileManager(QObject):
    """Stands in for the desktop's file manager: Qt hands it the URLs that openUrl would open."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[QUrl] = []

    @Slot(QUrl)
    def show(self, url: QUrl) -> None:
        self.opened.append(url)


def test_menu_item_opens_the_folder_of_the_history_in_use(qtbot, make_app, tmp_path: Path) -> None:
    database = tmp_path / "profile" / "history.db"
    database.parent.mkdir()
    parts = make_app(opener(ScriptedBackend([], ["ok"])), database=database)
    window = parts.window
    assert window.data_folder_action in window.menuBar().actions()[-1].menu().actions()
    assert str(database.parent) in window.data_folder_action.statusTip()
    manager = _FileManager()
    QDesktopServices.setUrlHandler("file", manager, "show")
    try:
        window.data_folder_action.trigger()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [Path(url.toLocalFile()) for url in manager.opened] == [database.parent]


def test_app_has_the_enclave_icon_and_desktop_file_name(qtbot, make_app) -> None:
    make_app(opener(ScriptedBackend([], ["ok"])))
    app = QApplication.instance()
    assert app.desktopFileName() == "enclave"
    assert not app.windowIcon().isNull()
    assert app.windowIcon().availableSizes()[0].width() == 256
