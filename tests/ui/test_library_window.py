"""The library in the window, driven with pytest-qt: first-run download and import, the library window (list,
verify, remove with the space freed), the model picker, and failures that never unload the model in use.

Real components: the window, the engine, the exporter, the library and the loopback Hub (tests/support)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.ui import backend
from tests.support.hub_server import HubServer, repo_from_folder

REPO, COMMIT = "test-org/gpt-oss-tiny", "2" * 40
LONG = 300_000


@pytest.fixture
def hub(tiny_checkpoint: Path):
    with HubServer([repo_from_folder(REPO, tiny_checkpoint, COMMIT)]) as server:
        yield server


def _window(make_app, hub: HubServer | None = None):
    parts = make_app(backend.open_backend, backend.export_checkpoint)
    if hub is not None:
        parts.settings.hub_endpoint = hub.url  # the mirror from the settings (Preferences)
    return parts


def test_a_user_without_a_model_downloads_one_from_the_first_run_screen(qtbot, make_app, hub, tmp_path) -> None:
    parts = _window(make_app, hub)
    window = parts.window
    assert window.pages.currentWidget() is window.first_run
    assert set(window.first_run.download_buttons) == {"gpt-oss-20b", "gpt-oss-120b"}
    progress = []
    parts.library.progress.connect(progress.append)
    with qtbot.waitSignal(parts.models.loaded, timeout=LONG) as loaded:
        window.download_model(REPO)  # what the first-run buttons do, for a repo the test Hub serves
    info = loaded.args[0]
    library = tmp_path / "library" / "models"
    assert Path(info.path).parent == library and info.target == "cpu"
    assert window.pages.currentIndex() == 1
    assert any(p.speed_bps for p in progress) and max(p.total for p in progress) > 100_000_000  # bytes, then export
    # the picker lists the converted package and shows it as the one in use
    names = [window.model_picker.itemText(i) for i in range(window.model_picker.count())]
    assert Path(info.path).name in names
    assert window.model_picker.currentText() == Path(info.path).name


def test_a_failed_download_shows_its_sentence_and_keeps_the_model_in_use(qtbot, make_app, tiny_cpu_package,
                                                                         tiny_checkpoint) -> None:
    from app.model_catalog import find_model

    official = find_model("gpt-oss-20b")
    with HubServer([repo_from_folder(official.hub_repo, tiny_checkpoint, official.revision)]) as fake:
        parts = _window(make_app, fake)
        window = parts.window
        with qtbot.waitSignal(parts.models.loaded, timeout=LONG):
            window.open_model_folder(str(tiny_cpu_package))
        with qtbot.waitSignal(parts.library.failed, timeout=LONG) as failed:
            window.first_run.download_buttons["gpt-oss-20b"].click()
    message = failed.args[0]
    assert "the catalog pins" in message
    assert window.status.currentMessage() == message
    assert parts.models.info() is not None and parts.models.info().path == str(tiny_cpu_package)
    assert window.pages.currentIndex() == 1 and window.composer.edit.isEnabled()


def test_the_library_window_lists_verifies_and_removes_with_the_space_freed(qtbot, make_app, hub,
                                                                           tmp_path) -> None:
    parts = _window(make_app, hub)
    window = parts.window
    with qtbot.waitSignal(parts.models.loaded, timeout=LONG):
        window.download_model(REPO)
    window.show_library()
    dialog = window.library_window
    rows = {dialog.table.item(r, 0).text(): [dialog.table.item(r, c).text() for c in range(7)]
            for r in range(dialog.table.rowCount())}
    assert set(rows) == {"gpt-oss-tiny", "gpt-oss-tiny-cpu"}
    checkpoint = rows["gpt-oss-tiny"]
    assert checkpoint[1] == "checkpoint" and checkpoint[2] == f"{REPO} @ {COMMIT[:12]}"
    assert checkpoint[3] == "0.12 GB" and checkpoint[5] == "Verified"
    assert rows["gpt-oss-tiny-cpu"][4] == "cpu" and rows["gpt-oss-tiny-cpu"][6] != "never"  # opened just now

    dialog.select("gpt-oss-tiny")
    with qtbot.waitSignal(parts.library.finished, timeout=LONG):
        dialog.verify_button.click()
    assert "Checking gpt-oss-tiny: done" in dialog.status.text()

    folder = tmp_path / "library" / "models" / "gpt-oss-tiny"
    size = sum(p.stat().st_size for p in folder.iterdir())
    asked = []
    window.confirm = lambda title, text: asked.append(text) or True
    dialog.select("gpt-oss-tiny")
    with qtbot.waitSignal(parts.library.finished, timeout=LONG):
        dialog.remove_button.click()
    assert "frees 0.12 GB" in asked[0]
    assert not folder.exists()
    assert dialog.status.text() == f"Removed gpt-oss-tiny; {size / 1e9:.2f} GB freed."
    assert [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())] == ["gpt-oss-tiny-cpu"]
    # the model in use cannot be removed from under the chat
    dialog.select("gpt-oss-tiny-cpu")
    dialog.remove_button.click()
    assert "is the model in use" in dialog.status.text()
    assert parts.models.info() is not None


def test_import_from_a_usb_folder_in_place_then_switch_models_with_the_picker(qtbot, make_app, tiny_cpu_package,
                                                                             tmp_path) -> None:
    usb = Path(shutil.copytree(tiny_cpu_package, tmp_path / "usb" / "tiny-cpu"))
    second = Path(shutil.copytree(tiny_cpu_package, tmp_path / "usb" / "tiny-cpu-copy"))
    parts = _window(make_app)
    window = parts.window
    window.choose_import_mode = lambda folder: "in-place"
    with qtbot.waitSignal(parts.models.loaded, timeout=LONG) as loaded:
        window.first_run.import_button.setEnabled(True)
        window.import_model_folder(str(usb))
    assert loaded.args[0].path == str(usb)
    with qtbot.waitSignal(parts.models.loaded, timeout=LONG):
        window.import_model_folder(str(second), mode="copy")
    copied = tmp_path / "library" / "models" / "tiny-cpu-copy"
    assert parts.models.info().path == str(copied)
    index = next(i for i in range(window.model_picker.count()) if window.model_picker.itemText(i) == "tiny-cpu")
    with qtbot.waitSignal(parts.models.loaded, timeout=LONG) as switched:
        window.model_picker.activated.emit(index)
    assert switched.args[0].path == str(usb)


def test_an_import_that_fails_its_check_keeps_the_model_in_use(qtbot, make_app, tiny_cpu_package,
                                                               tmp_path) -> None:
    bad = Path(shutil.copytree(tiny_cpu_package, tmp_path / "usb" / "bad"))
    data = bad / "model.onnx.data"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    parts = _window(make_app)
    window = parts.window
    with qtbot.waitSignal(parts.models.loaded, timeout=LONG):
        window.open_model_folder(str(tiny_cpu_package))
    with qtbot.waitSignal(parts.library.failed, timeout=LONG) as failed:
        window.import_model_folder(str(bad), mode="copy")
    assert f"{data} is corrupt" in failed.args[0]
    assert not (tmp_path / "library" / "models" / "bad").exists()
    assert parts.models.info().path == str(tiny_cpu_package) and window.pages.currentIndex() == 1


def test_the_mirror_and_proxy_are_set_in_preferences_and_bad_urls_refused(qtbot, make_app, tmp_path) -> None:
    import dataclasses
    import json as _json

    from app.ui.widgets.qt_preferences import QtPreferences

    parts = _window(make_app)
    window = parts.window
    assert window.apply_download_settings("https://mirror.example/hf", "http://proxy.example:3128")
    saved = _json.loads((tmp_path / "settings.json").read_text())
    assert saved["hub_endpoint"] == "https://mirror.example/hf" and saved["hub_proxy"] == "http://proxy.example:3128"
    assert not window.apply_download_settings("file:///etc/passwd", "")
    assert "is not an http:// or https:// URL" in window.status.currentMessage()
    assert parts.settings.hub_endpoint == "https://mirror.example/hf"  # unchanged
    prefs = window.preferences()
    dialog = QtPreferences(dataclasses.replace(prefs, hub_endpoint="https://mine.example"), window.data_folders(),
                           window, managed={"proxy": "http://it.example:8080"})
    qtbot.addWidget(dialog)
    assert dialog.hub_endpoint.text() == "https://mine.example" and not dialog.hub_endpoint.isReadOnly()
    assert dialog.hub_proxy.text() == "http://it.example:8080" and dialog.hub_proxy.isReadOnly()
