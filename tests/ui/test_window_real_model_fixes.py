"""The window's fixes on the real tiny model: what the status bar says while loading and after switching chats
or restarting, and reply versions kept by Regenerate across a restart."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.engine.sampling import SamplingParams
from app.ui import backend
from tests.ui.test_app_real_model import _open, greedy

pytestmark = pytest.mark.timeout(600)


def _idle(qtbot, parts) -> None:
    qtbot.waitUntil(lambda: parts.history.pending() == 0 and not parts.replies.busy(), timeout=60000)
    parts.window.chat_view.flush()


def _send(qtbot, parts, text: str):
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=120000) as finished:
        parts.replies.send(text)
    _idle(qtbot, parts)
    return finished.args[0]


def test_loading_says_one_thing_everywhere_and_done_only_when_done(qtbot, make_app, tiny_cpu_package) -> None:
    parts = make_app(backend.open_backend)
    w = parts.window
    seen = []  # what the user saw at each step (the window has handled the step when this runs)
    parts.models.progress.connect(lambda p: seen.append((p.fraction, w.status.currentMessage(),
                                                         w.first_run.status.text(), w.model_bar.facts.text())))
    _open(qtbot, parts, tiny_cpu_package)
    assert len(seen) >= 3
    for _fraction, status, first_run, model_bar in seen:
        assert status == first_run == model_bar  # one text for the step, wherever it shows
        assert "model loaded" not in status.lower()  # not done before done
    assert w.status.currentMessage().startswith(f"Loaded {parts.models.info().name} in ")
    assert w.model_bar.name.text() == parts.models.info().name and "cpu package" in w.model_bar.facts.text()


def test_status_follows_the_open_chat_and_replies_keep_their_versions_across_a_restart(
        qtbot, make_app, tiny_cpu_package, tmp_path) -> None:
    parts = make_app(backend.open_backend)
    _open(qtbot, parts, tiny_cpu_package)
    w, status = parts.window, parts.window.status
    w.use_chat_settings(greedy(6))
    first = _send(qtbot, parts, "First chat")
    first_cid = parts.conversations.current_id()
    used_first = first.stats.prompt_tokens + first.stats.new_tokens
    assert status.context_bar.value() > 0 and "tok/s" in status.speed_label.text()
    w.new_action.trigger()  # the status bar no longer shows the other chat's numbers
    assert status.speed_label.text() == "" and status.context_bar.value() == 0
    w.use_chat_settings(greedy(6))
    _send(qtbot, parts, "Second chat, with a longer question so that its context differs from the first one")
    with qtbot.waitSignal(parts.conversations.messagesReset, timeout=10000, check_params_cb=bool):
        w.conversation_list.selected.emit(first_cid)
    expected = round(100 * used_first / parts.models.info().context_length)
    assert status.context_bar.value() == expected and str(f"{used_first:,}") in status.context_bar.toolTip()

    # Regenerate keeps the first reply; ‹ › pages between them
    w.use_chat_settings(replace(parts.conversations.settings(), sampling=SamplingParams(temperature=1.0, seed=3)))
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=120000) as regenerated:
        w.chat_view.message_widgets()[1].regenerate_button.click()
    _idle(qtbot, parts)
    second_text = regenerated.args[0].text + regenerated.args[0].reasoning
    reply = w.chat_view.message_widgets()[1]
    assert (reply.message.version, reply.message.versions) == (2, 2)
    assert reply.version_label.isVisible() and reply.version_label.text() == "2 / 2"
    assert reply.previous_button.isEnabled() and not reply.next_button.isEnabled()
    with qtbot.waitSignal(parts.conversations.messageChanged, timeout=10000):
        reply.previous_button.click()
    _idle(qtbot, parts)
    shown = w.chat_view.message_widgets()[1]
    assert shown is reply and reply.message.version == 1
    assert reply.message.text + reply.message.reasoning == first.text + first.reasoning
    assert reply.version_label.text() == "1 / 2"
    parts.shutdown()

    # after a restart: the version chosen, the other one still there, the context meter before any Send
    again = make_app(backend.open_backend)
    _open(qtbot, again, tiny_cpu_package)
    with qtbot.waitSignal(again.conversations.messagesReset, timeout=10000, check_params_cb=bool):
        again.window.conversation_list.selected.emit(first_cid)
    again.window.chat_view.flush()
    assert again.window.status.context_bar.value() == expected
    reopened = again.window.chat_view.message_widgets()[1]
    assert (reopened.message.version, reopened.message.versions) == (1, 2)
    with qtbot.waitSignal(again.conversations.messageChanged, timeout=10000):
        reopened.next_button.click()
    _idle(qtbot, again)
    assert reopened.message.text + reopened.message.reasoning == second_text


def test_context_length_and_cpu_threads_from_preferences_reach_the_next_model(qtbot, make_app,
                                                                              long_cpu_package) -> None:
    from app.ui.engine_host import EngineHost
    from app.ui.widgets.qt_preferences import QtPreferences

    parts = make_app(backend.open_backend)
    w = parts.window
    dialog = QtPreferences(w.preferences(), w.data_folders(), w)
    dialog.context_length.setCurrentIndex(dialog.context_length.findData(4096))
    dialog.cpu_threads.setValue(1)
    w.apply_preferences(dialog.result_preferences())
    _open(qtbot, parts, long_cpu_package)  # an 8k package: 4096 is the user's choice, not the package's limit
    assert parts.models.info().context_length == 4096
    host = next(worker.host for worker in parts.threads._workers if isinstance(worker.host, EngineHost))
    assert host._backend.model.session.get_session_options().intra_op_num_threads == 1
    assert "4,096-token context" in w.model_bar.facts.text()
