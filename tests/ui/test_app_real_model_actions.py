"""The user's actions on the real tiny model: stop, regenerate, edit, list management, status bar, reopen."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication

from app.ui import backend
from app.ui.chat_state import MessageState
from tests.ui.conftest import accept_export
from tests.ui.test_app_real_model import _open, greedy

pytestmark = pytest.mark.timeout(600)


def _idle(qtbot, parts) -> None:
    qtbot.waitUntil(lambda: parts.history.pending() == 0, timeout=20000)


def test_stop_regenerate_edit_on_the_real_model(qtbot, make_app, tiny_cpu_package) -> None:
    parts = make_app(backend.open_backend)
    _open(qtbot, parts, tiny_cpu_package)
    r, c = parts.replies, parts.conversations
    parts.window.use_chat_settings(greedy(64))
    # Stop as soon as the first text arrives: the partial reply stays, marked stopped.
    stop = parts.window.composer.send_button.click  # it reads "Stop" while the reply streams
    c.messageChanged.connect(stop)
    with qtbot.waitSignal(r.replyFinished, timeout=120000) as stopped:
        r.send("Tell me a long story")
    c.messageChanged.disconnect(stop)
    assert stopped.args[0].state is MessageState.STOPPED
    assert stopped.args[0].stats.new_tokens < 64
    _idle(qtbot, parts)
    # Regenerate: same prompt, greedy -> a full reply (max tokens or a stop token) replaces the stopped one.
    with qtbot.waitSignal(r.replyFinished, timeout=120000) as regenerated:
        r.regenerate(1)
    assert regenerated.args[0].state is MessageState.COMPLETE
    first_full = regenerated.args[0].text + regenerated.args[0].reasoning
    _idle(qtbot, parts)
    with qtbot.waitSignal(r.replyFinished, timeout=120000) as again:
        r.regenerate(1)
    assert again.args[0].text + again.args[0].reasoning == first_full  # greedy, prefix reuse: same reply
    _idle(qtbot, parts)
    # Edit-and-resend: the history is the edited message and its new reply.
    with qtbot.waitSignal(r.replyFinished, timeout=120000):
        r.edit_and_resend(0, "Tell me a short story")
    assert [m.role for m in c.messages()] == ["user", "assistant"]
    assert c.messages()[0].text == "Tell me a short story"
    # the status bar shows speed, time to first token and context use
    status = parts.window.status
    assert "tok/s" in status.speed_label.text() and "first token" in status.ttft_label.text()
    assert status.context_bar.value() > 0


def test_rename_delete_search_copy_and_reopen_last_model(qtbot, make_app, tiny_cpu_package, tmp_path) -> None:
    parts = make_app(backend.open_backend)
    _open(qtbot, parts, tiny_cpu_package)
    c = parts.conversations
    parts.window.use_chat_settings(greedy(4))
    for text in ("Quarterly budget for Tromsø", "Holiday rota"):
        parts.window.new_action.trigger()
        with qtbot.waitSignal(parts.replies.replyFinished, timeout=120000):
            parts.replies.send(text)
        _idle(qtbot, parts)
    lst = parts.window.conversation_list
    qtbot.waitUntil(lambda: len(lst.titles()) == 2, timeout=10000)
    budget_id = next(conv.conversation_id for conv in c.summaries() if conv.title.startswith("Quarterly"))
    with qtbot.waitSignal(c.conversationsChanged, timeout=10000):
        lst.renameRequested.emit(budget_id, "Budget 2027")
    assert "Budget 2027" in lst.titles()
    with qtbot.waitSignal(c.conversationsChanged, timeout=10000):
        lst.search.setText("tromsø")  # message text, case-insensitive, through the encrypted store
    assert lst.titles() == ["Budget 2027"]
    with qtbot.waitSignal(c.conversationsChanged, timeout=10000):
        lst.search.setText("")
    holiday_id = next(conv.conversation_id for conv in c.summaries() if conv.title == "Holiday rota")
    lst.deleteRequested.emit(holiday_id)
    qtbot.waitUntil(lambda: len(lst.titles()) == 1, timeout=10000)
    assert lst.titles()[0] == "Budget 2027"
    # Copy puts the message text on the clipboard
    with qtbot.waitSignal(c.messagesReset, timeout=10000, check_params_cb=lambda msgs: bool(msgs)):
        lst.selected.emit(budget_id)
    parts.window.chat_view.message_widgets()[0].copy_button.click()
    assert QGuiApplication.clipboard().text() == "Quarterly budget for Tromsø"
    # the next start reopens the last model by itself
    assert parts.settings.last_model == str(tiny_cpu_package)
    from app.ui.application import open_start_model

    second = make_app(backend.open_backend)
    with qtbot.waitSignal(second.models.loaded, timeout=120000):
        assert open_start_model(second, None)


def test_dml_package_opens_on_cpu_when_this_computer_has_no_directml(qtbot, make_app, tiny_checkpoint,
                                                                     tmp_path) -> None:
    from app.export.context import ExportOptions
    from app.export.exporter import export_model

    package = tmp_path / "tiny-dml"
    export_model(tiny_checkpoint, package, "dml", options=ExportOptions(context_length=256))
    # no DirectML here: the window asks for the CPU, with the long CPU context (capped by the package's own)
    assert backend.load_choices(package) == ("cpu", backend.CPU_APP_CONTEXT)
    parts = make_app(backend.open_backend)
    _open(qtbot, parts, package)
    info = parts.models.info()
    assert info.provider == "CPUExecutionProvider" and "DirectML" in info.provider_reason
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=120000) as finished:
        parts.window.use_chat_settings(greedy(4))
        parts.replies.send("hello")
    assert finished.args[0].state is MessageState.COMPLETE


def test_cancel_during_export_leaves_nothing_and_explains(qtbot, make_app, tiny_checkpoint, tmp_path) -> None:
    out = tmp_path / "converted"
    parts = make_app(backend.open_backend, backend.export_checkpoint)
    parts.window._export_planner = accept_export(out)
    # press Cancel on the first progress report
    parts.models.progress.connect(lambda _p: parts.window.first_run.cancel_button.click())
    with qtbot.waitSignal(parts.models.exportFailed, timeout=120000) as failed:
        parts.window.open_model_folder(str(tiny_checkpoint))
    assert failed.args[0]
    assert parts.window.first_run.status.text() == failed.args[0]
    assert not out.exists() and list(tmp_path.glob(".converted.partial-*")) == []
    assert parts.models.info() is None


def test_a_checkpoint_converted_before_opens_its_package_without_converting_again(
        qtbot, make_app, tiny_checkpoint, tmp_path) -> None:
    from app.ui import application
    from tests.support.test_models import PRESETS, write_test_model

    first = shutil.copytree(tiny_checkpoint, tmp_path / "A" / "ckpt")
    parts = make_app(backend.open_backend, backend.export_checkpoint)
    parts.window._export_planner = accept_export(tmp_path / "library" / "models" / "ckpt-cpu")
    _open(qtbot, parts, first)  # converted once, and recorded in the library keyed by content
    converted = parts.models.info().path
    # the same folder again: the real planner finds its package from the library's record, without asking
    assert application.plan_export(_folder(first), parts.window) == Path(converted)
    # the same content in another folder: checked on the engine thread, found by content, nothing converted
    again = shutil.copytree(tiny_checkpoint, tmp_path / "elsewhere" / "gpt-oss")
    parts.window._export_planner = accept_export(tmp_path / "library" / "models" / "never-written")
    _open(qtbot, parts, again)
    assert parts.models.info().path == converted
    assert not (tmp_path / "library" / "models" / "never-written").exists()
    # a different checkpoint in a folder with the same name (B/ckpt after A/ckpt) never gets A's package
    other = write_test_model(tmp_path / "B" / "ckpt", PRESETS["tiny"], seed=7)
    assert backend.converted_package(other) is None
    asked = []
    parts.window._export_planner = lambda folder, parent: asked.append(folder.path) or None
    parts.window.open_model_folder(str(other))
    assert asked == [other] and parts.models.info().path == converted


def _folder(path):
    from app.model_folder import classify_model_folder

    return classify_model_folder(path)
