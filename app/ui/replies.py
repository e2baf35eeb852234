"""Replies: Send, Regenerate, Edit-and-resend and Stop, from the user's message to the finished, saved reply.

A reply goes through three phases: PREPARING (the user's message, or the rewrite of the history, is being
stored; the conversation may be created first), STREAMING (the engine thread answers; text is committed to
the history every PERSIST_INTERVAL_S, so a crash loses at most that much), and back to IDLE when the engine's
last event arrives. One reply at a time: while the phase is not IDLE, Send is ignored. A reply keeps
streaming into its own conversation (and into the database) while the user looks at another one.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from PySide6.QtCore import QObject, Signal

from app.engine.chat_request import ChatRequest, Turn
from app.engine.events import Channel, FinishReason, GenerationEvent
from app.storage.models import Message, MessageStatus, Role
from app.storage.store import HistoryStore
from app.ui.attachments import AttachmentsController
from app.ui.chat_state import STATE_OF_STATUS, ChatMessage, MessageState, message_from_record, reply_timings, user_timings
from app.ui.conversations import ConversationsController
from app.ui.engine_host import EngineHost
from app.ui.history_host import HistoryClient
from app.ui.i18n import translate
from app.ui.worker import WorkerClient

PERSIST_INTERVAL_S = 0.5  # how often a streaming reply is committed: the most a crash can lose


class ReplyPhase(enum.Enum):
    IDLE = "idle"
    PREPARING = "preparing"  # between Send and the reply's first database row
    STREAMING = "streaming"  # the reply exists; the engine is (about to start) writing it


@dataclass(eq=False)
class _Reply:
    request: ChatRequest
    conversation_id: int
    message: ChatMessage
    started: float = field(default_factory=time.perf_counter)
    last_persist: float = 0.0
    first_final: float | None = None


class RepliesController(QObject):
    busyChanged = Signal(bool)
    replyFinished = Signal(object)  # ChatMessage (of any conversation)
    statsChanged = Signal(object, object, int)  # tok/s, time to first token, context tokens used
    notice = Signal(str)

    def __init__(self, engine: WorkerClient[EngineHost], history: HistoryClient,
                 conversations: ConversationsController, attachments: AttachmentsController) -> None:
        super().__init__()
        self._engine = engine
        self._history = history
        self._conversations = conversations
        self._attachments = attachments
        self._phase = ReplyPhase.IDLE
        self._reply: _Reply | None = None
        conversations.deleted.connect(self._on_deleted)

    # ================================================================== asked by the window
    def phase(self) -> ReplyPhase:
        return self._phase

    def busy(self) -> bool:
        """A reply streams, or one is being set up (its messages are being stored): no second send."""
        return self._phase is not ReplyPhase.IDLE

    def send(self, text: str) -> None:
        if self.busy() or not text.strip():
            return
        conversations = self._conversations
        history = _history(conversations.messages())
        request = self._snapshot(text, history)  # settings and documents as they are when the user sends
        user = ChatMessage(role="user", text=text, documents=tuple(d.name for d in request.documents))
        conversations.append(conversations.current_id(), user)
        self._prepare()
        title = " ".join(text.split())[:60] or translate("Replies", "New chat")
        conversations.ensure_conversation(title, lambda cid: self._store_user_and_reply(cid, user, request),
                                          failed=self._fail_before_reply)

    def regenerate(self, index: int) -> None:
        """New reply to the user message before `index`; everything after it is replaced. The reply at `index`
        is kept as an earlier version (the user pages back to it with ‹ ›)."""
        messages = self._conversations.messages()
        if self.busy() or not (0 < index < len(messages) + 1):
            return
        user_index = next((i for i in range(index - 1, -1, -1) if messages[i].role == "user"), None)
        cid = self._conversations.current_id()
        if user_index is None or cid is None or messages[user_index].message_id is None:
            return
        user = messages[user_index]
        old = messages[user_index + 1] if user_index + 1 < len(messages) else None
        self._conversations.truncate(user_index + 1)
        request = self._snapshot(user.text, _history(messages[:user_index]))
        self._prepare()
        if old is not None and old.role == "assistant" and old.message_id is not None:
            old_id = old.message_id
            self._begin_reply(cid, request, lambda store: store.regenerate_reply(old_id), errored=self._fail_and_reload)
            return
        user_id = user.message_id
        self._history.call(lambda store: store.truncate_after(user_id),
                           finished=lambda _n: self._begin_reply(cid, request), errored=self._fail_and_reload)

    def show_version(self, index: int, version: int) -> None:
        """Shows another kept version of the reply at `index` (the last reply of the open conversation)."""
        messages = self._conversations.messages()
        if self.busy() or index != len(messages) - 1 or messages[index].role != "assistant":
            return
        reply = messages[index]
        if reply.message_id is None or not 1 <= version <= reply.versions or version == reply.version:
            return
        message_id, opened = reply.message_id, self._conversations.current_id()

        def shown(record: Message) -> None:
            if self._conversations.current_id() == opened and any(m is reply for m in self._conversations.messages()):
                self._conversations.replace_message(reply, message_from_record(record))

        self._history.call(lambda store: store.show_reply_version(message_id, version), finished=shown,
                           errored=self.notice.emit)

    def edit_and_resend(self, index: int, new_text: str) -> None:
        messages = self._conversations.messages()
        cid = self._conversations.current_id()
        if self.busy() or not (0 <= index < len(messages)) or not new_text.strip() or cid is None:
            return
        user = messages[index]
        if user.role != "user" or user.message_id is None:
            return
        user.text = new_text
        self._conversations.truncate(index + 1)
        request = self._snapshot(new_text, _history(messages[:index]))
        self._prepare()
        user_id = user.message_id
        self._history.call(lambda store: store.edit_message(user_id, new_text),
                           finished=lambda _m: self._begin_reply(cid, request), errored=self._fail_and_reload)

    def stop(self) -> None:
        if self._reply is not None:
            self._reply.request.cancel.set()

    def close(self) -> None:
        """The window is closing: stop the reply and keep what streamed, marked stopped (not "interrupted")."""
        reply, self._reply = self._reply, None
        self._phase = ReplyPhase.IDLE
        if reply is None:
            return
        reply.request.cancel.set()
        message = reply.message
        if message.message_id is not None:
            message_id, text, reasoning = message.message_id, message.text, message.reasoning
            self._history.call(lambda store: store.finish_message(message_id, MessageStatus.STOPPED,
                                                                  content=text, reasoning=reasoning))

    # ================================================================== preparing
    def _prepare(self) -> None:
        self._phase = ReplyPhase.PREPARING
        self.busyChanged.emit(True)

    def _snapshot(self, user_text: str, history: list[Turn]) -> ChatRequest:
        return ChatRequest(history=tuple(history), user_text=user_text, settings=self._conversations.settings(),
                           documents=self._attachments.documents())

    def _store_user_and_reply(self, cid: int, user: ChatMessage, request: ChatRequest) -> None:
        def stored(record: Message) -> None:
            user.message_id = record.id
            self._begin_reply(cid, request)

        text, timings = user.text, user_timings(user.documents)
        self._history.call(lambda store: store.add_message(cid, Role.USER, text, timings=timings), finished=stored,
                           errored=self._fail_before_reply)

    def _begin_reply(self, cid: int, request: ChatRequest,
                     row: Callable[[HistoryStore], Message] | None = None,
                     errored: Callable[[str], None] | None = None) -> None:
        """Starts the reply: `row` makes its database row (a new one by default; a regenerated reply reuses
        its own), then the engine writes it."""
        message = ChatMessage(role="assistant", state=MessageState.STREAMING)
        reply = _Reply(request=request, conversation_id=cid, message=message)
        self._reply, self._phase = reply, ReplyPhase.STREAMING
        self._conversations.begin_live(cid, message)
        self._conversations.append(cid, message)
        self.busyChanged.emit(True)
        make_row = row or (lambda store: store.begin_assistant_message(cid))

        def started(record: Message) -> None:
            message.message_id = record.id
            message.version, message.versions = record.version, record.versions
            self._engine.submit(lambda host, report: host.reply(request, report),
                                yielded=lambda event: self._on_event(reply, event),
                                finished=lambda _r: self._on_engine_done(reply),
                                errored=lambda error: self._on_event(reply, GenerationEvent(
                                    finish_reason=FinishReason.ERROR, error=error)))

        self._history.call(make_row, finished=started, errored=errored or self._fail_before_reply)

    def _fail_and_reload(self, message: str) -> None:
        """Regenerate/Edit failed in the database: show what the database really holds again."""
        reply = self._reply
        self._fail_before_reply(message)
        if reply is not None:
            self._conversations.end_live(reply.conversation_id)
        self._conversations.reload()

    def _fail_before_reply(self, message: str) -> None:
        reply, phase = self._reply, self._phase
        self._reply, self._phase = None, ReplyPhase.IDLE
        if reply is None:
            last = (self._conversations.messages() or [None])[-1]
            if last is not None and last.role == "user":
                last.state, last.error = MessageState.ERROR, translate("Replies", "Not sent: {reason}").format(
                    reason=message)
                self._conversations.changed(last)
        else:
            reply.message.state, reply.message.error = MessageState.ERROR, message
            self._conversations.end_live(reply.conversation_id)
            self._conversations.changed(reply.message)
        if phase is not ReplyPhase.IDLE:
            self.busyChanged.emit(False)
        self.notice.emit(message)

    # ================================================================== engine events
    def _on_event(self, reply: _Reply, event: GenerationEvent) -> None:
        if reply is not self._reply:
            return  # a reply that was stopped by closing, or failed before the engine answered
        message = reply.message
        now = time.perf_counter()
        if event.citations:
            message.citations = event.citations
        if event.text:
            if event.channel is Channel.ANALYSIS:
                message.reasoning += event.text
            else:
                if reply.first_final is None:
                    reply.first_final = now
                    if message.reasoning:
                        message.thought_seconds = now - reply.started
                message.text += event.text
        stats = message.stats
        message.stats = replace(stats, prompt_tokens=event.prompt_tokens, new_tokens=event.new_tokens,
                                cached_tokens=event.cached_tokens,
                                ttft_s=event.ttft_s if event.ttft_s is not None else stats.ttft_s,
                                decode_tok_s=event.decode_tok_s if event.decode_tok_s is not None
                                else stats.decode_tok_s)
        self.statsChanged.emit(event.decode_tok_s, event.ttft_s, event.prompt_tokens + event.new_tokens)
        if event.finished:
            self._finish(reply, event)
            return
        self._conversations.changed(message)
        if message.message_id is not None and now - reply.last_persist >= PERSIST_INTERVAL_S:
            reply.last_persist = now
            message_id, text, reasoning = message.message_id, message.text, message.reasoning
            self._history.call(lambda store: store.update_streaming_content(message_id, text, reasoning))

    def _on_engine_done(self, reply: _Reply) -> None:
        if reply is self._reply:  # the engine ended without a last event: never leave the reply streaming
            self._on_event(reply, GenerationEvent(finish_reason=FinishReason.ERROR, error=translate(
                "Replies", "The model stopped without finishing the reply.")))

    def _finish(self, reply: _Reply, event: GenerationEvent) -> None:
        message, reason = reply.message, event.finish_reason
        status = {FinishReason.CANCELLED: MessageStatus.STOPPED,
                  FinishReason.ERROR: MessageStatus.ERROR}.get(reason, MessageStatus.COMPLETE)  # type: ignore[arg-type]
        if event.error and status is MessageStatus.COMPLETE:  # e.g. a prompt longer than the context
            status = MessageStatus.ERROR
        message.state, message.error, message.finish_reason = STATE_OF_STATUS[status], event.error, reason
        if message.reasoning and message.thought_seconds is None:
            message.thought_seconds = time.perf_counter() - reply.started
        self._reply, self._phase = None, ReplyPhase.IDLE
        self._conversations.end_live(reply.conversation_id)
        if message.message_id is not None:
            message_id, timings = message.message_id, reply_timings(message)
            text, reasoning, error = message.text, message.reasoning, event.error
            prompt_tokens, new_tokens = event.prompt_tokens or None, event.new_tokens or None
            self._history.call(
                lambda store: store.finish_message(
                    message_id, status, content=text, reasoning=reasoning, prompt_tokens=prompt_tokens,
                    completion_tokens=new_tokens, timings=timings, error=error),
                finished=lambda _m: self._conversations.refresh())
        self._conversations.changed(message)
        self.busyChanged.emit(False)
        self.replyFinished.emit(message)
        if reason is FinishReason.ERROR and event.error:
            self.notice.emit(event.error)

    def _on_deleted(self, conversation_id: int) -> None:
        if self._reply is not None and self._reply.conversation_id == conversation_id:
            self._reply.request.cancel.set()
            self.notice.emit(translate("Replies", "Stopped the reply of the conversation you deleted."))


def _history(messages: list[ChatMessage]) -> list[Turn]:
    """Earlier turns for the prompt; failed replies carry nothing the model should see again."""
    return [Turn("user" if m.role == "user" else "assistant", m.text, m.reasoning) for m in messages
            if m.state is not MessageState.ERROR and (m.text or m.role == "user")]
