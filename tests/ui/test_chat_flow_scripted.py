"""UI edge cases driven by a scripted event source: streaming, reasoning, stop, switching conversations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.storage.models import MessageStatus
from app.ui.chat_state import MessageState
from tests.ui.scripted_backend import ScriptedBackend, opener


def _load(qtbot, parts) -> None:
    with qtbot.waitSignal(parts.controller.modelLoaded, timeout=10000):
        parts.window.open_model_folder(str(_fake_package(parts)))
    qtbot.waitUntil(lambda: parts.controller.storage.pending() == 0, timeout=10000)


def _fake_package(parts) -> Path:
    folder = parts.settings.path.parent / "pkg"
    folder.mkdir(exist_ok=True)
    (folder / "manifest.json").write_text("{}")
    return folder


def test_streamed_reply_shows_reasoning_collapsed_and_is_saved(qtbot, make_app, tmp_path) -> None:
    backend = ScriptedBackend(["Let me ", "think."], ["Hello", " **world**", "!"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    with qtbot.waitSignal(parts.controller.replyFinished, timeout=10000):
        parts.window.composer.set_text("Hi there")
        parts.window.composer._on_submit()
    parts.window.chat_view.flush()
    widgets = parts.window.chat_view.message_widgets()
    assert [w.message.role for w in widgets] == ["user", "assistant"]
    reply = widgets[1]
    assert reply.body.toPlainText().strip() == "Hello world!"
    assert reply.thought_toggle.isVisible() and reply.thought_toggle.text().startswith("Thought for")
    assert not reply.thought_view.isVisible()  # collapsed by default
    reply.thought_toggle.click()
    assert reply.thought_view.toPlainText() == "Let me think."
    # the database holds the same reply, encrypted (the store decrypts it for us)
    qtbot.waitUntil(lambda: parts.controller.storage.pending() == 0, timeout=10000)
    from app.storage.store import HistoryStore

    parts.controller.shutdown()
    store = HistoryStore.open(tmp_path / "history.db")
    conv = store.list_conversations()[0]
    messages = store.get_messages(conv.id)
    assert [(m.role.value, m.content, m.status) for m in messages] == [
        ("user", "Hi there", MessageStatus.COMPLETE), ("assistant", "Hello **world**!", MessageStatus.COMPLETE)]
    assert messages[1].reasoning == "Let me think."
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("history.db*"))
    assert b"Hi there" not in raw and b"world" not in raw


def test_stop_mid_reply_keeps_partial_text_marked_stopped(qtbot, make_app, tmp_path) -> None:
    backend = ScriptedBackend([], ["one ", "two ", "three ", "four"], hold_after=2)
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    parts.controller.send("count")
    qtbot.waitUntil(backend.held.is_set, timeout=10000)
    assert parts.window.composer.send_button.text() == "Stop"
    with qtbot.waitSignal(parts.controller.replyFinished, timeout=10000):
        parts.window.composer.send_button.click()
    reply = parts.controller.messages[-1]
    assert reply.state is MessageState.STOPPED and reply.text == "one two "
    qtbot.waitUntil(lambda: parts.controller.storage.pending() == 0, timeout=10000)
    assert parts.window.composer.send_button.text() == "Send"
    parts.controller.shutdown()
    from app.storage.store import HistoryStore

    store = HistoryStore.open(tmp_path / "history.db")
    last = store.get_messages(store.list_conversations()[0].id)[-1]
    assert (last.content, last.status) == ("one two ", MessageStatus.STOPPED)
    store.close()


def test_switching_conversation_during_reply_does_not_mix_replies(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["alpha ", "beta ", "gamma"], hold_after=1)
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    c = parts.controller
    parts.controller.send("first chat")
    qtbot.waitUntil(backend.held.is_set, timeout=10000)
    first_id = c.current_id
    c.new_conversation()  # user opens a new chat while the first one still streams
    assert parts.window.chat_view.message_widgets() == []
    with qtbot.waitSignal(c.replyFinished, timeout=10000):
        backend.gate.set()
    assert parts.window.chat_view.message_widgets() == []  # nothing leaked into the new chat's view
    with qtbot.waitSignal(c.messagesReset, timeout=10000, check_params_cb=lambda msgs: bool(msgs)):
        c.select_conversation(first_id)
    shown = [(w.message.role, w.message.text) for w in parts.window.chat_view.message_widgets()]
    assert shown == [("user", "first chat"), ("assistant", "alpha beta gamma")]


def test_regenerate_and_edit_resend_rewrite_history(qtbot, make_app, tmp_path) -> None:
    backend = ScriptedBackend([], ["answer"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    c = parts.controller
    for text in ("q1", "q2"):
        with qtbot.waitSignal(c.replyFinished, timeout=10000):
            c.send(text)
        qtbot.waitUntil(lambda: c.storage.pending() == 0, timeout=10000)
    with qtbot.waitSignal(c.replyFinished, timeout=10000):
        c.regenerate(3)  # the second reply
    assert backend.requests[-1].user_text == "q2"
    assert [t.text for t in backend.requests[-1].history] == ["q1", "answer"]
    qtbot.waitUntil(lambda: c.storage.pending() == 0, timeout=10000)
    with qtbot.waitSignal(c.replyFinished, timeout=10000):
        c.edit_and_resend(0, "q1 edited")
    assert backend.requests[-1].user_text == "q1 edited" and backend.requests[-1].history == ()
    qtbot.waitUntil(lambda: c.storage.pending() == 0, timeout=10000)
    assert [(m.role, m.text) for m in c.messages] == [("user", "q1 edited"), ("assistant", "answer")]
    c.shutdown()
    from app.storage.store import HistoryStore

    store = HistoryStore.open(tmp_path / "history.db")
    stored = [(m.role.value, m.content) for m in store.get_messages(store.list_conversations()[0].id)]
    assert stored == [("user", "q1 edited"), ("assistant", "answer")]
    store.close()


def test_tampered_row_is_reported_not_crashed_on(qtbot, make_app, tmp_path) -> None:
    backend = ScriptedBackend([], ["fine"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    with qtbot.waitSignal(parts.controller.replyFinished, timeout=10000):
        parts.controller.send("secret question")
    qtbot.waitUntil(lambda: parts.controller.storage.pending() == 0, timeout=10000)
    parts.controller.shutdown()
    db = tmp_path / "history.db"
    with sqlite3.connect(db) as conn:
        row_id, content = conn.execute("SELECT id, content FROM messages ORDER BY position LIMIT 1").fetchone()
        damaged = bytes(content[:-1]) + bytes([content[-1] ^ 1])
        conn.execute("UPDATE messages SET content = ? WHERE id = ?", (damaged, row_id))
    reopened = make_app(opener(ScriptedBackend([], ["x"])), database=db)
    qtbot.waitUntil(lambda: len(reopened.controller.conversations) == 1, timeout=10000)
    with qtbot.waitSignal(reopened.controller.messagesReset, timeout=10000, check_params_cb=lambda msgs: bool(msgs)):
        reopened.controller.select_conversation(reopened.controller.conversations[0].id)
    first, second = reopened.controller.messages
    assert first.text == "" and first.error  # reported on the message itself
    assert second.text == "fine"  # the rest of the conversation is intact


def test_a_second_send_before_the_first_reply_starts_is_ignored(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["only once"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    c = parts.controller
    with qtbot.waitSignal(c.replyFinished, timeout=10000):
        c.send("first")
        c.send("second, typed before the history answered")  # still preparing the first reply
    qtbot.waitUntil(lambda: c.storage.pending() == 0, timeout=10000)
    assert [r.user_text for r in backend.requests] == ["first"]
    assert [(m.role, m.text) for m in c.messages] == [("user", "first"), ("assistant", "only once")]


def test_failed_regenerate_clears_busy_and_reloads(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["answer"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    c = parts.controller
    with qtbot.waitSignal(c.replyFinished, timeout=10000):
        c.send("question")
    qtbot.waitUntil(lambda: c.storage.pending() == 0, timeout=10000)
    c.storage.call("delete_conversation", c.current_id)  # the rows vanish under the window (another instance)
    qtbot.waitUntil(lambda: c.storage.pending() == 0, timeout=10000)
    c.regenerate(1)
    qtbot.waitUntil(lambda: c.storage.pending() == 0, timeout=10000)
    assert not c.busy and parts.window.composer.send_button.text() == "Send"
    assert len(backend.requests) == 1  # nothing was generated for rows that are gone


def test_the_reply_uses_the_settings_and_documents_of_the_moment_of_sending(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["ok"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    c = parts.controller
    c.system_prompt, c.reasoning_effort = "PROMPT A", "low"
    with qtbot.waitSignal(c.replyFinished, timeout=10000):
        c.send("hello")
        c.system_prompt, c.reasoning_effort = "PROMPT B", "high"  # the user opened chat B before the reply began
    assert (backend.requests[-1].system_prompt, backend.requests[-1].reasoning_effort) == ("PROMPT A", "low")


def test_clearing_a_search_shows_every_conversation_even_if_the_search_answers_last(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["ok"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    c = parts.controller
    for text in ("apple pie", "banana bread"):
        c.new_conversation()
        with qtbot.waitSignal(c.replyFinished, timeout=10000):
            c.send(text)
        qtbot.waitUntil(lambda: c.storage.pending() == 0, timeout=10000)
    c.search("apple")
    c.search("")  # typed and cleared before the first search answered
    qtbot.waitUntil(lambda: c.storage.pending() == 0, timeout=10000)
    assert sorted(conv.title for conv in c.conversations) == ["apple pie", "banana bread"]
