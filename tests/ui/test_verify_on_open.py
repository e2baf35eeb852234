"""The window verifies a package the first time it opens it after a conversion, shows the result, and refuses
to chat with one that fails (real window, real engine thread, real tiny packages, real verification)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.export.context import ExportOptions
from app.export.exporter import export_model
from app.ui import backend

pytestmark = pytest.mark.timeout(600)


def _open(qtbot, parts, folder: Path, signal) -> list[str]:  # noqa: ANN001
    """Opens `folder` in the window, waits for `signal`, and returns the progress messages shown meanwhile."""
    messages: list[str] = []
    parts.models.progress.connect(lambda progress: messages.append(progress.message))
    with qtbot.waitSignal(signal, timeout=300000):
        parts.window.open_model_folder(str(folder))
    return messages


def test_a_package_that_fails_verification_is_refused(qtbot, make_app, tiny_checkpoint: Path,
                                                      tmp_path: Path) -> None:
    """A conversion whose window is off by one (the exporter's deliberate mistake; every checksum is right):
    the window says why and what to do, offers no chat, and does not verify it again on the next open."""
    package = export_model(tiny_checkpoint, tmp_path / "wrong-window", "cpu",
                           options=ExportOptions(context_length=512, debug_window_offset=1)).folder
    parts = make_app(backend.open_backend)
    progress = _open(qtbot, parts, package, parts.models.failed)
    assert any(m.startswith("Reference forward") for m in progress)
    shown = parts.window.first_run.status.text()
    assert "will not chat with wrong-window" in shown and "export it again" in shown, shown
    assert "\n" not in shown
    assert parts.models.info() is None
    assert not parts.window.composer.send_button.isEnabled()
    assert parts.window.pages.currentIndex() == 0
    again = _open(qtbot, parts, package, parts.models.failed)
    assert not any(m.startswith("Reference forward") for m in again)  # the recorded verdict is reused
    assert "will not chat" in parts.window.first_run.status.text()


def test_a_converted_package_is_verified_once_and_shown_as_verified(qtbot, make_app, tiny_checkpoint: Path,
                                                                     tmp_path: Path) -> None:
    package = export_model(tiny_checkpoint, tmp_path / "good", "cpu",
                           options=ExportOptions(context_length=384)).folder
    parts = make_app(backend.open_backend)
    progress = _open(qtbot, parts, package, parts.models.loaded)
    assert any(m.startswith("Reference forward") for m in progress)
    assert parts.window.status.verified_label.text() == "Verified"
    assert "computes what its checkpoint means on CPU" in parts.window.status.verified_label.toolTip()
    assert parts.window.composer.send_button.isEnabled()
    again = _open(qtbot, parts, package, parts.models.loaded)
    assert not any(m.startswith("Reference forward") for m in again)
    assert parts.window.status.verified_label.text() == "Verified"


def test_a_package_copied_from_elsewhere_opens_on_the_cpu_marked_not_verified(qtbot, make_app, tiny_cpu_package: Path,
                                                                               tmp_path: Path) -> None:
    """A package without a record here (IT copied it) opens on the CPU, whose kernels the project's tests
    check, and says it was not verified on this computer and how to do it."""
    package = Path(shutil.copytree(tiny_cpu_package, tmp_path / "copied"))
    with open(package / "model.onnx.data", "ab") as handle:  # other bytes -> another package, no record ...
        handle.write(b"\0" * 64)
    from tests.support.sabotage import rehash

    rehash(package)  # ... with a consistent manifest
    parts = make_app(backend.open_backend)
    _open(qtbot, parts, package, parts.models.loaded)
    assert parts.window.status.verified_label.text() == "Not verified"
    assert "--against CHECKPOINT" in parts.window.status.verified_label.toolTip()
