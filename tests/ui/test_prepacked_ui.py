"""A package refused for memory that its prepacked copy would make fit: the window says so, offers to make the
copy, makes it on the engine thread and opens the package from it (real window, engine thread, tiny package)."""

from __future__ import annotations

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


def test_a_package_refused_for_memory_is_prepared_from_the_window_and_opens(
        qtbot, make_app, tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
    first_run = parts.window.first_run
    with qtbot.waitSignal(parts.models.prepareOffered, timeout=300000):
        parts.window.open_model_folder(str(package))
    assert "too little free RAM" in first_run.status.text() and "\n" not in first_run.status.text()
    assert first_run.prepare_button.isVisible() and parts.models.info() is None
    assert not parts.window.composer.send_button.isEnabled()
    progress: list[str] = []
    parts.models.progress.connect(lambda p: progress.append(p.message))
    with qtbot.waitSignal(parts.models.loaded, timeout=300000):
        qtbot.mouseClick(first_run.prepare_button, Qt.MouseButton.LeftButton)
    assert any(m.startswith("Prepacking the weights") for m in progress)
    info = parts.models.info()
    assert info is not None and info.prepacked_copy == str(Path(package).absolute() / COPY_DIR)
    assert parts.window.composer.send_button.isEnabled() and not first_run.prepare_button.isVisible()
