"""UI edge cases driven by a scripted event source: streaming, reasoning, stop, switching conversations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dataclasses import replace

from app.storage.models import MessageStatus
from app.ui.chat_state import MessageState
from tests.ui.scripted_backend import ScriptedBackend, opener


def _load(qtbot, parts) -> None:
    with qtbot.waitSignal(parts.models.loaded, timeout=10000):
        parts.window.open_model_folder(str(_fake_package(parts)))
    _idle(qtbot, parts)


def _idle(qtbot, parts) -> None:
    """Waits until the history thread has done everything asked of it (so the database can be read)."""
    qtbot.waitUntil(lambda: parts.history.pending() == 0, timeout=10000)


def _fake_package(parts) -> Path:
    folder = parts.settings.path.parent / "pkg"
    folder.mkdir(exist_ok=True)
    (folder / "manifest.json").write_text("{}")
    return folder


def test_streamed_reply_shows_reasoning_collapsed_and_is_saved(qtbot, make_app, tmp_path) -> None:
    backend = ScriptedBackend(["Let me ", "think."], ["Hello", " **world**", "!"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        parts.window.composer.set_text("Hi there")
        parts.window.composer.send_button.click()
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
    _idle(qtbot, parts)
    from app.storage.store import HistoryStore

    parts.shutdown()
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
    parts.replies.send("count")
    qtbot.waitUntil(backend.held.is_set, timeout=10000)
    assert parts.window.composer.send_button.text() == "Stop"
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        parts.window.composer.send_button.click()
    reply = parts.conversations.messages()[-1]
    assert reply.state is MessageState.STOPPED and reply.text == "one two "
    _idle(qtbot, parts)
    assert parts.window.composer.send_button.text() == "Send"
    parts.shutdown()
    from app.storage.store import HistoryStore

    store = HistoryStore.open(tmp_path / "history.db")
    last = store.get_messages(store.list_conversations()[0].id)[-1]
    assert (last.content, last.status) == ("one two ", MessageStatus.STOPPED)
    store.close()


def test_switching_conversation_during_reply_does_not_mix_replies(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["alpha ", "beta ", "gamma"], hold_after=1)
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    c = parts.conversations
    parts.replies.send("first chat")
    qtbot.waitUntil(backend.held.is_set, timeout=10000)
    first_id = c.current_id()
    parts.window.new_action.trigger()  # user opens a new chat while the first one still streams
    assert parts.window.chat_view.message_widgets() == []
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        backend.gate.set()
    assert parts.window.chat_view.message_widgets() == []  # nothing leaked into the new chat's view
    with qtbot.waitSignal(c.messagesReset, timeout=10000, check_params_cb=lambda msgs: bool(msgs)):
        c.select(first_id)
    shown = [(w.message.role, w.message.text) for w in parts.window.chat_view.message_widgets()]
    assert shown == [("user", "first chat"), ("assistant", "alpha beta gamma")]


def test_regenerate_and_edit_resend_rewrite_history(qtbot, make_app, tmp_path) -> None:
    backend = ScriptedBackend([], ["answer"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    r = parts.replies
    for text in ("q1", "q2"):
        with qtbot.waitSignal(r.replyFinished, timeout=10000):
            r.send(text)
        _idle(qtbot, parts)
    with qtbot.waitSignal(r.replyFinished, timeout=10000):
        parts.window.chat_view.message_widgets()[3].regenerate_button.click()  # the second reply
    assert backend.requests[-1].user_text == "q2"
    assert [t.text for t in backend.requests[-1].history] == ["q1", "answer"]
    _idle(qtbot, parts)
    with qtbot.waitSignal(r.replyFinished, timeout=10000):
        r.edit_and_resend(0, "q1 edited")
    assert backend.requests[-1].user_text == "q1 edited" and backend.requests[-1].history == ()
    _idle(qtbot, parts)
    assert [(m.role, m.text) for m in parts.conversations.messages()] == [("user", "q1 edited"),
                                                                          ("assistant", "answer")]
    parts.shutdown()
    from app.storage.store import HistoryStore

    store = HistoryStore.open(tmp_path / "history.db")
    stored = [(m.role.value, m.content) for m in store.get_messages(store.list_conversations()[0].id)]
    assert stored == [("user", "q1 edited"), ("assistant", "answer")]
    store.close()


def test_tampered_row_is_reported_not_crashed_on(qtbot, make_app, tmp_path) -> None:
    backend = ScriptedBackend([], ["fine"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        parts.replies.send("secret question")
    _idle(qtbot, parts)
    parts.shutdown()
    db = tmp_path / "history.db"
    with sqlite3.connect(db) as conn:
        row_id, content = conn.execute("SELECT id, content FROM messages ORDER BY position LIMIT 1").fetchone()
        damaged = bytes(content[:-1]) + bytes([content[-1] ^ 1])
        conn.execute("UPDATE messages SET content = ? WHERE id = ?", (damaged, row_id))
    reopened = make_app(opener(ScriptedBackend([], ["x"])), database=db)
    listed = reopened.window.conversation_list
    qtbot.waitUntil(lambda: len(listed.titles()) == 1, timeout=10000)
    with qtbot.waitSignal(reopened.conversations.messagesReset, timeout=10000,
                          check_params_cb=lambda msgs: bool(msgs)):
        listed.list.setCurrentItem(listed.row_of(listed.ids()[0]))
    first, second = reopened.conversations.messages()
    assert first.text == "" and first.error  # reported on the message itself
    assert second.text == "fine"  # the rest of the conversation is intact


def test_a_second_send_before_the_first_reply_starts_is_ignored(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["only once"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    r = parts.replies
    with qtbot.waitSignal(r.replyFinished, timeout=10000):
        r.send("first")
        r.send("second, typed before the history answered")  # still preparing the first reply
    _idle(qtbot, parts)
    assert [request.user_text for request in backend.requests] == ["first"]
    assert [(m.role, m.text) for m in parts.conversations.messages()] == [("user", "first"),
                                                                          ("assistant", "only once")]


def test_failed_regenerate_clears_busy_and_reloads(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["answer"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    r = parts.replies
    with qtbot.waitSignal(r.replyFinished, timeout=10000):
        r.send("question")
    _idle(qtbot, parts)
    cid = parts.conversations.current_id()
    parts.history.call(lambda store: store.delete_conversation(cid))  # the rows vanish (another instance)
    _idle(qtbot, parts)
    r.regenerate(1)
    _idle(qtbot, parts)
    assert not r.busy() and parts.window.composer.send_button.text() == "Send"
    assert len(backend.requests) == 1  # nothing was generated for rows that are gone


def test_the_reply_uses_the_settings_and_documents_of_the_moment_of_sending(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["ok"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    w = parts.window
    settings = parts.conversations.settings()
    w.use_chat_settings(replace(settings, system_prompt="PROMPT A", reasoning_effort="low"))
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        parts.replies.send("hello")
        # the user changed the settings before the reply began
        w.use_chat_settings(replace(settings, system_prompt="PROMPT B", reasoning_effort="high"))
    sent = backend.requests[-1].settings
    assert (sent.system_prompt, sent.reasoning_effort) == ("PROMPT A", "low")


def test_clearing_a_search_shows_every_conversation_even_if_the_search_answers_last(qtbot, make_app) -> None:
    backend = ScriptedBackend([], ["ok"])
    parts = make_app(opener(backend))
    _load(qtbot, parts)
    w = parts.window
    for text in ("apple pie", "banana bread"):
        w.new_action.trigger()
        with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
            parts.replies.send(text)
        _idle(qtbot, parts)
    w.conversation_list.search.setText("apple")
    w.conversation_list.search.setText("")  # typed and cleared before the first search answered
    _idle(qtbot, parts)
    assert sorted(w.conversation_list.titles()) == ["apple pie", "banana bread"]


def test_stored_reply_details_are_read_back_typed_and_damaged_ones_dropped(qtbot, make_app, tmp_path) -> None:
    """A reply's citations and finish reason come back from the history as typed fields; a record another
    version (or damage) left in a shape this one does not know loses those details, never the message."""
    from app.storage.models import Role
    from app.storage.store import HistoryStore

    good = {"marker": 1, "label": "notes.txt lines 1-3", "doc_index": 0, "file_name": "notes.txt",
            "section_index": 0, "section_label": "", "page": None, "chunk_ids": [], "start": 0, "end": 12}
    with HistoryStore.open(tmp_path / "history.db") as store:
        conv = store.create_conversation("Stored")
        store.add_message(conv.id, Role.USER, "question")
        cut = store.begin_assistant_message(conv.id)
        store.finish_message(cut.id, MessageStatus.COMPLETE, content="cut short [1]",
                             timings={"finish_reason": "length", "citations": [good], "ttft_s": 0.5})
        store.add_message(conv.id, Role.USER, "again")
        odd = store.begin_assistant_message(conv.id)
        store.finish_message(odd.id, MessageStatus.COMPLETE, content="odd record", timings={
            "finish_reason": ["not", "a", "reason"], "thought_seconds": "long",
            "citations": [{**good, "marker": "one"}, 7, {**good, "chunk_ids": "all"}, {**good, "marker": 2}]})
    parts = make_app(opener(ScriptedBackend([], ["x"])))
    listed = parts.window.conversation_list
    qtbot.waitUntil(lambda: len(listed.titles()) == 1, timeout=10000)
    with qtbot.waitSignal(parts.conversations.messagesReset, timeout=10000, check_params_cb=lambda msgs: bool(msgs)):
        listed.list.setCurrentItem(listed.row_of(listed.ids()[0]))
    parts.window.chat_view.flush()
    widgets = parts.window.chat_view.message_widgets()
    assert [w.message.text for w in widgets] == ["question", "cut short [1]", "again", "odd record"]
    cut_short, odd_one = widgets[1], widgets[3]
    assert cut_short.message.citations[0].label == "notes.txt lines 1-3" and cut_short.message.stats.ttft_s == 0.5
    assert "length limit" in cut_short.note.text() and "notes.txt lines 1-3" in cut_short.sources.text()
    assert [c.marker for c in odd_one.message.citations] == [2]  # only the citation that parses
    assert odd_one.message.finish_reason is None and odd_one.message.thought_seconds is None
    assert not odd_one.note.text()


def test_a_reply_whose_stream_ends_without_a_last_event_is_not_left_streaming(qtbot, make_app) -> None:
    class Truncated(ScriptedBackend):
        def reply(self, request):
            for event in super().reply(request):
                if event.finished:
                    return  # a backend that stops without saying why
                yield event

    parts = make_app(opener(Truncated([], ["half ", "a reply"])))
    _load(qtbot, parts)
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000) as finished:
        parts.replies.send("hello")
    reply = finished.args[0]
    assert reply.state is MessageState.ERROR and reply.text == "half a reply"
    assert "without finishing" in reply.error
    assert not parts.replies.busy() and parts.window.composer.send_button.text() == "Send"
