"""The main window: conversation list | chat (or the first-run screen) | chat settings, plus menus and status.

All state lives in the controllers (the model, the history, the conversations, the replies, the attachments);
this class only connects widgets to them, in one place (`_connect`), asks them through their methods, and
updates widgets in `_on_*` methods.
"""

from __future__ import annotations

import json
from dataclasses import replace
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction, QActionGroup, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication, QComboBox, QDialog, QInputDialog, QMainWindow, QMessageBox, QSplitter, QStackedWidget,
    QVBoxLayout, QWidget,
)

from app.documents.model import DocumentLimits
from app.engine.chat_request import ChatSettings
from app.engine.events import LoadProgress, ModelInfo
from app.remote.endpoint import REMOTE_TARGET
from app.model_folder import NotAModelFolder, classify_model_folder
from app.policy import Policy, current_policy
from app.storage.database import default_database_path
from app.storage.settings import AppSettings, SettingsError, document_limits_in_force, retention_in_force
from app.ui.safe_text import ask_yes_no, show_message
from app.ui.attachments import AttachmentsController
from app.ui.conversations import ConversationsController
from app.ui.file_dialogs import choose_files, choose_folder, choose_save_path
from app.ui.history_lifecycle import HistoryLifecycle
from app.ui.history_opener import HistoryOpener
from app.ui.library_controller import LibraryController
from app.ui.network_indicator import NetworkIndicator
from app.ui.model_controller import ModelController
from app.ui.replies import RepliesController
from app.ui.server_controller import ServerController, ServerState
from app.ui.theme import ThemeChoice, apply_theme
from app.ui.widgets.qt_chat_settings import QtChatSettings
from app.ui.widgets.qt_chat_view import QtChatView
from app.ui.widgets.qt_composer import QtComposer
from app.ui.widgets.qt_conversation_list import QtConversationList
from app.ui.widgets.qt_first_run import QtFirstRun
from app.ui.widgets.qt_history_settings import QtHistorySettings
from app.ui.widgets.qt_passage import QtPassageDialog
from app.ui.widgets.qt_passphrase import QtPassphraseDialog
from app.ui.widgets.qt_preferences import QtPreferences
from app.ui.widgets.qt_remote_dialog import QtRemoteDialog, RemoteChoice
from app.ui.widgets.qt_server_dialog import QtServerDialog
from app.ui.widgets.qt_status import QtStatus


class MainWindow(QMainWindow):
    openFailed = Signal(str)  # a folder could not be opened at all (not a model, a checkpoint not converted, ...)

    def __init__(self, *, models: ModelController, opener: HistoryOpener, conversations: ConversationsController,
                 replies: RepliesController, attachments: AttachmentsController, settings: AppSettings, dark: bool,
                 lifecycle: HistoryLifecycle, policy: Policy | None = None, export_planner=None,
                 library: LibraryController | None = None,
                 on_close: Callable[[], None] | None = None, server: ServerController | None = None) -> None:
        super().__init__()
        self._models = models
        self._library = library
        self.library_window = None
        # Questions the library flows ask; tests replace them (they are modal dialogs).
        self.confirm: Callable[[str, str], bool] = self._confirm
        self.choose_import_mode: Callable[[Path], str | None] = self._choose_import_mode
        self._opener = opener
        self._lifecycle = lifecycle
        self.policy = policy or current_policy()
        self._history_locked = False
        self._choosing_passphrase = False  # what the passphrase prompt asks for: a new one (twice) or the one
        self.passphrase_dialog: QtPassphraseDialog | None = None  # reachable while open (tests drive it)
        self.history_dialog: QtHistorySettings | None = None
        self._conversations = conversations
        self._replies = replies
        self._attachments = attachments
        self._server = server
        self.server_dialog: QtServerDialog | None = None
        self.settings = settings
        self._export_planner = export_planner  # (ModelFolder, parent) -> ExportRequest | Path | None, asks the user
        self._on_close = on_close  # the composition root stops the workers and joins their threads
        self._loading_path = ""
        self._history_failed: Callable[[str], None] = self._show_history_failure
        self._ask_passphrase: Callable[[str], str | None] = self._passphrase_dialog
        self._ask_export_path: Callable[[str], str | None] = self._export_dialog
        self._ask_remote: Callable[[list[str], dict[str, str]], RemoteChoice | None] = self._remote_dialog
        self.setWindowTitle("Enclave")
        self.resize(1200, 800)

        self.conversation_list = QtConversationList()
        self.chat_view = QtChatView(dark=dark)
        self.composer = QtComposer()
        self.first_run = QtFirstRun()
        self.chat_settings = QtChatSettings()
        self.status = QtStatus()
        self.setStatusBar(self.status)
        self.model_picker = QComboBox()
        self.model_picker.setToolTip("Switch to another installed model")
        self.model_picker.setMinimumContentsLength(18)
        self.model_picker.activated.connect(self._on_model_picked)
        self.status.addPermanentWidget(self.model_picker)

        chat_page = QWidget()
        chat_layout = QVBoxLayout(chat_page)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.addWidget(self.chat_view, 1)
        chat_layout.addWidget(self.composer)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.first_run)
        self.pages.addWidget(chat_page)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.conversation_list)
        self.splitter.addWidget(self.pages)
        self.splitter.addWidget(self.chat_settings)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([240, 700, 260])
        self.chat_settings.setVisible(False)
        self.setCentralWidget(self.splitter)
        self.setAcceptDrops(True)
        self.conversation_list.set_export_allowed(self.policy.chat_export_allowed)
        self.network = NetworkIndicator(self)
        self.status.show_network(self.network.current())
        self._build_menus()
        self._connect()
        self._warm_up_text_rendering(dark)
        self._refresh_library()
        self.status.show_policy_problems(self.policy.problems)  # applied at its strictest, and never silently
        self._on_settings_loaded(conversations.settings())
        self.composer.set_can_send(False, "Open a model first")

    # ================================================================== construction
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open model folder…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.choose_model_folder)
        file_menu.addAction(self.open_action)
        self.models_action = QAction("&Models…", self, shortcut="Ctrl+M")
        self.models_action.triggered.connect(self.show_library)
        file_menu.addAction(self.models_action)
        import_action = QAction("&Import model folder…", self)
        import_action.triggered.connect(lambda: self.import_model_folder())
        file_menu.addAction(import_action)
        self.remote_action = QAction("Connect to a &remote engine…", self)
        self.remote_action.triggered.connect(self.choose_remote_engine)
        file_menu.addAction(self.remote_action)
        self.new_action = QAction("&New chat", self, shortcut=QKeySequence.StandardKey.New)
        self.new_action.triggered.connect(self._on_new_chat)
        file_menu.addAction(self.new_action)
        prefs_action = QAction("&Preferences…", self, shortcut=QKeySequence.StandardKey.Preferences)
        prefs_action.triggered.connect(self.edit_preferences)
        file_menu.addAction(prefs_action)
        self.history_action = QAction("&History settings…", self)
        self.history_action.triggered.connect(self.edit_history_settings)
        file_menu.addAction(self.history_action)
        self.unlock_action = QAction("&Unlock history…", self)
        self.unlock_action.triggered.connect(self.unlock_history)
        self.unlock_action.setVisible(False)
        file_menu.addAction(self.unlock_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        view_menu = self.menuBar().addMenu("&View")
        self.settings_action = QAction("Chat &settings", self, checkable=True, shortcut="Ctrl+,")
        self.settings_action.toggled.connect(self.chat_settings.setVisible)
        view_menu.addAction(self.settings_action)
        theme_menu = view_menu.addMenu("&Theme")
        group = QActionGroup(self)
        for choice in ThemeChoice:
            action = QAction(choice.value.capitalize(), self, checkable=True)
            action.setChecked(choice.value == self.settings.theme)
            action.triggered.connect(lambda _c=False, ch=choice: self._on_theme(ch))
            group.addAction(action)
            theme_menu.addAction(action)
        search_action = QAction("Search conversations", self, shortcut=QKeySequence.StandardKey.Find)
        search_action.triggered.connect(lambda: self.conversation_list.search.setFocus())
        self.addAction(search_action)
        stop_action = QAction("Stop", self, shortcut=Qt.Key.Key_Escape)
        stop_action.triggered.connect(self._replies.stop)
        self.addAction(stop_action)
        if self._server is not None:
            server_menu = self.menuBar().addMenu("&Server")
            self.server_action = QAction("&Serve the API on 127.0.0.1", self, checkable=True)
            self.server_action.setEnabled(self._server.allowed())
            if not self._server.allowed():
                self.server_action.setToolTip("Managed by your organization")
            self.server_action.toggled.connect(self.switch_server)
            server_menu.addAction(self.server_action)
            details = QAction("API &address and token…", self)
            details.triggered.connect(self.show_server_dialog)
            server_menu.addAction(details)
        help_menu = self.menuBar().addMenu("&Help")
        self.data_folder_action = QAction("Open &data folder", self)
        self.data_folder_action.triggered.connect(self.open_data_folder)
        help_menu.addAction(self.data_folder_action)
        self.set_data_folder(default_database_path().parent)
        about = QAction("&About Enclave", self)
        about.triggered.connect(self._on_about)
        help_menu.addAction(about)

    def set_data_folder(self, folder: Path) -> None:
        """The folder that Help > Open data folder shows: where this window's history (and models) live."""
        self.data_folder = Path(folder)
        self.data_folder_action.setStatusTip(f"Conversations and models are kept in {self.data_folder}")

    def open_data_folder(self) -> None:
        """Shows the data folder in the file manager; where none can be started, names it in a message."""
        self.data_folder.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.data_folder))):
            show_message(self, QMessageBox.Icon.Information, "Data folder",
                         f"Enclave keeps your conversations and models in\n{self.data_folder}")

    def _connect(self) -> None:
        models, conversations, replies, attachments = (self._models, self._conversations, self._replies,
                                                       self._attachments)
        # widgets -> controllers
        self.conversation_list.newRequested.connect(self._on_new_chat)
        self.conversation_list.selected.connect(conversations.select)
        self.conversation_list.renameRequested.connect(conversations.rename)
        self.conversation_list.deleteRequested.connect(conversations.delete)
        self.conversation_list.exportRequested.connect(conversations.export)
        self.conversation_list.searchChanged.connect(conversations.search)
        self.composer.sendRequested.connect(replies.send)
        self.composer.stopRequested.connect(replies.stop)
        self.composer.reasoningChanged.connect(lambda _e: self._push_chat_settings())
        self.chat_settings.changed.connect(self._push_chat_settings)
        self.chat_view.regenerateRequested.connect(replies.regenerate)
        self.chat_view.editRequested.connect(self._on_edit_requested)
        self.chat_view.citationActivated.connect(self._on_citation)
        self.composer.attachRequested.connect(self._on_attach)
        self.composer.chips.removeRequested.connect(attachments.remove)
        attachments.changed.connect(self._on_attachments_changed)
        self.first_run.openRequested.connect(self.choose_model_folder)
        self.first_run.cancelRequested.connect(self._on_cancel)
        self.first_run.downloadRequested.connect(self.download_model)
        self.first_run.importRequested.connect(lambda: self.import_model_folder())
        # controllers -> widgets
        conversations.conversationsChanged.connect(self.conversation_list.set_conversations)
        conversations.messagesReset.connect(self.chat_view.set_messages)
        conversations.messageAppended.connect(self.chat_view.append_message)
        conversations.messageChanged.connect(self.chat_view.mark_dirty)
        conversations.settingsLoaded.connect(self._on_settings_loaded)
        self._opener.opened.connect(self._on_history_ready)
        self._opener.locked.connect(self._on_history_locked)
        self._opener.failed.connect(lambda message: self._history_failed(message))
        self._lifecycle.done.connect(lambda text: self.status.showMessage(text, 10000))
        self._lifecycle.failed.connect(
            lambda text: show_message(self, QMessageBox.Icon.Warning, "Conversation history", text))
        self._lifecycle.retained.connect(self._on_retention_applied)
        self._lifecycle.deletedAll.connect(self._on_deleted_all)
        self.network.changed.connect(self.status.show_network)
        self.status.history_button.clicked.connect(self.unlock_history)
        self._opener.passphraseNeeded.connect(self._on_passphrase_needed)
        self._opener.wrongPassphrase.connect(self._on_wrong_passphrase)
        conversations.exported.connect(self._on_exported)
        replies.busyChanged.connect(self._on_busy)
        replies.replyFinished.connect(lambda _m: self.chat_view.flush())
        replies.statsChanged.connect(self._on_stats)
        models.loaded.connect(self._on_model_loaded)
        models.failed.connect(self._on_model_failed)
        models.refused.connect(self._on_model_refused)
        if self._library is not None:
            self._library.progress.connect(self._on_job_progress)
            self._library.finished.connect(self._on_job_finished)
            self._library.failed.connect(self._on_job_failed)
        models.progress.connect(self._on_progress)
        models.exported.connect(self._load)
        models.exportFailed.connect(self._on_export_failed)
        for notices in (conversations.notice, replies.notice):
            notices.connect(self.show_notice)
        if self._server is not None:
            self._server.stateChanged.connect(self._on_server_state)

    def _warm_up_text_rendering(self, dark: bool) -> None:
        """Lays out one throwaway message now: Qt's first rich-text layout loads fonts (~40 ms), which would
        otherwise stall the window at the first message the user sends."""
        from app.ui.chat_state import ChatMessage
        from app.ui.widgets.qt_message import QtMessage

        sample = QtMessage(ChatMessage(role="assistant", text="Warm-up **text** and `code`:\n\n```python\nx = 1\n```"),
                           dark=dark)
        sample.resize(600, 200)
        sample.body.document().setTextWidth(560)
        sample.body.document().size()
        sample.deleteLater()

    # ================================================================== model opening
    def choose_model_folder(self) -> None:
        start = self.settings.last_model or str(Path.home())
        folder = choose_folder(self, "Open model folder", start)
        if folder:
            self.open_model_folder(folder)

    def use_export_planner(self, planner) -> None:
        """(ModelFolder, parent) -> ExportRequest | Path | None; None: checkpoints are refused with a sentence."""
        self._export_planner = planner

    def open_model_folder(self, folder: str) -> None:
        try:
            model_folder = classify_model_folder(Path(folder))
        except NotAModelFolder as exc:
            self._report_open_failure(str(exc))
            return
        if model_folder.needs_export:
            request = self._export_planner(model_folder, self) if self._export_planner else None
            if request is None:
                from app.library.opening import checkpoint_sentence

                message = ("This checkpoint must be converted once before it can run. Open it again when you are "
                           "ready." if self._export_planner else checkpoint_sentence(model_folder.path))
                self._report_open_failure(message)
                return
            if isinstance(request, Path):  # converted before from this very content: open that package
                self._load(str(request))
                return
            self._show_busy(0.0, f"Converting the model for {request.target}…", cancellable=True)
            self._models.export(request)
            return
        self._load(str(model_folder.path))

    def _report_open_failure(self, message: str) -> None:
        self.first_run.show_message(message, error=True)
        if self.pages.currentIndex() == 1:
            self.status.showMessage(message, 15000)
        self.openFailed.emit(message)

    def _show_busy(self, fraction: float | None, text: str, *, cancellable: bool) -> None:
        """Progress on the first-run screen while no model is open; in the status bar (and the Models window)
        while one is, so the chats stay where they are."""
        if self._models.info() is None:
            self.pages.setCurrentIndex(0)
            self.first_run.show_progress(fraction, text, cancellable=cancellable)
        else:
            percent = f"{fraction * 100:.0f}% " if fraction is not None else ""
            self.status.showMessage(f"{percent}{text}")
        if self.library_window is not None and self._library is not None and self._library.busy():
            self.library_window.show_progress(fraction, text, cancellable=cancellable)

    def _load(self, path: str) -> None:
        self._show_busy(None, f"Loading {Path(path).name}…", cancellable=False)
        self.status.showMessage(f"Loading {path}…")
        self._loading_path = path
        self._models.load(path)

    def _on_cancel(self) -> None:
        self._models.cancel_export()
        if self._library is not None:
            self._library.cancel()

    def _on_export_failed(self, message: str) -> None:
        self.first_run.hide_progress()
        self.first_run.show_message(message, error=True)
        if self._models.info() is not None:  # the model in use stays; say what happened where the user is
            self.status.showMessage(message, 15000)

    def _on_progress(self, progress: LoadProgress) -> None:
        self._show_busy(progress.fraction, progress.message, cancellable=self._models.exporting())

    def _on_model_refused(self, message: str) -> None:
        """The folder failed its checks before anything was unloaded: the model in use (if any) stays."""
        self.first_run.hide_progress()
        self.first_run.show_message(message, error=True)
        self.status.showMessage(message, 15000)
        if self._models.info() is not None:
            self.pages.setCurrentIndex(1)
        self._refresh_library()
        self.openFailed.emit(message)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self._refresh_library()
        self.first_run.hide_progress()
        self.first_run.show_message("")
        self.status.show_model(info)
        self.status.showMessage(f"Loaded {info.name} in {info.load_seconds:.1f} s on {info.provider}", 8000)
        remote = info.target == REMOTE_TARGET
        self.composer.set_notice(f"{info.provider}: this conversation and the passages of attached documents are "
                                 "sent to that server and nowhere else." if remote else "")
        if not remote:  # a remote engine is never reopened by itself at the next start: reaching it is the user's act
            self.settings.last_model = self._loading_path or info.path
        self._save_settings()
        self.pages.setCurrentIndex(1)
        self.composer.set_can_send(True)
        self.composer.edit.setFocus()

    def _on_model_failed(self, message: str) -> None:
        self.composer.set_notice("")
        self.status.show_model(None)  # the previous model was closed before this one was tried
        self.composer.set_can_send(False, "Open a model first")
        self.pages.setCurrentIndex(0)
        self.first_run.hide_progress()
        self.first_run.show_message(message, error=True)
        self.status.showMessage(message, 15000)

    # ================================================================== the model library
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
        self.model_picker.blockSignals(True)
        self.model_picker.clear()
        self.model_picker.addItem("Models…", None)
        for entry in entries:
            if entry.kind in ("package", "genai"):
                self.model_picker.addItem(entry.name, entry.folder)
                if current is not None and Path(entry.folder).resolve() == current:
                    self.model_picker.setCurrentIndex(self.model_picker.count() - 1)
        self.model_picker.blockSignals(False)
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
        label = f"Downloading {model.name if model else repo}"
        if self._library.download(ref, access, target, label):
            self._show_busy(None, label, cancellable=True)

    def import_model_folder(self, folder: str | None = None, mode: str | None = None) -> None:
        """Adds a folder from a USB drive or a share: checked, copied in (or used in place), converted when it is
        a checkpoint, then opened."""
        if self._library is None:
            return
        if folder is None:
            folder = choose_folder(self, "Import model folder", str(Path.home()))
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
            self._show_busy(None, f"Importing {model_folder.path.name}", cancellable=True)

    def remove_model(self, name: str) -> None:
        from app.library.errors import LibraryError

        if self._library is None:
            return
        entry = next((e for e in self._library_entries() if e.name == name), None)
        if entry is None:
            self._on_job_failed(f"There is no model named {name!r} in the library.")
            return
        info = self._models.info()
        if info is not None and Path(entry.folder).resolve() == Path(info.path).resolve():
            self._on_job_failed(f"{name} is the model in use; open another model before removing it.")
            return
        what = ("Its folder stays where it is." if entry.in_place else
                f"This deletes {entry.folder} and frees {entry.size_bytes / 1e9:.2f} GB.")
        if self.confirm("Remove model?", f"Remove {name} from the library? {what}"):
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
            text = (f"Removed {result.entry.name}; {result.freed_bytes / 1e9:.2f} GB freed." if result.freed_bytes
                    else f"Removed {result.entry.name}; its folder was left where it is.")
        else:
            text = f"{label}: done, checked against {result.verified_against}."
        self.status.showMessage(text, 15000)
        if self.library_window is not None:
            self.library_window.finish_job(text)
            self.library_window.select(getattr(result, "name", ""))
        if not isinstance(result, Removed) and result.kind in ("package", "genai") and not label.startswith("Checking"):
            self._load(result.folder)

    def _on_job_failed(self, message: str) -> None:
        """A failed download, import, check or removal: said where the user is; the model in use stays."""
        self.first_run.hide_progress()
        self.first_run.show_message(message, error=True)
        self.status.showMessage(message, 15000)
        if self.library_window is not None:
            self.library_window.finish_job(message, error=True)
        self._refresh_library()

    def _confirm(self, title: str, text: str) -> bool:
        return ask_yes_no(self, title, text)

    def _choose_import_mode(self, folder: Path) -> str | None:
        box = QMessageBox(self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # the folder's name comes from outside
        box.setWindowTitle("Import model")
        box.setText(f"Copy {folder} into the library (it keeps working when the drive is removed), or use it "
                    "where it is?")
        copy = box.addButton("Copy into the library", QMessageBox.ButtonRole.AcceptRole)
        in_place = box.addButton("Use in place", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        box.deleteLater()
        return "copy" if clicked is copy else "in-place" if clicked is in_place else None

    # ================================================================== remote engine
    def choose_remote_engine(self) -> None:
        from app.policy import current_policy

        allowed = sorted(current_policy().allowed_remote_engines or ())
        choice = self._ask_remote(allowed, self.settings.remote_engine)
        if choice is not None:
            self.connect_remote(choice)

    def ask_remote_with(self, ask: Callable[[list[str], dict[str, str]], RemoteChoice | None]) -> None:
        """Asks for the remote engine with `ask(allowed, last)` instead of a modal dialog (headless runs)."""
        self._ask_remote = ask

    def _remote_dialog(self, allowed: list[str], last: dict[str, str]) -> RemoteChoice | None:
        dialog = QtRemoteDialog(allowed, last, self)
        try:
            return dialog.choice() if dialog.exec() == QtRemoteDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    def connect_remote(self, choice: RemoteChoice) -> bool:
        """Checks the choice (https, the policy, the CA bundle), keeps its token in the keyring, and opens it on the
        engine thread; a problem is one sentence in the first-run screen and the status bar."""
        from app.policy import current_policy
        from app.remote.assistant import RemoteAssistant
        from app.remote.endpoint import RemoteEndpoint, RemoteError
        from app.storage.secrets import SecretStoreError

        try:
            endpoint = RemoteEndpoint.parse(choice.url, model=choice.model, ca_bundle=choice.ca_bundle or None)
            endpoint.check_allowed(current_policy())
            token = choice.token or endpoint.stored_token()
            if choice.token and not endpoint.store_token(choice.token):
                self.status.showMessage("No OS keyring is available: the token is kept until Enclave closes.", 10000)
        except (RemoteError, SecretStoreError) as exc:
            self._report_open_failure(str(exc))  # nothing was tried: the model in use stays
            return False
        self.settings.remote_engine = {"url": endpoint.url, "model": endpoint.model or "",
                                       "ca_bundle": str(endpoint.ca_bundle or "")}
        self._show_busy(None, f"Connecting to {endpoint.host}…", cancellable=False)
        self._loading_path = ""
        self._models.open_backend(lambda progress: RemoteAssistant.connect(endpoint, token, progress=progress))
        return True

    # ================================================================== local API server
    def switch_server(self, on: bool) -> None:
        if self._server is None:
            return
        if on:
            self._server.start(self.settings.server_port)
        else:
            self._server.stop()

    def show_server_dialog(self) -> QtServerDialog | None:
        """The switch, address and token, in a window that stays open beside the chat."""
        server = self._server
        if server is None:
            return None
        if self.server_dialog is None:
            dialog = QtServerDialog(self)
            dialog.set_allowed(server.allowed())
            dialog.switched.connect(self._on_server_switched)
            dialog.renewRequested.connect(self._on_renew_token)
            self.server_dialog = dialog
        if server.allowed():
            self._show_token()
        self.server_dialog.show_state(server.state(), self.settings.server_port)
        self.server_dialog.show()
        return self.server_dialog

    def _on_server_switched(self, on: bool, port: int) -> None:
        if on and port != self.settings.server_port:
            self.settings.server_port = port
            self._save_settings()
        self.server_action.setChecked(on)  # the menu and the dialog are one switch
        if on != self._server.state().running:  # type: ignore[union-attr]
            self.switch_server(on)

    def _on_renew_token(self) -> None:
        if self._server is not None:
            self._server.renew_token()
            self._show_token()

    def _show_token(self) -> None:
        from app.storage.secrets import SecretStoreError

        try:
            token = self._server.token()  # type: ignore[union-attr]
        except SecretStoreError as exc:
            self.show_notice(str(exc))
            return
        if self.server_dialog is not None:
            self.server_dialog.set_token(token.value, token.describe())

    def _on_server_state(self, state: ServerState) -> None:
        self.server_action.blockSignals(True)
        self.server_action.setChecked(state.running)
        self.server_action.blockSignals(False)
        host = state.url.split("//", 1)[-1].removesuffix("/v1")
        self.status.show_server(f"API on {host}" if state.running else "",
                                f"OpenAI-compatible API at {state.url}; {state.requests} requests answered"
                                if state.running else "")
        if state.error:
            self.show_notice(state.error)
        if self.server_dialog is not None:
            self.server_dialog.show_state(state, self.settings.server_port)
            if state.running:
                self._show_token()

    # ================================================================== chat
    def _on_new_chat(self) -> None:
        self._conversations.new_conversation()
        self.composer.edit.setFocus()

    def _on_busy(self, busy: bool) -> None:
        self.composer.set_busy(busy)
        self.chat_view.set_busy(busy)

    def _on_edit_requested(self, index: int) -> None:
        message = self._conversations.message(index)
        if message is None:
            return
        text, ok = QInputDialog.getMultiLineText(self, "Edit message", "Edit and send again:", message.text)
        if ok and text.strip():
            self._replies.edit_and_resend(index, text.strip())

    def use_chat_settings(self, settings: ChatSettings) -> None:
        """Shows `settings` in the chat settings and the composer, and makes them the open chat's."""
        self._on_settings_loaded(settings)
        self._push_chat_settings()

    def _push_chat_settings(self) -> None:
        self._conversations.update_settings(self.chat_settings.settings(self.composer.reasoning_effort()))

    def _on_settings_loaded(self, settings: ChatSettings) -> None:
        self.chat_settings.set_values(settings)
        self.composer.set_reasoning_effort(settings.reasoning_effort)

    def _on_stats(self, tok_s, ttft, used: int) -> None:
        self.status.show_speed(tok_s, ttft)
        self.status.show_context_usage(used)

    def save_exports_with(self, ask: Callable[[str], str | None]) -> None:
        """Asks where to save an exported conversation with `ask(suffix)` instead of a dialog (headless runs)."""
        self._ask_export_path = ask

    def _export_dialog(self, suffix: str) -> str | None:
        filt = "Markdown (*.md)" if suffix == ".md" else "JSON (*.json)"
        path = choose_save_path(self, "Export conversation", str(Path.home() / f"chat{suffix}"), filt)
        return path or None

    def _on_exported(self, fmt: str, content: object) -> None:
        if not self.policy.chat_export_allowed:
            self.status.showMessage("Your organization does not allow exporting conversations.", 10000)
            return
        path = self._ask_export_path(".md" if fmt == "markdown" else ".json")
        if not path:
            return
        text = content if isinstance(content, str) else json.dumps(content, indent=2, ensure_ascii=False)
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            show_message(self, QMessageBox.Icon.Warning, "Export failed",
                         f"Could not write {path}: {exc.strerror or exc}")

    # ================================================================== documents
    def _on_attach(self) -> None:
        paths = choose_files(self, "Attach documents", str(Path.home()))
        if paths:
            self._attachments.add_files(paths)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self._attachments.add_files(paths)
            event.acceptProposedAction()

    def _on_attachments_changed(self, items: list) -> None:
        self.composer.chips.set_items(items)
        if self._models.info() is not None:
            reading = self._attachments.reading()
            self.composer.set_can_send(not reading, "Reading the attached documents…" if reading else "")

    def _on_citation(self, message_index: int, citation_index: int) -> None:
        message = self._conversations.message(message_index)
        if message is None or not 0 <= citation_index < len(message.citations):
            return
        citation = message.citations[citation_index]
        document = next((d for d in self._attachments.documents() if d.name == citation.file_name), None)
        if document is None:
            show_message(self, QMessageBox.Icon.Information, "Source not attached",
                         f"{citation.file_name} is no longer attached to this chat.")
            return
        dialog = QtPassageDialog(document, citation, self)
        dialog.exec()
        dialog.deleteLater()

    # ================================================================== history
    def _on_history_ready(self, warning: object) -> None:
        self._set_history_locked(False)
        if warning:
            self.status.showMessage(str(warning), 20000)
        self.apply_retention()

    def _on_history_locked(self, message: str) -> None:
        self._set_history_locked(True)
        self.status.showMessage(message, 20000)

    def _set_history_locked(self, locked: bool) -> None:
        self._history_locked = locked
        self.status.show_history_locked(locked)
        self.unlock_action.setVisible(locked)

    def unlock_history(self) -> None:
        """Asks for the passphrase again after the prompt was cancelled (the history stays locked until then)."""
        if self._replies.busy():
            self.status.showMessage("Wait until the reply has finished, then unlock the history.", 10000)
            return
        self._opener.open()

    def apply_retention(self) -> None:
        """Deletes conversations older than the retention in force (the organisation's, else the user's)."""
        days = retention_in_force(self.settings, self.policy)
        if days is not None and not self._history_locked:
            self._lifecycle.apply_retention(days)

    def _on_retention_applied(self, deleted: int) -> None:
        if deleted:
            self.status.showMessage(f"Deleted {deleted} conversation{'s' if deleted != 1 else ''} not used for "
                                    "longer than the retention period.", 10000)
            self._conversations.refresh()

    def edit_history_settings(self) -> None:
        if self._history_locked:
            self._show_history_settings(None)
        else:
            self._lifecycle.key_status(self._show_history_settings)

    def _show_history_settings(self, key_status: dict[str, object] | None) -> None:
        managed = self.policy.is_managed("history_retention_days")
        dialog = QtHistorySettings(self, retention_days=retention_in_force(self.settings, self.policy),
                                   retention_managed=managed, key_status=key_status)
        dialog.changePassphrase.connect(self._lifecycle.change_passphrase)
        dialog.usePassphrase.connect(self._lifecycle.use_passphrase)
        dialog.useKeyring.connect(self._lifecycle.use_keyring)
        dialog.deleteAll.connect(lambda: self.delete_all_history(dialog))
        self.history_dialog = dialog
        if dialog.exec() == QDialog.DialogCode.Accepted and not managed:
            self.settings.history_retention_days = dialog.retention()
            self._save_settings()
            self.apply_retention()
        self.history_dialog = None
        dialog.deleteLater()

    def delete_all_history(self, dialog: QDialog | None = None) -> None:
        """Deletes the history file and its key; a new, empty history is opened at once."""
        if self._replies.busy():
            self.status.showMessage("Wait until the reply has finished, then delete the history.", 10000)
            return
        if dialog is not None:
            dialog.reject()
        self._lifecycle.delete_all()

    def _on_deleted_all(self) -> None:
        self.status.showMessage("All conversations and their key were deleted.", 10000)
        self._opener.open()

    def report_history_failures(self, report: Callable[[str], None]) -> None:
        """Sends "the history could not be opened" to `report` instead of a modal dialog (headless runs)."""
        self._history_failed = report

    def _show_history_failure(self, message: str) -> None:
        show_message(self, QMessageBox.Icon.Critical, "Conversation history unavailable",
                     f"{message}\n\nThe file was not changed. Enclave keeps working, but this session's conversations "
                     "will not be kept after it closes.")

    def _on_wrong_passphrase(self, message: str) -> None:
        self._on_passphrase_needed(False, f"{message}\n\nTry again:")

    def _on_passphrase_needed(self, new_database: bool, prompt: str = "") -> None:
        prompt = prompt or ("No OS keyring is available. Choose a passphrase to encrypt your conversation history."
                            if new_database else "Enter the passphrase that protects your conversation history.")
        self._choosing_passphrase = new_database
        text = self._ask_passphrase(prompt)
        if text:
            self._opener.open(text)
        elif self._history_locked:
            self.status.showMessage("The history stays locked.", 10000)
        else:  # chat in a throwaway history meanwhile; "Unlock" asks again
            self._opener.use_temporary()

    def ask_passphrase_with(self, ask: Callable[[str], str | None]) -> None:
        """Asks for the history's passphrase with `ask(prompt)` instead of a modal dialog (headless runs)."""
        self._ask_passphrase = ask

    def _passphrase_dialog(self, prompt: str) -> str | None:
        """Once to unlock; to choose a new one, twice and with a strength message (see QtPassphraseDialog)."""
        dialog = QtPassphraseDialog(self, "History passphrase", prompt, choose=self._choosing_passphrase)
        self.passphrase_dialog = dialog
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        text = dialog.passphrase()
        self.passphrase_dialog = None
        dialog.deleteLater()
        return text if accepted and text else None

    # ================================================================== misc
    def _on_theme(self, choice: ThemeChoice) -> None:
        self.settings.theme = choice.value
        self._save_settings()
        dark = apply_theme(app_instance(), choice)
        self.chat_view.set_dark(dark)

    def edit_preferences(self) -> None:
        policy = self.policy
        downloads_managed = {key: str(getattr(policy, key)) for key in ("hub_endpoint", "proxy")
                             if policy.is_managed(key)}
        managed = dict(downloads_managed)
        if policy.is_managed("max_document_size_mb"):
            managed["max_document_size_mb"] = str(policy.max_document_size_mb)
        dialog = QtPreferences(document_limits_in_force(self.settings, policy), self,
                               hub_endpoint=self.settings.hub_endpoint, hub_proxy=self.settings.hub_proxy,
                               managed=managed)
        if dialog.exec() == QtPreferences.DialogCode.Accepted:
            self.apply_document_limits(dialog.limits())
            if not downloads_managed:
                self.apply_download_settings(dialog.hub_endpoint.text(), dialog.hub_proxy.text())
        dialog.deleteLater()

    def apply_download_settings(self, endpoint: str, proxy: str) -> bool:
        """A Hub mirror and a proxy for downloads; a value that is not a URL is refused with one sentence."""
        from app.library.errors import LibraryError
        from app.library.hub import resolve_access

        endpoint, proxy = endpoint.strip(), proxy.strip()
        try:
            resolve_access(endpoint or None, proxy or None, None)
        except LibraryError as exc:
            self.status.showMessage(f"{exc} The download settings were not changed.", 15000)
            return False
        self.settings.hub_endpoint, self.settings.hub_proxy = endpoint, proxy
        self._save_settings()
        return True

    def apply_document_limits(self, limits: DocumentLimits) -> None:
        if self.policy.is_managed("max_document_size_mb"):  # the user's own choice stays theirs, under the policy
            limits = replace(limits, max_file_bytes=self.settings.document_limits.max_file_bytes)
        self.settings.document_limits = limits
        self._attachments.set_limits(document_limits_in_force(self.settings, self.policy))
        self._save_settings()

    def show_notice(self, text: str) -> None:
        self.status.showMessage(text, 10000)

    def _save_settings(self) -> None:
        try:
            self.settings.save()
        except SettingsError as exc:
            self.status.showMessage(str(exc), 10000)

    def _on_about(self) -> None:
        from app import __version__

        QMessageBox.about(self, "About Enclave",
                          f"Enclave {__version__}\n\nRuns gpt-oss entirely on this computer. "
                          "No cloud, no account, no telemetry.")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.network.close()
        if self._on_close is not None:
            self._on_close()
        super().closeEvent(event)


def app_instance() -> QApplication:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return app
