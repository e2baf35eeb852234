"""Starting the desktop app: QApplication, theme, workers, main window — and the headless smoke run.

`run_gui` is what `enclave` (no arguments) and `enclave gui` call. `run_smoke` drives the same real window
end to end (load, send, stream, screenshot) so CI and the packaging checks see what a user would.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.model_folder import ModelFolder
from app.ui.chat_state import ChatMessage, MessageState
from app.ui.controller import ChatController
from app.ui.engine_worker import EngineWorker, ExportModel, OpenModel
from app.ui.main_window import MainWindow
from app.ui.requests import ExportRequest
from app.storage.settings import AppSettings
from app.ui.storage_worker import StorageWorker
from app.ui.theme import ThemeChoice, apply_theme

def seconds_since_process_start() -> float:
    """Wall time since the OS started this process (interpreter start included: what a user waits for)."""
    import psutil

    return time.time() - psutil.Process().create_time()


@dataclass
class AppParts:
    """Everything the app is made of; tests build it with temporary folders and their own backends."""

    app: QApplication
    window: MainWindow
    controller: ChatController
    settings: AppSettings


def make_store_factory(database: Path | None, *, use_keyring: bool = True) -> Callable[[str | None], object]:
    def factory(passphrase: str | None) -> object:
        from app.storage.store import HistoryStore

        return HistoryStore.open(database, passphrase=passphrase, use_keyring=use_keyring)

    return factory


def open_ephemeral_store() -> object:
    """A history in a fresh temporary folder under a random passphrase: gone when the app closes."""
    from app.storage.store import HistoryStore

    folder = Path(tempfile.mkdtemp(prefix="enclave-session-"))
    return HistoryStore.open(folder / "history.db", passphrase=secrets.token_urlsafe(24), use_keyring=False)


def build_app(*, database: Path | None = None, settings_path: Path | None = None,
              open_model: OpenModel | None = None, export_model: ExportModel | None = None,
              argv: list[str] | None = None, use_keyring: bool = True) -> AppParts:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Enclave")
    app.setOrganizationName("Enclave")
    settings = AppSettings.load(settings_path)
    try:
        choice = ThemeChoice(settings.theme)
    except ValueError:
        choice = ThemeChoice.SYSTEM
    dark = apply_theme(app, choice)
    if choice is ThemeChoice.SYSTEM:  # follow the OS when the user switches light/dark while Enclave runs
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_theme(app, ThemeChoice.SYSTEM))
    if open_model is None or export_model is None:
        from app.ui import backend

        open_model = open_model or backend.open_backend
        export_model = export_model or backend.export_checkpoint
    storage = StorageWorker(make_store_factory(database, use_keyring=use_keyring), open_ephemeral_store)
    controller = ChatController(EngineWorker(open_model, export_model), storage)
    controller.reasoning_effort = settings.reasoning_effort
    controller.sampling = settings.sampling
    controller.attachments.limits = settings.document_limits
    window = MainWindow(controller, settings, dark=dark, export_planner=plan_export)
    return AppParts(app, window, controller, settings)


def plan_export(folder: ModelFolder, parent: QWidget) -> ExportRequest | Path | None:
    """Asks once before the (long) conversion of a Hugging Face checkpoint; returns None if the user declines,
    or the package converted earlier from this checkpoint (converting 13-65 GB twice helps no one)."""
    from app.ui import backend

    target, output, reason = backend.suggest_export(folder.path)
    if (output / "manifest.json").is_file():
        return output
    answer = QMessageBox.question(
        parent, "Convert this model?",
        f"{folder.path.name} is a Hugging Face checkpoint. Enclave converts it once for this computer "
        f"({target}: {reason}) into\n{output}\n\nThis can take a while; you can cancel at any time.")
    if answer != QMessageBox.StandardButton.Yes:
        return None
    return ExportRequest(source=folder.path, output=output, target=target)


def run_gui(model: str | None = None, *, database: Path | None = None) -> int:
    parts = build_app(database=database)
    parts.window.show()
    parts.controller.open_history()
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
              reasoning: str = "low", max_tokens: int = 256) -> int:
    """Real window, real model: load, send, wait for the streamed reply, screenshot, print one JSON line."""
    data_dir = Path(tempfile.mkdtemp(prefix="enclave-smoke-"))
    os.environ.setdefault("ENCLAVE_PASSPHRASE", secrets.token_urlsafe(16))  # throwaway history
    parts = build_app(database=data_dir / "history.db", settings_path=data_dir / "settings.json", use_keyring=False)
    window, controller = parts.window, parts.controller
    controller.reasoning_effort = reasoning
    controller.sampling = type(controller.sampling)(temperature=0.0, max_new_tokens=max_tokens)
    result: dict[str, object] = {"prompt": prompt}
    failures: list[str] = []

    def visible() -> None:
        result["window_visible_s"] = round(seconds_since_process_start(), 3)
        window.open_model_folder(package)

    def loaded(info) -> None:
        result.update(model=info.name, provider=info.provider, load_s=round(info.load_seconds, 3))
        controller.send(prompt)

    def finished(message: ChatMessage) -> None:
        result.update(reply=message.text, reasoning=message.reasoning, state=message.state.value,
                      ttft_s=message.stats.get("ttft_s"), decode_tok_s=message.stats.get("decode_tok_s"),
                      new_tokens=message.stats.get("new_tokens"))
        if message.state is MessageState.ERROR:
            failures.append(message.error or "the reply failed")
        QTimer.singleShot(50, finish)  # let the last render and the final save land first

    def failed(text: str) -> None:
        failures.append(text)
        finish()

    def finish() -> None:
        window.chat_view.flush()
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(screenshot)):
            failures.append(f"could not save the screenshot to {screenshot}")
        result["screenshot"] = str(screenshot)
        result["ok"] = not failures
        if failures:
            result["error"] = "; ".join(failures)
        print(json.dumps(result, ensure_ascii=False), flush=True)
        window.close()
        parts.app.exit(0 if not failures else 1)

    controller.modelLoaded.connect(loaded)
    controller.modelFailed.connect(failed)
    # A smoke run has no one to click a dialog away: a damaged history is reported in the JSON line instead
    # (the throwaway session history keeps the chat itself working).
    controller.historyFailed.disconnect(window._on_history_failed)
    controller.historyFailed.connect(lambda text: result.setdefault("history_warning", text))
    controller.replyFinished.connect(finished)
    QTimer.singleShot(int(timeout_s * 1000), lambda: failed(f"no reply within {timeout_s:.0f} s"))
    window.show()
    controller.open_history()
    QTimer.singleShot(0, visible)
    return parts.app.exec()
