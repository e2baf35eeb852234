"""Starting the desktop app: QApplication, theme, workers, main window — and the headless smoke run.

`run_gui` is what `enclave` (no arguments) and `enclave gui` call. `run_smoke` drives the same real window
end to end (load, send, stream, screenshot) so CI and the packaging checks see what a user would.
"""

from __future__ import annotations

import gc
import json
from importlib import resources
import secrets
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QObject, QThread, QTimer
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

from app.engine.sampling import SamplingParams
from app.model_folder import ModelFolder
from app.policy import current_policy
from app.storage.settings import AppSettings, document_limits_in_force
from app.ui.attachments import AttachmentsController
from app.ui.chat_state import ChatMessage, MessageState
from app.ui.conversations import ConversationsController
from app.ui.document_host import DocumentHost
from app.ui.engine_host import EngineHost, ExportModel, OpenModel, PrepareModel
from app.ui.history_host import HistoryClient, HistoryHost, StoreFactory
from app.ui.history_lifecycle import HistoryLifecycle
from app.ui.history_opener import HistoryOpener
from app.ui.i18n import install_translators, translate
from app.ui.library_controller import LibraryController, LibraryHost
from app.ui.main_window import MainWindow
from app.ui.model_controller import ModelController
from app.ui.replies import RepliesController
from app.ui.requests import ExportRequest
from app.ui.safe_text import ask_yes_no
from app.ui.server_controller import ServerController
from app.ui.theme import ThemeChoice, apply_theme
from app.ui.worker import Worker, WorkerClient


def seconds_since_process_start() -> float:
    """Wall time since the OS started this process (interpreter start included: what a user waits for)."""
    import psutil

    return time.time() - psutil.Process().create_time()


class WorkerThreads:
    """The app's worker threads: created, started and joined here, in the composition root, and nowhere else."""

    def __init__(self) -> None:
        self._threads: list[QThread] = []
        self._workers: list[QObject] = []  # kept alive here: a moved QObject has no parent to hold it

    def start(self, name: str, worker: QObject) -> None:
        thread = QThread()
        thread.setObjectName(f"enclave-{name}")
        worker.moveToThread(thread)
        thread.start()
        self._threads.append(thread)
        self._workers.append(worker)

    def running(self) -> bool:
        return any(t.isRunning() for t in self._threads)

    def join(self) -> None:
        """Lets each worker finish what was queued before this call, then ends its thread."""
        for thread in self._threads:
            thread.quit()
        for thread in self._threads:
            thread.wait()


@dataclass
class AppParts:
    """Everything the app is made of; tests build it with temporary folders and their own backends."""

    app: QApplication
    window: MainWindow
    settings: AppSettings
    models: ModelController
    opener: HistoryOpener
    conversations: ConversationsController
    replies: RepliesController
    attachments: AttachmentsController
    history: HistoryClient
    library: LibraryController
    threads: WorkerThreads = field(repr=False)
    server: ServerController | None = None

    def shutdown(self) -> None:
        """Stops a reply in flight (keeping what streamed, marked stopped), a conversion and the documents being
        read; closes the model and the history once their threads have done what was asked before; joins."""
        if not self.threads.running():
            return
        if self.server is not None:
            self.server.stop()  # before the engine thread goes: the server's replies run there
        self.replies.close()
        self.library.cancel()  # a download keeps what it fetched; the next one resumes
        self.models.close()
        self.attachments.cancel_all()
        self.opener.close()
        self.threads.join()


def make_store_factory(database: Path | None, *, use_keyring: bool = True,
                       passphrase: str | None = None) -> StoreFactory:
    """`passphrase`: a fixed one for a throwaway history (smoke runs); else the one the user types, if any."""
    def factory(typed: str | None):
        from app.storage.store import HistoryStore

        return HistoryStore.open(database, passphrase=typed or passphrase, use_keyring=use_keyring)

    return factory


def open_ephemeral_store():
    """A history in a fresh private temporary folder under a random passphrase: removed when the app exits (or,
    if it is killed, at the next start). Never kept in the keyring, even where the policy requires it."""
    from app.storage.store import HistoryStore
    from app.tempdirs import private_temp_dir

    folder = private_temp_dir("session")
    return HistoryStore.open(folder / "history.db", passphrase=secrets.token_urlsafe(24), use_keyring=False,
                             require_keyring=False)


def build_app(*, database: Path | None = None, settings_path: Path | None = None,
              open_model: OpenModel | None = None, export_model: ExportModel | None = None,
              prepare_model: PrepareModel | None = None, argv: list[str] | None = None,
              use_keyring: bool = True, history_passphrase: str | None = None) -> AppParts:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Enclave")
    app.setOrganizationName("Enclave")
    app.setDesktopFileName("enclave")  # Wayland and docks match the window to enclave.desktop (its icon, its name)
    icon = QPixmap()
    if icon.loadFromData(resources.files("resources.icons").joinpath("enclave.png").read_bytes()):
        app.setWindowIcon(QIcon(icon))
    settings = AppSettings.load(settings_path)
    install_translators(app, settings.language)
    try:
        choice = ThemeChoice(settings.theme)
    except ValueError:
        choice = ThemeChoice.SYSTEM
    dark = apply_theme(app, choice)
    if choice is ThemeChoice.SYSTEM:  # follow the OS when the user switches light/dark while Enclave runs
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_theme(app, ThemeChoice.SYSTEM))
    from app.ui import backend

    if prepare_model is None and open_model in (None, backend.open_backend):
        prepare_model = backend.prepare_model  # the real engine opens only folders that passed their checks
    open_model = open_model or backend.open_backend
    export_model = export_model or backend.export_checkpoint
    threads = WorkerThreads()
    engine_worker = Worker(EngineHost(open_model, export_model, prepare_model))
    history_worker = Worker(HistoryHost(make_store_factory(database, use_keyring=use_keyring,
                                                           passphrase=history_passphrase), open_ephemeral_store))
    documents_worker = Worker(DocumentHost())
    engine, history = WorkerClient(engine_worker), HistoryClient(history_worker)
    documents = WorkerClient(documents_worker)
    library_worker = Worker(LibraryHost())
    library = LibraryController(WorkerClient(library_worker))
    for name, worker in (("engine", engine_worker), ("storage", history_worker), ("documents", documents_worker),
                         ("library", library_worker)):
        threads.start(name, worker)

    policy = current_policy()
    models = ModelController(engine)
    server = ServerController(engine, models, policy)
    opener = HistoryOpener(history)
    lifecycle = HistoryLifecycle(history)
    conversations = ConversationsController(history, settings.new_chat)
    attachments = AttachmentsController(history, documents, document_limits_in_force(settings, policy))
    replies = RepliesController(engine, history, conversations, attachments)
    opener.replaced.connect(conversations.new_conversation)  # before the list of the history now open
    opener.opened.connect(lambda _warning: conversations.refresh())
    opener.locked.connect(lambda _message: conversations.refresh())
    conversations.shown.connect(attachments.show_conversation)
    conversations.adopted.connect(attachments.adopt_conversation)
    models.loaded.connect(lambda info: conversations.use_model(info.name))
    models.loaded.connect(attachments.use_model)
    models.failed.connect(lambda _message: conversations.use_model(None))

    parts: AppParts | None = None
    window = MainWindow(models=models, opener=opener, conversations=conversations, replies=replies,
                        attachments=attachments, settings=settings, dark=dark, lifecycle=lifecycle, policy=policy,
                        export_planner=plan_export, library=library,
                        on_close=lambda: parts.shutdown() if parts else None, server=server)
    if database is not None:
        window.set_data_folder(database.parent)
    for client in (engine, history, documents):  # a failure no caller waits for still reaches the status bar
        client.unhandled.connect(window.show_notice)
    parts = AppParts(app, window, settings, models, opener, conversations, replies, attachments, history, library,
                     threads, server)
    return parts


def plan_export(folder: ModelFolder, parent: QWidget) -> ExportRequest | Path | None:
    """Asks once before the (long) conversion of a Hugging Face checkpoint; returns None if the user declines,
    or the package converted earlier from exactly this checkpoint's content (found by its files' SHA-256, never
    by folder name: converting 13-65 GB twice helps no one, and a different checkpoint never gets its package)."""
    from app.ui import backend

    earlier = backend.converted_package(folder.path)
    if earlier is not None:
        return earlier
    target, output, reason = backend.suggest_export(folder.path)
    if not ask_yes_no(
        parent, translate("Application", "Convert this model?"),
        translate("Application", "{name} is a Hugging Face checkpoint. Enclave checks it and converts it once for "
                  "this computer ({target}: {reason}) into\n{output}\n\nThis can take a while; you can cancel at any "
                  "time.").format(name=folder.path.name, target=target, reason=reason, output=output)):
        return None
    return ExportRequest(source=folder.path, output=output, target=target)


def keep_long_lived_objects_out_of_gc(parts: AppParts) -> None:
    """Moves what the app holds once it has started (and once each model has loaded) into Python's permanent
    generation, so a later full collection walks only newer objects.

    Why: a full collection walks every tracked object on the UI thread with the GIL held. The started
    window's heap (Qt wrappers, ONNX Runtime, numpy, the app's modules: 67,124 objects) took 69-143 ms per pass
    on the 2-core build machine (window built and shown, `gc.collect()` timed, load 4.8), a visible hitch if
    one lands mid-stream; frozen, a pass took under 1 ms. Those objects live as long as the app, so keeping
    them out of the collector loses nothing."""

    def freeze() -> None:
        gc.collect()  # garbage made while starting or loading is freed first, not frozen
        gc.freeze()

    QTimer.singleShot(0, freeze)
    parts.models.loaded.connect(lambda _info: freeze())


def run_gui(model: str | None = None, *, database: Path | None = None) -> int:
    parts = build_app(database=database)
    keep_long_lived_objects_out_of_gc(parts)
    parts.window.show()
    parts.opener.open()
    open_start_model(parts, model)
    return parts.app.exec()


def open_start_model(parts: AppParts, model: str | None) -> bool:
    """Opens the model named on the command line, else the last one used (if it is still there)."""
    start_model = model or parts.settings.last_model
    if not start_model or not Path(start_model).exists():
        return False
    QTimer.singleShot(0, lambda: parts.window.open_model_folder(start_model))
    return True


def run_smoke(package: str, prompt: str, screenshot: Path, *, timeout_s: float = 600.0,
              reasoning: str = "low", max_tokens: int = 256, attach: tuple[Path, ...] = ()) -> int:
    """Real window, real model: load, attach `attach` (read in the document sandbox, as the composer's paper clip
    does), send, wait for the streamed reply, screenshot, print one JSON line (with the reply's citations)."""
    from app.tempdirs import private_temp_dir

    data_dir = private_temp_dir("smoke")  # throwaway history and settings, removed at exit
    parts = build_app(database=data_dir / "history.db", settings_path=data_dir / "settings.json", use_keyring=False,
                      history_passphrase=secrets.token_urlsafe(24))
    window = parts.window
    window.use_chat_settings(replace(parts.conversations.settings(), reasoning_effort=reasoning,
                                     sampling=SamplingParams(temperature=0.0), max_new_tokens=max_tokens))
    result: dict[str, object] = {"prompt": prompt}
    failures: list[str] = []

    def visible() -> None:
        result["window_visible_s"] = round(seconds_since_process_start(), 3)
        window.open_model_folder(package)

    def send() -> None:
        window.composer.set_text(prompt)
        window.composer.send_button.click()

    def attached(items: list) -> None:
        """Sends once every attached file is read; a file the sandbox refuses ends the run with its sentence."""
        if parts.attachments.reading() or "attached" in result or len(items) < len(attach):
            return
        result["attached"] = [item.name for item in items]
        refused = [item.message for item in items if item.state.value == "error"]
        if refused:
            failed("; ".join(refused))
        else:
            QTimer.singleShot(0, send)  # after the composer has taken the chips in

    def loaded(info) -> None:
        result.update(model=info.name, provider=info.provider, load_s=round(info.load_seconds, 3))
        if attach:
            parts.attachments.changed.connect(attached)
            parts.attachments.add_files([str(path) for path in attach])
        else:
            send()

    def finished(message: ChatMessage) -> None:
        result.update(reply=message.text, reasoning=message.reasoning, state=message.state.value,
                      ttft_s=message.stats.ttft_s, decode_tok_s=message.stats.decode_tok_s,
                      new_tokens=message.stats.new_tokens, citations=[c.label for c in message.citations])
        if message.state is MessageState.ERROR:
            failures.append(message.error or "the reply failed")  # not translated: the smoke run's JSON, for CI
        QTimer.singleShot(50, finish)  # let the last render and the final save land first

    def failed(text: str) -> None:
        failures.append(text)
        finish()

    def finish() -> None:
        window.chat_view.flush()
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(screenshot)):
            failures.append(f"could not save the screenshot to {screenshot}")  # not translated: JSON for CI
        result["screenshot"] = str(screenshot)
        result["gc_frozen_objects"] = gc.get_freeze_count()
        result["ok"] = not failures
        if failures:
            result["error"] = "; ".join(failures)
        print(json.dumps(result, ensure_ascii=False), flush=True)
        window.close()
        parts.app.exit(0 if not failures else 1)

    parts.models.loaded.connect(loaded)
    parts.models.failed.connect(failed)
    # not a model folder, a checkpoint (a smoke run never converts), or a folder that fails its checks (the
    # window says so through openFailed too): its sentence, at once
    window.openFailed.connect(failed)
    window.use_export_planner(None)
    # A smoke run has no one to click a dialog away: a damaged history is reported in the JSON line instead
    # (the throwaway session history keeps the chat itself working).
    window.report_history_failures(lambda text: result.setdefault("history_warning", text))
    parts.replies.replyFinished.connect(finished)
    QTimer.singleShot(int(timeout_s * 1000), lambda: failed(f"no reply within {timeout_s:.0f} s"))  # not translated: CI
    keep_long_lived_objects_out_of_gc(parts)
    window.show()
    parts.opener.open()
    QTimer.singleShot(0, visible)
    return parts.app.exec()
