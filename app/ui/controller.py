"""ChatController: the UI thread's state — which conversation is open, its messages, the reply in flight.

It is the only object that talks to the two workers. Widgets tell it what the user wants (signals in), it
tells widgets what changed (signals out). Engine events arrive tagged with a request id; a reply keeps
streaming into its own conversation (and into the database) even while the user looks at another one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.engine.events import Channel, FinishReason, GenerationEvent, ModelInfo
from app.storage.models import Conversation, Message, MessageStatus, Role
from app.ui.attachments import AttachmentsController
from app.ui.chat_state import ChatMessage, ConversationSummary, MessageState
from app.ui.document_worker import DocumentWorker
from app.ui.engine_worker import EngineWorker
from app.ui.requests import ExportRequest, GenerateRequest, HistoryTurn, SamplingSettings
from app.ui.storage_worker import StorageClient, StorageWorker

PERSIST_INTERVAL_S = 0.5  # how often a streaming reply is committed: the most a crash can lose

_STATUS_TO_STATE = {
    MessageStatus.COMPLETE: MessageState.COMPLETE,
    MessageStatus.STREAMING: MessageState.STREAMING,
    MessageStatus.STOPPED: MessageState.STOPPED,
    MessageStatus.ERROR: MessageState.ERROR,
    MessageStatus.INTERRUPTED: MessageState.INTERRUPTED,
}


@dataclass
class _ActiveReply:
    request: GenerateRequest
    conversation_id: int
    message: ChatMessage
    started: float = field(default_factory=time.perf_counter)
    last_persist: float = 0.0
    first_final: float | None = None
    stats: dict[str, object] = field(default_factory=dict)


class ChatController(QObject):
    # --- to widgets ---
    conversationsChanged = Signal(list, object)  # list[ConversationSummary], current id or None
    messagesReset = Signal(list)  # list[ChatMessage] of the open conversation
    messageAppended = Signal(object)  # ChatMessage
    messageChanged = Signal(int)  # index in the open conversation
    busyChanged = Signal(bool)
    replyFinished = Signal(object)  # ChatMessage (any conversation)
    settingsLoaded = Signal(str, object, str)  # system prompt, SamplingSettings, reasoning effort
    modelLoaded = Signal(object)  # ModelInfo
    modelFailed = Signal(str)
    progress = Signal(object)  # LoadProgress
    exportFinished = Signal(str)  # package path
    exportFailed = Signal(str)
    statsChanged = Signal(object, object, int)  # tok/s, ttft, context tokens used
    historyReady = Signal(object)  # key warning or None
    historyFailed = Signal(str)
    passphraseNeeded = Signal(bool)
    wrongPassphrase = Signal(str)
    notice = Signal(str)  # a message for the status bar / a dialog
    exported = Signal(str, object)  # format, content (str or dict) of a conversation export

    # --- to workers (queued) ---
    _loadModel = Signal(str)
    _generate = Signal(object)
    _export = Signal(object)
    _openStore = Signal(object)
    _closeStore = Signal()
    _shutdownEngine = Signal()

    def __init__(self, engine_worker: EngineWorker, storage_worker: StorageWorker,
                 document_worker: DocumentWorker | None = None) -> None:
        super().__init__()
        self.model: ModelInfo | None = None
        self.conversations: list[Conversation] = []
        self.current_id: int | None = None
        self.messages: list[ChatMessage] = []
        self.active: _ActiveReply | None = None
        self.system_prompt = ""
        self.reasoning_effort = "medium"
        self.sampling = SamplingSettings()
        self._search_text = ""
        self._engine_thread = QThread()
        self._engine_thread.setObjectName("enclave-engine")
        self._storage_thread = QThread()
        self._storage_thread.setObjectName("enclave-storage")
        self._documents_thread = QThread()
        self._documents_thread.setObjectName("enclave-documents")
        self._creating: list | None = None  # callbacks waiting for the conversation being created
        self._preparing = False  # between Send and the reply's first database row
        self.export_request: ExportRequest | None = None  # the conversion in progress, if any
        self._view = 0  # bumped whenever the user opens another conversation: late results check it
        self._search_seq = 0
        self._engine = engine_worker
        self._storage_worker = storage_worker
        self._document_worker = document_worker or DocumentWorker()
        engine_worker.moveToThread(self._engine_thread)
        storage_worker.moveToThread(self._storage_thread)
        self._document_worker.moveToThread(self._documents_thread)
        self.storage = StorageClient(storage_worker)
        self.storage.error.connect(self.notice)
        self.attachments = AttachmentsController(self.storage, self._document_worker, self._ensure_conversation)

        self._loadModel.connect(engine_worker.load_model)
        self._generate.connect(engine_worker.generate)
        self._export.connect(engine_worker.export)
        self._shutdownEngine.connect(engine_worker.shutdown)
        engine_worker.modelLoaded.connect(self._on_model_loaded)
        engine_worker.modelFailed.connect(self._on_model_failed)
        engine_worker.progress.connect(self.progress)
        engine_worker.event.connect(self._on_event)
        engine_worker.exportFinished.connect(self._on_export_finished)
        engine_worker.exportFailed.connect(self._on_export_failed)

        self._openStore.connect(storage_worker.open)
        self._closeStore.connect(storage_worker.close)
        storage_worker.opened.connect(self._on_store_opened)
        storage_worker.openFailed.connect(self.historyFailed)
        storage_worker.passphraseNeeded.connect(self.passphraseNeeded)
        storage_worker.wrongPassphrase.connect(self.wrongPassphrase)
        for thread in (self._engine_thread, self._storage_thread, self._documents_thread):
            thread.start()

    # ================================================================== lifecycle
    def open_history(self, passphrase: str | None = None) -> None:
        self._openStore.emit(passphrase)

    def load_model(self, path: str) -> None:
        self._loadModel.emit(path)

    def export_model(self, request: ExportRequest) -> None:
        self.export_request = request
        self._export.emit(request)

    def shutdown(self) -> None:
        """Stops a reply in flight, lets both workers finish their queues, and joins the threads."""
        threads = (self._engine_thread, self._storage_thread, self._documents_thread)
        if not any(t.isRunning() for t in threads):
            return
        if self.export_request is not None:
            self.export_request.cancel.set()
        if self.active is not None:
            active, self.active = self.active, None
            active.request.cancel.set()
            if active.message.message_id is not None:  # keep what streamed, marked stopped, not "interrupted"
                self.storage.call("finish_message", active.message.message_id, MessageStatus.STOPPED,
                                  content=active.message.text, reasoning=active.message.reasoning)
        for item in self.attachments.items:
            item.cancel.set()
        self._shutdownEngine.emit()
        self._closeStore.emit()
        for thread in threads:
            thread.quit()
            thread.wait()

    @property
    def busy(self) -> bool:
        """A reply streams, or one is being set up (its messages are being stored): no second send."""
        return self.active is not None or self._preparing

    # ================================================================== conversations
    def refresh_conversations(self) -> None:
        self._search_seq += 1
        seq = self._search_seq  # a slower, older search must not overwrite a newer list
        if self._search_text:
            self.storage.call("search", self._search_text, then=lambda hits: self._on_search_hits(seq, hits))
        else:
            self.storage.call("list_conversations", then=lambda convs: self._on_conversations(seq, convs))

    def search(self, text: str) -> None:
        self._search_text = text.strip()
        self.refresh_conversations()

    def new_conversation(self) -> None:
        """A new chat exists in the database only once its first message is sent."""
        self._view += 1
        self.current_id = None
        self.messages = []
        self.messagesReset.emit(self.messages)
        self.attachments.show_conversation(None)
        self.settingsLoaded.emit(self.system_prompt, self.sampling, self.reasoning_effort)
        self._emit_conversations()

    def select_conversation(self, conversation_id: int) -> None:
        if conversation_id == self.current_id:
            return
        self._view += 1
        self.current_id = conversation_id
        self.messages = []  # never act on the previous conversation's messages while this one loads
        self.messagesReset.emit(self.messages)
        self.attachments.show_conversation(conversation_id)
        conv = next((c for c in self.conversations if c.id == conversation_id), None)
        if conv is not None:
            self._adopt_settings(conv)
        self.storage.call("get_messages", conversation_id,
                          then=lambda msgs, cid=conversation_id: self._on_messages(cid, msgs),
                          failed=self.notice.emit)

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        self.storage.call("rename", conversation_id, title, then=lambda _c: self.refresh_conversations())

    def delete_conversation(self, conversation_id: int) -> None:
        if self.active is not None and self.active.conversation_id == conversation_id:
            self.active.request.cancel.set()
            self.notice.emit("Stopped the reply of the conversation you deleted.")
        if conversation_id == self.current_id:
            self.new_conversation()
        self.storage.call("delete_conversation", conversation_id, then=lambda _r: self.refresh_conversations())

    def export_conversation(self, conversation_id: int, fmt: str) -> None:
        method = "export_markdown" if fmt == "markdown" else "export_json"
        self.storage.call(method, conversation_id, then=lambda content: self.exported.emit(fmt, content))

    def update_chat_settings(self, system_prompt: str, sampling: SamplingSettings, effort: str) -> None:
        self.system_prompt, self.sampling, self.reasoning_effort = system_prompt, sampling, effort
        if self.current_id is not None:
            self.storage.call("update_conversation", self.current_id, system_prompt=system_prompt,
                              reasoning_effort=effort, sampling=asdict(sampling))

    # ================================================================== sending
    def send(self, text: str) -> None:
        if self.busy or not text.strip():
            return
        history = self._history(self.messages)
        user = ChatMessage(role="user", text=text)
        self._append(user)
        self._preparing = True
        self.busyChanged.emit(True)
        title = " ".join(text.split())[:60] or "New chat"
        request = self._snapshot(text, history)  # settings and documents as they are when the user sends
        self._ensure_conversation(title, lambda cid: self._store_user_and_generate(cid, user, request))

    def _ensure_conversation(self, title: str, then) -> None:
        """Runs `then(conversation id)`, creating the conversation in the database first if it is new."""
        if self.current_id is not None:
            then(self.current_id)
            return
        if self._creating is not None:
            self._creating.append(then)
            return
        self._creating = [then]
        self.storage.call(
            "create_conversation", title, system_prompt=self.system_prompt,
            reasoning_effort=self.reasoning_effort, sampling=asdict(self.sampling),
            model_id=self.model.name if self.model else None,
            then=lambda conv, view=self._view: self._on_created(view, conv), failed=self._on_create_failed)

    def _on_created(self, view: int, conv: Conversation) -> None:
        waiting, self._creating = self._creating or [], None
        self.conversations.insert(0, conv)
        if view == self._view:  # the user is still on the new chat (not moved to another one meanwhile)
            self.current_id = conv.id
            self.attachments.adopt_conversation(conv.id)
        self._emit_conversations()
        for then in waiting:
            then(conv.id)

    def _on_create_failed(self, message: str) -> None:
        self._creating = None
        self._fail_before_reply(message)

    def stop(self) -> None:
        if self.active is not None:
            self.active.request.cancel.set()

    def regenerate(self, index: int) -> None:
        """New reply to the user message before `index`; everything from `index` on is replaced."""
        if self.busy or not (0 < index < len(self.messages) + 1):
            return
        user_index = index - 1
        while user_index >= 0 and self.messages[user_index].role != "user":
            user_index -= 1
        if user_index < 0:
            return
        user = self.messages[user_index]
        del self.messages[user_index + 1:]
        self.messagesReset.emit(self.messages)
        history = self._history(self.messages[:user_index])
        cid = self.current_id
        assert cid is not None and user.message_id is not None
        request = self._snapshot(user.text, history)
        self._preparing = True
        self.busyChanged.emit(True)
        self.storage.call("truncate_after", user.message_id,
                          then=lambda _n: self._begin_reply(cid, request), failed=self._fail_and_reload)

    def edit_and_resend(self, index: int, new_text: str) -> None:
        if self.busy or not (0 <= index < len(self.messages)) or not new_text.strip():
            return
        user = self.messages[index]
        if user.role != "user" or user.message_id is None:
            return
        user.text = new_text
        del self.messages[index + 1:]
        self.messagesReset.emit(self.messages)
        history = self._history(self.messages[:index])
        cid = self.current_id
        assert cid is not None
        request = self._snapshot(new_text, history)
        self._preparing = True
        self.busyChanged.emit(True)
        self.storage.call("edit_message", user.message_id, new_text,
                          then=lambda _m: self._begin_reply(cid, request), failed=self._fail_and_reload)

    # ================================================================== internals: storage results
    @Slot(object)
    def _on_store_opened(self, warning: object) -> None:
        self.historyReady.emit(warning)
        self.refresh_conversations()

    def _on_conversations(self, seq: int, conversations: list[Conversation]) -> None:
        if seq != self._search_seq:
            return
        self.conversations = list(conversations)
        self._emit_conversations()

    def _on_search_hits(self, seq: int, hits: list) -> None:
        ids = [h.conversation_id for h in hits]
        self.storage.call("list_conversations", then=lambda convs: self._on_filtered(seq, convs, ids))

    def _on_filtered(self, seq: int, conversations: list[Conversation], ids: list[int]) -> None:
        if seq != self._search_seq:
            return
        by_id = {c.id: c for c in conversations}
        self.conversations = [by_id[i] for i in ids if i in by_id]
        self._emit_conversations()

    def _emit_conversations(self) -> None:
        summaries = [ConversationSummary(c.id, c.title, c.updated) for c in self.conversations]
        self.conversationsChanged.emit(summaries, self.current_id)

    def _on_messages(self, conversation_id: int, records: list[Message]) -> None:
        if conversation_id != self.current_id:
            return  # the user moved on before the read finished
        self.messages = [_chat_message(r) for r in records]
        if self.active is not None and self.active.conversation_id == conversation_id:
            live = self.active.message  # keep showing the live reply, not its last saved copy
            at = next((i for i, m in enumerate(self.messages) if m.message_id == live.message_id), None)
            if at is None:
                self.messages.append(live)
            else:
                self.messages[at] = live
        self.messagesReset.emit(self.messages)

    def _snapshot(self, user_text: str, history: list[HistoryTurn]) -> GenerateRequest:
        return GenerateRequest(
            conversation_id=-1, history=tuple(history), user_text=user_text, system_prompt=self.system_prompt,
            reasoning_effort=self.reasoning_effort, sampling=self.sampling, documents=self.attachments.documents())

    def _store_user_and_generate(self, cid: int, user: ChatMessage, request: GenerateRequest) -> None:
        def stored(record: Message) -> None:
            user.message_id = record.id
            self._begin_reply(cid, request)

        self.storage.call("add_message", cid, Role.USER, user.text, then=stored,
                          failed=lambda msg: self._fail_before_reply(msg))

    def _begin_reply(self, cid: int, request: GenerateRequest) -> None:
        self._preparing = False
        reply = ChatMessage(role="assistant", state=MessageState.STREAMING)
        request = replace(request, conversation_id=cid)
        self.active = _ActiveReply(request=request, conversation_id=cid, message=reply)
        if cid == self.current_id:
            self._append(reply)
        self.busyChanged.emit(True)

        def started(record: Message) -> None:
            reply.message_id = record.id
            self._generate.emit(request)

        self.storage.call("begin_assistant_message", cid, then=started,
                          failed=lambda msg: self._fail_before_reply(msg))

    def _fail_and_reload(self, message: str) -> None:
        """Regenerate/Edit failed in the database: show what the database really holds again."""
        self._fail_before_reply(message)
        if self.current_id is not None:
            cid = self.current_id
            self.storage.call("get_messages", cid, then=lambda msgs: self._on_messages(cid, msgs))

    def _fail_before_reply(self, message: str) -> None:
        if self._preparing and self.active is None:
            self.busyChanged.emit(False)
        self._preparing = False
        if self.active is None and self.messages and self.messages[-1].role == "user":
            self.messages[-1].state = MessageState.ERROR
            self.messages[-1].error = f"Not sent: {message}"
            self._changed(self.messages[-1])
        if self.active is not None:
            self.active.message.state = MessageState.ERROR
            self.active.message.error = message
            self._changed(self.active.message)
            self.active = None
            self.busyChanged.emit(False)
        self.notice.emit(message)

    # ================================================================== internals: engine events
    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        self.model = None  # the worker closed the previous model before trying this one
        self.modelFailed.emit(message)

    @Slot(int, object)
    def _on_export_finished(self, request_id: int, path: object) -> None:
        if self.export_request is not None and self.export_request.request_id == request_id:
            self.export_request = None
            self.exportFinished.emit(str(path))

    @Slot(int, str)
    def _on_export_failed(self, request_id: int, message: str) -> None:
        if self.export_request is not None and self.export_request.request_id == request_id:
            self.export_request = None
            self.exportFailed.emit(message)

    @Slot(object)
    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.model = info
        tokenizer = Path(info.path) / "tokenizer.json"
        if tokenizer.is_file():
            self.attachments.use_tokenizer(str(tokenizer))
        self.modelLoaded.emit(info)

    @Slot(int, object)
    def _on_event(self, request_id: int, event: GenerationEvent) -> None:
        active = self.active
        if active is None or active.request.request_id != request_id:
            return
        reply = active.message
        now = time.perf_counter()
        citations = event.extra.get("citations") if event.extra else None
        if isinstance(citations, list):
            reply.citations = citations
        if event.text:
            if event.channel is Channel.ANALYSIS:
                reply.reasoning += event.text
            else:
                if active.first_final is None:
                    active.first_final = now
                    if reply.reasoning:
                        reply.thought_seconds = now - active.started
                reply.text += event.text
        active.stats.update(prompt_tokens=event.prompt_tokens, new_tokens=event.new_tokens,
                            cached_tokens=event.cached_tokens)
        if event.ttft_s is not None:
            active.stats["ttft_s"] = event.ttft_s
        if event.decode_tok_s is not None:
            active.stats["decode_tok_s"] = event.decode_tok_s
        self.statsChanged.emit(event.decode_tok_s, event.ttft_s, event.prompt_tokens + event.new_tokens)
        if event.finished:
            self._finish(active, event)
            return
        self._changed(reply)
        if reply.message_id is not None and now - active.last_persist >= PERSIST_INTERVAL_S:
            active.last_persist = now
            self.storage.call("update_streaming_content", reply.message_id, reply.text, reply.reasoning)

    def _finish(self, active: _ActiveReply, event: GenerationEvent) -> None:
        reply = active.message
        reason = event.finish_reason
        status = {FinishReason.CANCELLED: MessageStatus.STOPPED,
                  FinishReason.ERROR: MessageStatus.ERROR}.get(reason, MessageStatus.COMPLETE)
        if event.error and status is MessageStatus.COMPLETE:  # e.g. a prompt longer than the context
            status = MessageStatus.ERROR
        reply.state = _STATUS_TO_STATE[status]
        reply.error = event.error
        if reply.reasoning and reply.thought_seconds is None:
            reply.thought_seconds = time.perf_counter() - active.started
        timings = {k: v for k, v in active.stats.items() if k in ("ttft_s", "decode_tok_s", "cached_tokens")}
        timings["finish_reason"] = reason.value if reason else None
        if reply.thought_seconds is not None:
            timings["thought_seconds"] = reply.thought_seconds
        if reply.citations:
            timings["citations"] = reply.citations
        reply.stats = {**active.stats, "finish_reason": timings["finish_reason"]}
        self.active = None
        if reply.message_id is not None:
            self.storage.call(
                "finish_message", reply.message_id, status, content=reply.text, reasoning=reply.reasoning,
                prompt_tokens=event.prompt_tokens or None, completion_tokens=event.new_tokens or None,
                timings=timings, error=event.error, then=lambda _m: self.refresh_conversations())
        self._changed(reply)
        self.busyChanged.emit(False)
        self.replyFinished.emit(reply)
        if reason is FinishReason.ERROR and event.error:
            self.notice.emit(event.error)

    # ================================================================== helpers
    def _append(self, message: ChatMessage) -> None:
        self.messages.append(message)
        self.messageAppended.emit(message)

    def _changed(self, message: ChatMessage) -> None:
        for index, m in enumerate(self.messages):
            if m is message:
                self.messageChanged.emit(index)
                return

    def _adopt_settings(self, conv: Conversation) -> None:
        self.system_prompt = conv.system_prompt
        self.reasoning_effort = conv.reasoning_effort
        known = {k: v for k, v in (conv.sampling or {}).items() if k in SamplingSettings.__dataclass_fields__}
        self.sampling = SamplingSettings(**known)
        self.settingsLoaded.emit(self.system_prompt, self.sampling, self.reasoning_effort)

    @staticmethod
    def _history(messages: list[ChatMessage]) -> list[HistoryTurn]:
        """Earlier turns for the prompt; failed replies carry nothing the model should see again."""
        return [HistoryTurn(m.role, m.text, m.reasoning) for m in messages
                if m.state is not MessageState.ERROR and (m.text or m.role == "user")]


def _chat_message(record: Message) -> ChatMessage:
    timings = record.timings or {}
    thought = timings.get("thought_seconds")
    citations = timings.get("citations")
    return ChatMessage(
        role=record.role.value, text=record.content, reasoning=record.reasoning,
        state=_STATUS_TO_STATE.get(record.status, MessageState.COMPLETE), message_id=record.id,
        thought_seconds=float(thought) if isinstance(thought, (int, float)) else None,
        error=record.error or record.decrypt_error, stats=dict(timings),
        citations=list(citations) if isinstance(citations, list) else [],
    )
