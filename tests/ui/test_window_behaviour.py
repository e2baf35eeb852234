"""Window behaviour a user relies on: keys, per-chat settings reaching the model, damaged history, export."""

from __future__ import annotations

import hashlib
import json

from PySide6.QtCore import Qt

from tests.ui.scripted_backend import ScriptedBackend, opener
from tests.ui.test_chat_flow_scripted import _idle, _load


def _drop(paths):
    """A drop of local files, as the window receives it from the desktop."""
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    event._mime = mime  # keep the data alive as long as the event
    return event


def test_enter_sends_and_shift_enter_adds_a_line(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["ok"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    edit = parts.window.composer.edit
    edit.setFocus()
    qtbot.keyClicks(edit, "first line")
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(edit, "second line")
    assert edit.toPlainText() == "first line\nsecond line"
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert backend.requests[-1].user_text == "first line\nsecond line"
    assert edit.toPlainText() == ""


def test_system_prompt_effort_and_sampling_reach_the_request(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["ok"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    w = parts.window
    w.settings_action.setChecked(True)
    w.chat_settings.system_prompt.setPlainText("Answer as a contracts lawyer.")
    w.chat_settings.temperature.setValue(0.3)
    w.chat_settings.max_tokens.setValue(777)
    w.composer.reasoning.setCurrentIndex(2)  # High
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        parts.replies.send("hello")
    sent = backend.requests[-1].settings
    assert sent.system_prompt == "Answer as a contracts lawyer."
    assert sent.reasoning_effort == "high"
    assert (sent.sampling.temperature, sent.max_new_tokens) == (0.3, 777)


def test_damaged_history_file_is_reported_left_untouched_and_chat_still_works(qtbot, make_app, tmp_path) -> None:
    db = tmp_path / "history.db"
    db.write_bytes(b"this is not an SQLite database, it is a user's file" * 50)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    backend = ScriptedBackend([], ["still here"])
    failures = []
    parts = make_app(opener(backend), database=db, on_history_failed=failures.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=10000)
    assert str(db) in failures[0] or "history" in failures[0].lower()
    _load(qtbot, parts)
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000) as finished:
        parts.replies.send("are you there?")
    assert finished.args[0].text == "still here"
    parts.shutdown()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_conversation_exports_as_markdown_and_json(qtbot, make_app, tmp_path) -> None:
    backend = ScriptedBackend(["thinking"], ["The answer is 42."])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    c = parts.conversations
    saved = tmp_path / "saved"
    suggested = []
    # instead of a save dialog: note the name it would suggest, answer with our own path
    parts.window.save_exports_with(lambda path: suggested.append(path) or str(saved.with_suffix(path.suffix)))
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        parts.replies.send("What is the answer?")
    _idle(qtbot, parts)
    with qtbot.waitSignal(c.exported, timeout=10000) as md:
        parts.window.conversation_list.exportRequested.emit(c.current_id(), "markdown")
    assert "What is the answer?" in md.args[1] and "The answer is 42." in md.args[1]
    assert saved.with_suffix(".md").read_text(encoding="utf-8") == md.args[1]
    assert suggested[0].name == "What is the answer.md"  # the chat's title, without what file names can't hold
    banner = parts.window.banner
    assert banner.isVisible() and banner.kind == "info" and str(saved.with_suffix(".md")) in banner.text.text()
    assert banner.action.isVisible()  # "Show in folder"
    with qtbot.waitSignal(c.exported, timeout=10000) as js:
        parts.window.conversation_list.exportRequested.emit(c.current_id(), "json")
    text = json.dumps(js.args[1])
    assert "What is the answer?" in text and "The answer is 42." in text
    assert json.loads(saved.with_suffix(".json").read_text(encoding="utf-8")) == js.args[1]


def test_document_limits_are_preferences_that_persist_and_apply(qtbot, make_app, tmp_path) -> None:
    from app.storage.settings import AppSettings
    from app.ui.widgets.qt_preferences import QtPreferences

    parts = make_app(opener(ScriptedBackend([], ["ok"])))
    dialog = QtPreferences(parts.window.preferences(), parts.window.data_folders(), parts.window)
    dialog.max_pages.setValue(7)
    dialog.max_file_mb.setValue(3)
    parts.window.apply_preferences(dialog.result_preferences())
    assert parts.attachments.limits().max_pages == 7
    saved = AppSettings.load(tmp_path / "settings.json").document_limits
    assert (saved.max_pages, saved.max_file_bytes) == (7, 3 * 1024 * 1024)
    # the limit is enforced on the next file: an 8-page document is refused on its chip
    from tests.documents.doc_files import long_pdf

    pdf = long_pdf(tmp_path / "eight.pdf", pages=8)
    parts.window.dropEvent(_drop([pdf]))  # the user drops the file on the window
    qtbot.waitUntil(lambda: not parts.attachments.reading(), timeout=60000)
    item = parts.attachments.items()[0]
    assert item.state.value == "error" and "7" in item.message


def test_theme_switch_applies_at_once_and_is_remembered(qtbot, make_app, tmp_path) -> None:
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from app.storage.settings import AppSettings
    from app.ui.theme import ThemeChoice

    parts = make_app(opener(ScriptedBackend([], ["```python\nx = 1\n```"])))
    _load(qtbot, parts)
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        parts.replies.send("code please")
    parts.window._on_theme(ThemeChoice.DARK)
    window_colour = QApplication.instance().palette().color(QPalette.ColorRole.Window)
    assert window_colour.lightness() < 100
    reply = parts.window.chat_view.message_widgets()[-1]
    assert "#272822" in reply.body.toHtml().lower()  # code block re-rendered with the dark background
    parts.window._on_theme(ThemeChoice.LIGHT)
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() > 150
    assert AppSettings.load(tmp_path / "settings.json").theme == "light"


def test_wrong_passphrase_is_asked_again_then_unlocks(qtbot, make_app, tmp_path, monkeypatch) -> None:
    from app.storage.store import HistoryStore

    db = tmp_path / "locked.db"
    with HistoryStore.open(db, passphrase="the right one", use_keyring=False) as store:
        store.create_conversation("Board minutes")
    monkeypatch.setenv("ENCLAVE_PASSPHRASE", "a wrong one")
    asked = []

    def ask(prompt: str) -> str:  # the window would show a password dialog here
        asked.append(prompt)
        return "the right one"

    parts = make_app(opener(ScriptedBackend([], ["ok"])), database=db, ask_passphrase=ask, open_history=False)
    with qtbot.waitSignal(parts.conversations.conversationsChanged, timeout=20000):
        parts.opener.open()
    assert len(asked) == 1 and "passphrase" in asked[0].lower() and "try again" in asked[0].lower()
    assert parts.window.conversation_list.titles() == ["Board minutes"]


def test_keyboard_shortcuts_reach_search_new_chat_and_stop(qtbot, make_app) -> None:
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QApplication

    backend = ScriptedBackend([], ["one ", "two"], hold_after=1)
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    w = parts.window
    shortcuts = {a.shortcut().toString(): a for a in w.findChildren(QAction) if not a.shortcut().isEmpty()}
    assert {"Ctrl+O", "Ctrl+N", "Ctrl+F", "Esc"} <= set(shortcuts)
    w.activateWindow()
    shortcuts["Ctrl+F"].trigger()
    assert QApplication.focusWidget() is w.conversation_list.search
    parts.replies.send("count")
    qtbot.waitUntil(backend.held.is_set, timeout=10000)
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000) as finished:
        shortcuts["Esc"].trigger()
    assert finished.args[0].state.value == "stopped"
    shortcuts["Ctrl+N"].trigger()
    assert parts.conversations.current_id() is None and w.chat_view.message_widgets() == []


def test_a_reply_cut_by_a_limit_says_so_and_a_too_long_prompt_is_an_error(qtbot, make_app) -> None:
    from app.engine.events import FinishReason

    cut = ScriptedBackend([], ["partial answer"], finish=FinishReason.LENGTH)
    parts = make_app(opener(cut))
    _load(qtbot, parts)
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        parts.replies.send("explain everything")
    parts.window.chat_view.flush()
    note = parts.window.chat_view.message_widgets()[-1].note
    assert note.isVisible() and "length limit" in note.text()

    full = ScriptedBackend([], [], finish=FinishReason.CONTEXT_FULL,
                           error="the prompt has 9000 tokens but the context holds 8192; start a new chat")
    parts = make_app(opener(full))
    _load(qtbot, parts)
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000) as finished:
        parts.replies.send("a very long paste")
    assert finished.args[0].state.value == "error"
    parts.window.chat_view.flush()
    assert "start a new chat" in parts.window.chat_view.message_widgets()[-1].note.text()


def test_first_run_screen_lists_the_catalog_models(qtbot, make_app) -> None:
    from app.model_catalog import load_catalog

    parts = make_app(opener(ScriptedBackend([], ["ok"])))
    text = parts.window.first_run.catalog.text()
    for model in load_catalog():
        assert model.name in text and model.hub_repo in text
    assert "13.8 GB" in text  # gpt-oss-20b's checkpoint size from models/catalog.json


def test_export_advice_comes_from_the_catalog_for_a_known_model_shape(tmp_path) -> None:
    import json as _json

    from app.checkpoint.config import GptOssConfig
    from app.model_catalog import find_model
    from app.ui.backend import catalog_advice

    twenty = tmp_path / "gpt-oss-20b"
    twenty.mkdir()
    (twenty / "config.json").write_text(_json.dumps(GptOssConfig().to_hf_dict()))  # real 20b shape: 24 x 32
    expected = next(t.suits for t in find_model("gpt-oss-20b").targets if t.target == "cpu-int4")
    assert catalog_advice(twenty, "cpu-int4") == expected
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    (tiny / "config.json").write_text(_json.dumps(GptOssConfig().with_changes(num_hidden_layers=3).to_hf_dict()))
    assert catalog_advice(tiny, "cpu") is None


def test_a_stored_chat_with_sampling_out_of_range_is_reset_and_the_window_offers_only_the_range(
        qtbot, make_app, tmp_path) -> None:
    from app.storage.store import HistoryStore

    with HistoryStore.open(tmp_path / "history.db") as store:  # written by hand or by another version
        store.create_conversation("Hot", sampling={"temperature": 2.5, "top_p": 0.5, "max_new_tokens": 300})
    backend = ScriptedBackend([], ["ok"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    w = parts.window
    notices = []
    parts.conversations.notice.connect(notices.append)
    qtbot.waitUntil(lambda: len(w.conversation_list.titles()) == 1, timeout=10000)
    w.conversation_list.list.setCurrentItem(w.conversation_list.row_of(w.conversation_list.ids()[0]))
    assert notices and "temperature" in notices[0] and "Hot" in notices[0]
    assert (w.chat_settings.temperature.value(), w.chat_settings.top_p.value(), w.chat_settings.max_tokens.value()) \
        == (1.0, 0.5, 300)  # the bad value is back to its default, the good ones are kept
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        parts.replies.send("hello")
    sent = backend.requests[-1].settings
    assert (sent.sampling.temperature, sent.sampling.top_p, sent.max_new_tokens) == (1.0, 0.5, 300)
    # the spin boxes offer exactly the engine's range: 2.5 cannot be typed in, top-p 0 neither
    w.chat_settings.temperature.setValue(2.5)
    w.chat_settings.top_p.setValue(0.0)
    assert (w.chat_settings.temperature.value(), w.chat_settings.top_p.value()) == (2.0, 0.01)
