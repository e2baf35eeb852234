"""A package refused for memory that its prepacked copy would make fit: the window says so, offers to make the
copy, makes it on the engine thread (with its progress and a Cancel) and opens the package from it (real window,
engine thread, tiny package)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.engine import session
from app.engine.prepacked import COPY_DIR
from app.engine.providers import CPU, Environment
from app.export.context import ExportOptions
from app.export.exporter import export_model
from app.package.footprint import private_bytes
from app.ui import backend

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def offered(qtbot, make_app, tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """(the window's parts, the package): a tiny cpu-int4 package opened with free RAM enough with a prepacked
    copy, not without, so the first-run page shows the offer."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    package = export_model(tiny_checkpoint, tmp_path / "int4", "cpu-int4",
                           options=ExportOptions(context_length=256)).folder
    facts = session.read_package_facts(package)
    kv = session.kv_cache_bytes(facts, facts.context_length)
    with_copy = int((private_bytes("cpu-int4", facts.size_bytes, prepacked=True) + kv) * 1.1)
    without = int((private_bytes("cpu-int4", facts.size_bytes) + kv) * 1.1)
    free = (with_copy + without) // 2  # enough with the copy, not without
    monkeypatch.setattr(session, "detect_environment", lambda: Environment((CPU,), free_ram=free))
    parts = make_app(backend.open_backend)
    with qtbot.waitSignal(parts.models.prepareOffered, timeout=300000):
        parts.window.open_model_folder(str(package))
    return parts, Path(package)


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_package_refused_for_memory_is_prepared_from_the_window_and_opens(qtbot, offered) -> None:
    parts, package = offered
    first_run = parts.window.first_run
    assert "too little free RAM" in first_run.status.text() and "\n" not in first_run.status.text()
    assert first_run.prepare_button.isVisible() and parts.models.info() is None
    assert not parts.window.composer.send_button.isEnabled()
    progress: list[str] = []
    parts.models.progress.connect(lambda p: progress.append(p.message))
    with qtbot.waitSignal(parts.models.loaded, timeout=300000):
        qtbot.mouseClick(first_run.prepare_button, Qt.MouseButton.LeftButton)
    assert any(m.startswith("Prepacking the weights") for m in progress)
    info = parts.models.info()
    assert info is not None and info.prepacked_copy == str(package.absolute() / COPY_DIR)
    assert parts.window.composer.send_button.isEnabled() and not first_run.prepare_button.isVisible()


def test_preparing_shows_progress_and_cancel_brings_the_offer_back_with_nothing_changed(qtbot, offered) -> None:
    parts, package = offered
    first_run = parts.window.first_run
    before = _files(package)
    shown: list[tuple[bool, int, bool]] = []  # (bar visible, bar value, Cancel visible) at each step

    def on_progress(step: object) -> None:
        shown.append((first_run.progress.isVisible(), first_run.progress.value(), first_run.cancel_button.isVisible()))
        if step.message.startswith("Prepacking the weights") and first_run.cancel_button.isEnabled():  # type: ignore[attr-defined]
            qtbot.mouseClick(first_run.cancel_button, Qt.MouseButton.LeftButton)
            first_run.cancel_button.setEnabled(False)  # one click

    parts.models.progress.connect(on_progress)
    outcome: list[str] = []  # whichever comes: a cancel, or (when it was not cancelled) a load or a failure
    parts.models.prepareCancelled.connect(lambda _path: outcome.append("cancelled"))
    parts.models.loaded.connect(lambda _info: outcome.append("loaded"))
    parts.models.failed.connect(lambda message: outcome.append(message))
    qtbot.mouseClick(first_run.prepare_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(outcome), timeout=300000)
    parts.models.progress.disconnect(on_progress)
    assert outcome == ["cancelled"]
    first_run.cancel_button.setEnabled(True)
    assert shown and all(visible and cancel for visible, _value, cancel in shown)
    assert any(value > 0 for _visible, value, _cancel in shown)  # a fraction, not only a busy bar
    assert first_run.status.text() == "Cancelled: no memory-mapped copy of int4 was made, and the model is unchanged."
    assert first_run.prepare_button.isVisible() and not first_run.cancel_button.isVisible()
    assert not first_run.progress.isVisible() and first_run.import_button.isEnabled()
    assert parts.models.info() is None and not parts.models.preparing()
    assert _files(package) == before and not list(package.glob(".prepacked*"))
    with qtbot.waitSignal(parts.models.loaded, timeout=300000):  # the offer still works
        qtbot.mouseClick(first_run.prepare_button, Qt.MouseButton.LeftButton)
    assert parts.models.info().prepacked_copy == str(package.absolute() / COPY_DIR)


def test_closing_the_window_while_preparing_stops_it_and_keeps_nothing(qtbot, offered) -> None:
    parts, package = offered
    before = _files(package)
    closed: list[bool] = []

    def on_progress(step: object) -> None:
        if step.message.startswith("Prepacking the weights") and not closed:  # type: ignore[attr-defined]
            closed.append(True)
            parts.window.close()  # stops the workers and joins their threads

    parts.models.progress.connect(on_progress)
    qtbot.mouseClick(parts.window.first_run.prepare_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(closed) and not parts.threads.running(), timeout=300000)
    assert _files(package) == before and not list(package.glob(".prepacked*"))
