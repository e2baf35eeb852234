"""The main window: sidebar (conversations) | model bar, banner and chat (or the first-run screen) | chat settings,
plus menus and the status bar.

All state lives in the controllers (the model, the history, the conversations, the replies, the attachments);
this class only connects widgets to them, in one place (`_connect`), asks them through their methods, and
updates widgets in `_on_*` methods. Long-lived messages (a warning, an export's confirmation) go to the banner,
which wraps and stays; passing notes go to the status bar.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (QAction, QActionGroup, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent,
                           QKeySequence)
from PySide6.QtWidgets import (
    QApplication, QDialog, QMainWindow, QMessageBox, QSplitter, QStackedWidget,
    QVBoxLayout, QWidget,
)

from app.documents.model import DocumentLimits
from app.engine.chat_request import ChatSettings
from app.engine.events import LoadProgress, ModelInfo
from app.model_folder import NotAModelFolder, classify_model_folder
from app.policy import Policy, current_policy
from app.remote.endpoint import REMOTE_TARGET
from app.storage.database import default_database_path
from app.storage.settings import AppSettings, SettingsError, document_limits_in_force, retention_in_force
from app.ui.attachments import AttachmentsController
from app.ui.chat_state import ChatMessage
from app.ui.conversations import ConversationsController
from app.ui.file_dialogs import choose_files, choose_folder, choose_save_path
from app.ui.history_lifecycle import HistoryLifecycle
from app.ui.history_opener import HistoryOpener
from app.ui.i18n import counts, translate
from app.ui.icons import icon
from app.ui.library_controller import LibraryController
from app.ui.network_indicator import NetworkIndicator
from app.ui.model_controller import ModelController
from app.ui.replies import RepliesController
from app.ui.server_controller import ServerController
from app.ui.safe_text import show_message
from app.ui.theme import ThemeChoice, apply_theme
from app.ui.widgets.qt_about import QtAbout
from app.ui.widgets.qt_banner import QtBanner
from app.ui.widgets.qt_chat_settings import QtChatSettings
from app.ui.widgets.qt_chat_view import QtChatView
from app.ui.widgets.qt_composer import QtComposer
from app.ui.widgets.qt_conversation_list import QtConversationList
from app.ui.widgets.qt_first_run import QtFirstRun
from app.ui.widgets.qt_history_settings import QtHistorySettings
from app.ui.widgets.qt_model_bar import QtModelBar
from app.ui.widgets.qt_passage import QtPassageDialog
from app.ui.widgets.qt_passphrase import QtPassphraseDialog
from app.ui.widgets.qt_preferences import DataFolders, Preferences, QtPreferences
from app.ui.widgets.qt_status import QtStatus
from app.ui.window_library import WindowLibrary
from app.ui.window_server import WindowServer

_UNSAFE_IN_FILE_NAMES = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')


def export_file_name(title: str, suffix: str) -> str:
    """A file name for an exported conversation, from its title: characters no file system takes are dropped,
    and it is short enough for every one (Windows' 255, with room for the folder)."""
    name = " ".join(_UNSAFE_IN_FILE_NAMES.sub(" ", title).split()).strip(". ")[:80].rstrip(". ")
    return (name or translate("MainWindow", "Enclave chat")) + suffix


def context_in_use(messages: list[ChatMessage]) -> int | None:
    """Tokens the conversation held at its last reply (prompt + reply), or None when no reply recorded them."""
    for message in reversed(messages):
        if message.role == "assistant" and (message.stats.prompt_tokens or message.stats.new_tokens):
            return message.stats.prompt_tokens + message.stats.new_tokens
    return None


class MainWindow(WindowLibrary, WindowServer, QMainWindow):
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
        self.server_dialog = None
        self.settings = settings
        self._dark = dark
        self._export_planner = export_planner  # (ModelFolder, parent) -> ExportRequest | Path | None, asks the user
        self._on_close = on_close  # the composition root stops the workers and joins their threads
        self._loading_path = ""
        self._prepare_path: str | None = None  # the package a prepacked copy was offered for
        self._history_failed: Callable[[str], None] = self._show_history_failure
        self._ask_passphrase: Callable[[str], str | None] = self._passphrase_dialog
        self._ask_export_path: Callable[[Path], str | None] = self._export_dialog
        self._ask_remote = self._remote_dialog  # (allowed URLs, last choice) -> RemoteChoice | None
        self.setWindowTitle(self.tr("Enclave"))
        self.resize(1240, 820)

        self.conversation_list = QtConversationList()
        self.conversation_list.set_dark(dark)
        self.chat_view = QtChatView(dark=dark)
        self.composer = QtComposer()
        self.first_run = QtFirstRun()
        self.chat_settings = QtChatSettings()
        self.model_bar = QtModelBar()
        self.model_picker = self.model_bar.picker
        self.model_picker.activated.connect(self._on_model_picked)
        self.banner = QtBanner()
        self.status = QtStatus()
        self.setStatusBar(self.status)

        chat_page = QWidget()
        chat_page.setObjectName("chatPage")
        chat_layout = QVBoxLayout(chat_page)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.setSpacing(0)
        chat_layout.addWidget(self.chat_view, 1)
        chat_layout.addWidget(self.composer)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.first_run)
        self.pages.addWidget(chat_page)
        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(0, 0, 0, 0)
        main_layout.setSpacing(0)
        main_layout.addWidget(self.model_bar)
        main_layout.addWidget(self.banner)
        main_layout.addWidget(self.pages, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.conversation_list)
        self.splitter.addWidget(main)
        self.splitter.addWidget(self.chat_settings)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([270, 700, 300])
        self.conversation_list.setMinimumWidth(200)
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
        self.composer.set_can_send(False, self.tr("Open a model first"))
        self._show_panels()
        self.first_run.import_button.setFocus()  # what a first start is about (the chat takes focus once a model is)
        if settings.load_warning:
            self.banner.show_message(settings.load_warning)

    # ================================================================== construction
    def _action(self, text: str, slot: Callable[..., object], shortcut: QKeySequence | str | None = None,
                icon_name: str | None = None, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon_name is not None:
            action.setIcon(icon(icon_name))
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        self.open_action = self._action(self.tr("&Open model folder…"), self.choose_model_folder,
                                        QKeySequence.StandardKey.Open, "folder")
        self.models_action = self._action(self.tr("&Models…"), self.show_library, "Ctrl+M", "box")
        self.import_action = self._action(self.tr("&Import model folder…"), lambda: self.import_model_folder())
        self.remote_action = self._action(self.tr("Connect to a &remote engine…"), self.choose_remote_engine)
        self.new_action = self._action(self.tr("&New chat"), self._on_new_chat, QKeySequence.StandardKey.New, "plus")
        self.attach_action = self._action(self.tr("&Attach documents…"), self._on_attach, "Ctrl+Shift+A", "paperclip")
        self.export_md_action = self._action(self.tr("&Export chat as Markdown…"),
                                             lambda: self._export_current("markdown"), "Ctrl+Shift+E", "download")
        self.export_json_action = self._action(self.tr("Export chat as &JSON…"), lambda: self._export_current("json"))
        self.rename_action = self._action(self.tr("&Rename chat"), self._rename_current, "F2", "pencil")
        self.delete_action = self._action(self.tr("&Delete chat…"), self._delete_current, "Ctrl+Shift+Backspace",
                                          "trash")
        self.prefs_action = self._action(self.tr("&Preferences…"), self.edit_preferences, "Ctrl+,", "settings")
        self.prefs_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.history_action = self._action(self.tr("&History settings…"), self.edit_history_settings, None, "lock")
        self.unlock_action = self._action(self.tr("&Unlock history…"), self.unlock_history, None, "lock")
        self.unlock_action.setVisible(False)
        quit_action = self._action(self.tr("&Quit"), self.close, QKeySequence.StandardKey.Quit)
        for item in (self.open_action, self.models_action, self.import_action, self.remote_action, None,
                     self.new_action,
                     self.attach_action, None, self.rename_action,
                     self.export_md_action, self.export_json_action, self.delete_action, None, self.prefs_action,
                     self.history_action, self.unlock_action,
                     None, quit_action):
            file_menu.addSeparator() if item is None else file_menu.addAction(item)

        view_menu = self.menuBar().addMenu(self.tr("&View"))
        self.sidebar_action = self._action(self.tr("&Conversations"), self._on_sidebar_toggled, "Ctrl+B",
                                           "sidebar", checkable=True)
        self.settings_action = self._action(self.tr("Chat &settings"), self._on_chat_settings_toggled, "Ctrl+I",
                                            "sliders", checkable=True)
        view_menu.addAction(self.sidebar_action)
        view_menu.addAction(self.settings_action)
        theme_menu = view_menu.addMenu(self.tr("&Theme"))
        group = QActionGroup(self)
        names = {ThemeChoice.SYSTEM: self.tr("Same as the system"), ThemeChoice.LIGHT: self.tr("Light"),
                 ThemeChoice.DARK: self.tr("Dark")}
        self.theme_actions: dict[ThemeChoice, QAction] = {}
        for choice in ThemeChoice:
            action = QAction(names[choice], self, checkable=True)
            action.setChecked(choice.value == self.settings.theme)
            action.triggered.connect(lambda _c=False, ch=choice: self._on_theme(ch))
            group.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[choice] = action
        self.model_bar.sidebar_button.setDefaultAction(self.sidebar_action)
        self.model_bar.settings_button.setDefaultAction(self.settings_action)
        for button in (self.model_bar.sidebar_button, self.model_bar.settings_button):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.sidebar_action.setToolTip(self.tr("Show or hide the conversations (Ctrl+B)"))
        self.settings_action.setToolTip(self.tr("Show or hide this chat's settings (Ctrl+I)"))
        search_action = self._action(self.tr("Search conversations"), self._focus_search,
                                     QKeySequence.StandardKey.Find)
        self.addAction(search_action)
        focus_composer = self._action(self.tr("Write a message"), lambda: self.composer.edit.setFocus(), "Ctrl+L")
        self.addAction(focus_composer)
        stop_action = self._action(self.tr("Stop"), self._replies.stop, Qt.Key.Key_Escape)
        self.addAction(stop_action)
        self._build_server_menu()
        help_menu = self.menuBar().addMenu(self.tr("&Help"))
        self.data_folder_action = self._action(self.tr("Open &data folder"), self.open_data_folder, None, "folder")
        help_menu.addAction(self.data_folder_action)
        self.set_data_folder(default_database_path().parent)
        about = self._action(self.tr("&About Enclave"), self._on_about, None, "info")
        about.setMenuRole(QAction.MenuRole.AboutRole)
        help_menu.addAction(about)

    def set_data_folder(self, folder: Path) -> None:
        """The folder that Help > Open data folder shows: where this window's history (and models) live."""
        self.data_folder = Path(folder)
        self.data_folder_action.setStatusTip(self.tr("Conversations and models are kept in {folder}").format(
            folder=self.data_folder))

    def open_data_folder(self) -> None:
        """Shows the data folder in the file manager; where none can be started, names it in a message."""
        self.data_folder.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.data_folder))):
            self._message(QMessageBox.Icon.Information, self.tr("Data folder"),
                          self.tr("Enclave keeps your conversations and models in\n{folder}").format(
                              folder=self.data_folder))

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
        self.chat_settings.makeDefaultRequested.connect(self._make_chat_settings_default)
        self.chat_view.regenerateRequested.connect(replies.regenerate)
        self.chat_view.editSubmitted.connect(replies.edit_and_resend)
        self.chat_view.alternativeRequested.connect(replies.show_version)
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
        conversations.conversationsChanged.connect(lambda _c, _o: self._update_chat_actions())
        conversations.messagesReset.connect(self.chat_view.set_messages)
        conversations.messagesReset.connect(self._show_conversation_stats)
        conversations.messagesReset.connect(lambda _m: self._tab_order_later())
        conversations.messageAppended.connect(self.chat_view.append_message)
        conversations.messageAppended.connect(lambda _m: self._tab_order_later())
        attachments.changed.connect(lambda _items: self._tab_order_later())
        self.chat_view.editRequested.connect(lambda _i: self._tab_order_later())
        conversations.messageChanged.connect(self.chat_view.mark_dirty)
        conversations.settingsLoaded.connect(self._on_settings_loaded)
        self._opener.opened.connect(self._on_history_ready)
        self._opener.locked.connect(self._on_history_locked)
        self._opener.failed.connect(lambda message: self._history_failed(message))
        self._lifecycle.done.connect(lambda text: self.status.showMessage(text, 10000))
        self._lifecycle.failed.connect(
            lambda text: show_message(self, QMessageBox.Icon.Warning, self.tr("Conversation history"), text))
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
        models.prepareOffered.connect(self._on_prepare_offered)
        models.prepareCancelled.connect(self._on_prepare_cancelled)
        self.first_run.prepareRequested.connect(self._on_prepare)
        models.exportFailed.connect(self._on_export_failed)
        for notices in (conversations.notice, replies.notice):
            notices.connect(self.show_notice)
        if self._server is not None:
            self._server.stateChanged.connect(self._on_server_state)

    def _warm_up_text_rendering(self, dark: bool) -> None:
        """Lays out one throwaway message now: Qt's first rich-text layout loads fonts (~40 ms), which would
        otherwise stall the window at the first message the user sends."""
        from app.ui.widgets.qt_message import QtMessage

        sample = QtMessage(ChatMessage(role="assistant", text="Warm-up **text** and `code`:\n\n```python\nx = 1\n```"),
                           dark=dark)
        sample.resize(600, 200)
        sample.body.document().setTextWidth(560)
        sample.body.document().size()
        sample.deleteLater()

    # ================================================================== keyboard order
    def _tab_order_later(self) -> None:
        if not self._tab_order_pending:
            self._tab_order_pending = True
            QTimer.singleShot(0, self.update_tab_order)

    _tab_order_pending = False

    def update_tab_order(self) -> None:
        """Tab follows the reading order: sidebar, model bar, banner, the chat (messages as they stand), the
        composer (its documents first), the chat settings. Widgets made later (a new message, a document's chip)
        would otherwise come last, after the settings panel."""
        self._tab_order_pending = False
        regions = (self.conversation_list, self.model_bar, self.banner, self.first_run, self.chat_view, self.composer,
                   self.chat_settings)
        chain: list[QWidget] = []
        for region in regions:
            for widget in [region, *region.findChildren(QWidget)]:
                if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.focusProxy() is None \
                        and widget.window() is self:  # not a dialog, nor a widget on its way out
                    chain.append(widget)
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    # ================================================================== panels
    def _show_panels(self) -> None:
        """The sidebar and the chat settings as they were when Enclave last closed."""
        for action, visible in ((self.sidebar_action, self.settings.window.sidebar),
                                (self.settings_action, self.settings.window.chat_settings)):
            action.blockSignals(True)
            action.setChecked(visible)
            action.blockSignals(False)
        self.conversation_list.setVisible(self.settings.window.sidebar)
        self.chat_settings.setVisible(self.settings.window.chat_settings)

    def _on_sidebar_toggled(self, visible: bool) -> None:
        self.conversation_list.setVisible(visible)
        self.settings.window.sidebar = visible
        self._save_settings()

    def _on_chat_settings_toggled(self, visible: bool) -> None:
        self.chat_settings.setVisible(visible)
        self.settings.window.chat_settings = visible
        self._save_settings()

    def _focus_search(self) -> None:
        if not self.conversation_list.isVisible():
            self.sidebar_action.setChecked(True)
        self.conversation_list.search.setFocus()
        self.conversation_list.search.selectAll()

    # ================================================================== model opening
    def choose_model_folder(self) -> None:
        start = self.settings.last_model or str(Path.home())
        folder = choose_folder(self, self.tr("Open model folder"), start)
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

                message = (self.tr("This checkpoint must be converted once before it can run. Open it again when "
                                   "you are ready.") if self._export_planner else
                           checkpoint_sentence(model_folder.path))
                self._report_open_failure(message)
                return
            if isinstance(request, Path):  # converted before from this very content: open that package
                self._load(str(request))
                return
            self._show_busy(0.0, self.tr("Converting the model for {target}…").format(target=request.target),
                            cancellable=True)
            self._models.export(request)
            return
        self._load(str(model_folder.path))

    def _report_open_failure(self, message: str) -> None:
        self.first_run.show_message(message, error=True)
        if self.pages.currentIndex() == 1:
            self.status.showMessage(message, 15000)
        self.openFailed.emit(message)

    def _show_busy(self, fraction: float | None, text: str, *, cancellable: bool) -> None:
        """One text for the step in progress, wherever it shows: the first-run screen while no model is open (the
        chats stay where they are while one is), the model bar, the status bar and the Models window."""
        if self._models.info() is None:
            self.pages.setCurrentIndex(0)
            self.first_run.show_progress(fraction, text, cancellable=cancellable)
            self.status.showMessage(text)
        else:
            percent = f"{fraction * 100:.0f} % " if fraction is not None else ""
            self.status.showMessage(f"{percent}{text}")
        self.model_bar.show_loading(text)
        if self.library_window is not None and self._library is not None and self._library.busy():
            self.library_window.show_progress(fraction, text, cancellable=cancellable)

    def _load(self, path: str) -> None:
        self._loading_path = path
        self._show_busy(None, self.tr("Loading {name}…").format(name=Path(path).name), cancellable=False)
        self._models.load(path, self.settings.engine)

    def _on_cancel(self) -> None:
        self._models.cancel_export()
        self._models.cancel_prepare()
        if self._library is not None:
            self._library.cancel()

    def _on_export_failed(self, message: str) -> None:
        self.first_run.hide_progress()
        self.first_run.show_message(message, error=True)
        self.model_bar.show_model(self._models.info())
        if self._models.info() is not None:  # the model in use stays; say what happened where the user is
            self.status.showMessage(message, 15000)
        else:
            self.status.clearMessage()

    def _on_progress(self, progress: LoadProgress) -> None:
        self._show_busy(progress.fraction, progress.message,
                        cancellable=self._models.exporting() or self._models.preparing())

    def _on_model_refused(self, message: str) -> None:
        """The folder failed its checks before anything was unloaded: the model in use (if any) stays."""
        self.first_run.hide_progress()
        self.first_run.show_message(message, error=True)
        self.status.showMessage(message, 15000)
        self.model_bar.show_model(self._models.info())
        if self._models.info() is not None:
            self.pages.setCurrentIndex(1)
        self._refresh_library()
        self.openFailed.emit(message)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self._refresh_library()
        self.first_run.hide_progress()
        self.first_run.show_message("")
        self.model_bar.show_model(info)
        self.status.show_model(info)
        self.status.showMessage(self.tr("Loaded {name} in {seconds} s on {provider}").format(
            name=info.name, seconds=f"{info.load_seconds:.1f}", provider=info.provider.removesuffix(
                "ExecutionProvider")), 8000)
        remote = info.target == REMOTE_TARGET
        self.composer.set_notice(self.remote_notice(info.provider) if remote else "")
        if not remote:  # a remote engine is never reopened by itself at the next start: reaching it is the user's act
            self.settings.last_model = self._loading_path or info.path
        self._save_settings()
        self.pages.setCurrentIndex(1)
        self.composer.set_can_send(True)
        self.composer.edit.setFocus()

    def _on_prepare_offered(self, message: str, path: str) -> None:
        """Refused for memory, with a prepacked copy it would fit: say so and offer to make the copy."""
        self._prepare_path = path
        self._on_model_failed(message)
        self.first_run.show_message(message, error=True, offer_prepare=True)

    def _on_prepare(self) -> None:
        path = self._prepare_path
        if path is None:
            return
        self._loading_path = path
        self._show_busy(None, self.tr("Preparing a memory-mapped copy of {name}…").format(name=Path(path).name),
                        cancellable=True)
        self._models.prepare(path, self.settings.engine)

    def _on_prepare_cancelled(self, path: str) -> None:
        """Back to the offer the user had before pressing Prepare, saying that nothing was changed."""
        message = self.tr("Cancelled: no memory-mapped copy of {name} was made, and the model is unchanged.").format(
            name=Path(path).name)
        self._prepare_path = path
        self._on_model_failed(message)
        self.first_run.show_message(message, offer_prepare=True)

    def _on_model_failed(self, message: str) -> None:
        self.composer.set_notice("")
        self.status.show_model(None)  # the previous model was closed before this one was tried
        self.model_bar.show_model(None)
        self.composer.set_can_send(False, self.tr("Open a model first"))
        self.pages.setCurrentIndex(0)
        self.first_run.hide_progress()
        self.first_run.show_message(message, error=True)
        self.status.showMessage(message, 15000)

    # ================================================================== chat
    def _on_new_chat(self) -> None:
        self._conversations.new_conversation()
        self.composer.edit.setFocus()

    def _on_busy(self, busy: bool) -> None:
        self.composer.set_busy(busy)
        self.chat_view.set_busy(busy)

    def use_chat_settings(self, settings: ChatSettings) -> None:
        """Shows `settings` in the chat settings and the composer, and makes them the open chat's."""
        self._on_settings_loaded(settings)
        self._push_chat_settings()

    def _push_chat_settings(self) -> None:
        self._conversations.update_settings(self.chat_settings.settings(self.composer.reasoning_effort()))

    def _on_settings_loaded(self, settings: ChatSettings) -> None:
        self.chat_settings.set_values(settings)
        self.composer.set_reasoning_effort(settings.reasoning_effort)

    def _make_chat_settings_default(self) -> None:
        self.settings.new_chat = self.chat_settings.settings(self.composer.reasoning_effort())
        self._conversations.set_defaults(self.settings.new_chat)
        self._save_settings()
        self.status.showMessage(self.tr("New chats will start with these settings."), 8000)

    def _on_stats(self, tok_s, ttft, used: int) -> None:
        self.status.show_speed(tok_s, ttft)
        self.status.show_context_usage(used)

    def _show_conversation_stats(self, messages: list[ChatMessage]) -> None:
        """The status bar follows the open chat: its last reply's speed and how full its context is."""
        last = next((m for m in reversed(messages) if m.role == "assistant" and m.stats.new_tokens), None)
        self.status.show_speed(last.stats.decode_tok_s if last else None, last.stats.ttft_s if last else None)
        self.status.show_context_usage(context_in_use(messages))
        self._update_chat_actions()

    def _update_chat_actions(self) -> None:
        stored = self._conversations.current_id() is not None
        for action in (self.export_md_action, self.export_json_action, self.rename_action, self.delete_action):
            action.setEnabled(stored)

    # ================================================================== the open conversation: rename, export, delete
    def _rename_current(self) -> None:
        cid = self._conversations.current_id()
        if cid is None:
            return
        if not self.conversation_list.isVisible():
            self.sidebar_action.setChecked(True)
        self.conversation_list.start_rename(cid)

    def _delete_current(self) -> None:
        cid = self._conversations.current_id()
        summary = next((s for s in self._conversations.summaries() if s.conversation_id == cid), None)
        if cid is not None and summary is not None:
            self.conversation_list._confirm_delete(cid, summary.title)

    def _export_current(self, fmt: str) -> None:
        cid = self._conversations.current_id()
        if cid is not None:
            self._conversations.export(cid, fmt)

    def save_exports_with(self, ask: Callable[[Path], str | None]) -> None:
        """Asks where to save an exported conversation with `ask(suggested path)` instead of a dialog (headless)."""
        self._ask_export_path = ask

    def _suggested_export_path(self, title: str, fmt: str) -> Path:
        folder = Path(self.settings.export_folder) if self.settings.export_folder else Path(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or Path.home())
        return folder / export_file_name(title, ".md" if fmt == "markdown" else ".json")

    def _export_dialog(self, suggested: Path) -> str | None:
        filt = self.tr("Markdown (*.md)") if suggested.suffix == ".md" else self.tr("JSON (*.json)")
        path = choose_save_path(self, self.tr("Export conversation"), str(suggested), filt)
        return path or None

    def _on_exported(self, fmt: str, content: object, title: str) -> None:
        if not self.policy.chat_export_allowed:
            self.status.showMessage(self.tr("Your organization does not allow exporting conversations."), 10000)
            return
        path = self._ask_export_path(self._suggested_export_path(title, fmt))
        if not path:
            return
        text = content if isinstance(content, str) else json.dumps(content, indent=2, ensure_ascii=False)
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            self.banner.show_message(self.tr("Could not write {path}: {reason}").format(
                path=path, reason=exc.strerror or exc), "error")
            return
        folder = Path(path).parent
        self.settings.export_folder = str(folder)
        self._save_settings()
        self.banner.show_message(self.tr("Exported “{title}” to {path}.").format(title=title, path=path), "info",
                                 (self.tr("Show in folder"), lambda: QDesktopServices.openUrl(
                                     QUrl.fromLocalFile(str(folder)))))

    # ================================================================== documents
    def _on_attach(self) -> None:
        paths = choose_files(self, self.tr("Attach documents"), str(Path.home()))
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
            self.composer.set_can_send(not reading, self.tr("Reading the attached documents…") if reading else "")

    def _on_citation(self, message_index: int, citation_index: int) -> None:
        message = self._conversations.message(message_index)
        if message is None or not 0 <= citation_index < len(message.citations):
            return
        citation = message.citations[citation_index]
        document = next((d for d in self._attachments.documents() if d.name == citation.file_name), None)
        if document is None:
            self._message(QMessageBox.Icon.Information, self.tr("Source not attached"),
                          self.tr("{name} is no longer attached to this chat.").format(name=citation.file_name))
            return
        dialog = QtPassageDialog(document, citation, self)
        dialog.exec()
        dialog.deleteLater()

    # ================================================================== history
    def _on_history_ready(self, warning: object) -> None:
        self._set_history_locked(False)
        if warning:
            self.banner.show_message(str(warning))
        elif self.banner.kind == "warning" and self._explained_passphrase:
            self.banner.dismiss()
        self._explained_passphrase = False
        self.apply_retention()

    _explained_passphrase = False

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
            self.status.showMessage(self.tr("Wait until the reply has finished, then unlock the history."), 10000)
            return
        self._opener.open()

    def apply_retention(self) -> None:
        """Deletes conversations older than the retention in force (the organisation's, else the user's)."""
        days = retention_in_force(self.settings, self.policy)
        if days is not None and not self._history_locked:
            self._lifecycle.apply_retention(days)

    def _on_retention_applied(self, deleted: int) -> None:
        if deleted:
            self.status.showMessage(counts.conversations_deleted(deleted), 10000)
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
            self.status.showMessage(self.tr("Wait until the reply has finished, then delete the history."), 10000)
            return
        if dialog is not None:
            dialog.reject()
        self._lifecycle.delete_all()

    def _on_deleted_all(self) -> None:
        self.status.showMessage(self.tr("All conversations and their key were deleted."), 10000)
        self._opener.open()

    def report_history_failures(self, report: Callable[[str], None]) -> None:
        """Sends "the history could not be opened" to `report` instead of a modal dialog (headless runs)."""
        self._history_failed = report

    def _show_history_failure(self, message: str) -> None:
        self.banner.show_message(self.tr("The conversation history could not be opened: {reason} This session's "
                                         "conversations will not be kept after Enclave closes.").format(
                                             reason=message), "error")
        self._message(QMessageBox.Icon.Critical, self.tr("Conversation history unavailable"),
                      self.tr("{reason}\n\nThe file was not changed. Enclave keeps working, but this session's "
                              "conversations will not be kept after it closes.").format(reason=message))

    def _on_wrong_passphrase(self, message: str) -> None:
        self._on_passphrase_needed(False, self.tr("{reason}\n\nTry again:").format(reason=message))

    def _on_passphrase_needed(self, new_database: bool, prompt: str = "") -> None:
        if new_database:  # say why before asking, in full, where it stays readable
            self.banner.show_message(self.tr(
                "No OS keyring is available, so your conversation history is protected only by a passphrase you "
                "choose: anyone with a copy of the file can try to guess it, and a forgotten passphrase cannot be "
                "recovered."))
            self._explained_passphrase = True
        prompt = prompt or (self.tr("Choose a passphrase to encrypt your conversation history.") if new_database
                            else self.tr("Enter the passphrase that protects your conversation history."))
        self._choosing_passphrase = new_database
        text = self._ask_passphrase(prompt)
        if text:
            self._opener.open(text)
        elif self._history_locked:
            self.status.showMessage(self.tr("The history stays locked."), 10000)
        else:  # chat in a throwaway history meanwhile; "Unlock" asks again
            self._opener.use_temporary()

    def ask_passphrase_with(self, ask: Callable[[str], str | None]) -> None:
        """Asks for the history's passphrase with `ask(prompt)` instead of a modal dialog (headless runs)."""
        self._ask_passphrase = ask

    def _passphrase_dialog(self, prompt: str) -> str | None:
        """Once to unlock; to choose a new one, twice and with a strength message (see QtPassphraseDialog)."""
        dialog = QtPassphraseDialog(self, self.tr("History passphrase"), prompt, choose=self._choosing_passphrase)
        self.passphrase_dialog = dialog
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        text = dialog.passphrase()
        self.passphrase_dialog = None
        dialog.deleteLater()
        return text if accepted and text else None

    # ================================================================== preferences, theme, about
    def _on_theme(self, choice: ThemeChoice) -> None:
        self.settings.theme = choice.value
        self._save_settings()
        dark = apply_theme(app_instance(), choice)
        self.theme_actions[choice].setChecked(True)
        self._dark = dark
        self.chat_view.set_dark(dark)
        self.conversation_list.set_dark(dark)

    def preferences(self) -> Preferences:
        s = self.settings
        return Preferences(theme=s.theme, language=s.language, new_chat=s.new_chat, engine=s.engine,
                           document_limits=document_limits_in_force(s, self.policy), hub_endpoint=s.hub_endpoint,
                           hub_proxy=s.hub_proxy)

    def data_folders(self) -> DataFolders:
        from app.library.paths import MODELS_DIR, library_folder

        return DataFolders(history=self.data_folder, models=library_folder() / MODELS_DIR,
                           settings=self.settings.path.parent)

    def managed_settings(self) -> dict[str, str]:
        """The Preferences the organisation's policy sets, with their values (shown locked)."""
        policy = self.policy
        return {key: str(getattr(policy, key)) for key in ("hub_endpoint", "proxy", "max_document_size_mb")
                if policy.is_managed(key)}

    def edit_preferences(self) -> None:
        dialog = QtPreferences(self.preferences(), self.data_folders(), self, managed=self.managed_settings())
        if dialog.exec() == QtPreferences.DialogCode.Accepted:
            self.apply_preferences(dialog.result_preferences(), managed=dialog.managed)
        dialog.deleteLater()

    def apply_preferences(self, prefs: Preferences, managed: dict[str, str] | None = None) -> None:
        """Applies what Preferences returned and saves it: theme at once, new chats from now on, the engine
        settings at the next model opened, the document limits at the next file read, the download settings at
        the next download (unless the organisation sets them)."""
        s = self.settings
        language_changed = prefs.language != s.language
        s.language, s.new_chat, s.engine = prefs.language, prefs.new_chat, prefs.engine
        self._conversations.set_defaults(prefs.new_chat)
        self.apply_document_limits(prefs.document_limits)
        if prefs.theme != s.theme:
            self._on_theme(ThemeChoice(prefs.theme))
        downloads_managed = any(key in (managed or {}) for key in ("hub_endpoint", "proxy"))
        if not downloads_managed and (prefs.hub_endpoint, prefs.hub_proxy) != (s.hub_endpoint, s.hub_proxy):
            self.apply_download_settings(prefs.hub_endpoint, prefs.hub_proxy)
        self._save_settings()
        if language_changed:
            self.banner.show_message(self.tr("The new language applies the next time Enclave starts."), "info")

    def apply_download_settings(self, endpoint: str, proxy: str) -> bool:
        """A Hub mirror and a proxy for downloads; a value that is not a URL is refused with one sentence."""
        from app.library.errors import LibraryError
        from app.library.hub import resolve_access

        endpoint, proxy = endpoint.strip(), proxy.strip()
        try:
            resolve_access(endpoint or None, proxy or None, None)
        except LibraryError as exc:
            self.status.showMessage(self.tr("{reason} The download settings were not changed.").format(reason=exc),
                                    15000)
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
            self.banner.show_message(str(exc), "error")

    def _on_about(self) -> None:
        folders = self.data_folders()
        dialog = QtAbout(self._models.info(), folders.history, folders.models, self)
        dialog.exec()
        dialog.deleteLater()

    def _message(self, kind: QMessageBox.Icon, title: str, text: str) -> None:
        """A modal message whose text is plain (it may quote file names and error texts)."""
        show_message(self, kind, title, text)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.network.close()
        if self._on_close is not None:
            self._on_close()
        super().closeEvent(event)


def app_instance() -> QApplication:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return app
