"""The history as the window shows it: the conversation list, and the one conversation that is open.

Owns the open conversation's messages and its chat settings. The replies controller writes a streaming reply
into it through `append`/`changed`, and registers the reply with `begin_live`, so that reopening the
conversation it belongs to shows the live reply, not its last saved copy. Every result from the history thread
is checked against what is open *now*: the user may have moved on before a read finished.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from app.engine.chat_request import ChatSettings
from app.storage.models import Conversation, Message
from app.storage.store import HistoryStore
from app.ui.chat_state import ChatMessage, ConversationSummary, message_from_record
from app.ui.history_host import HistoryClient
from app.ui.i18n import translate


@dataclass(eq=False)
class _Open:
    """The conversation on screen; a new object whenever the user opens another one (None: a new chat that
    the database does not hold yet). Late results compare identity with the one open now."""

    conversation_id: int | None
    messages: list[ChatMessage] = field(default_factory=list)


@dataclass(frozen=True)
class _Waiting:
    then: Callable[[int], None]
    failed: Callable[[str], None] | None


class ConversationsController(QObject):
    conversationsChanged = Signal(list, object)  # list[ConversationSummary], open id or None
    messagesReset = Signal(list)  # list[ChatMessage] of the open conversation
    messageAppended = Signal(object)  # ChatMessage
    messageChanged = Signal(int)  # index in the open conversation
    settingsLoaded = Signal(object)  # ChatSettings of the open conversation
    shown = Signal(object)  # the conversation id now open, or None for a new chat (attachments follow it)
    adopted = Signal(int)  # the new chat on screen got its database id
    deleted = Signal(int)  # conversation id
    exported = Signal(str, object, str)  # format, content (str or dict) of a conversation export, its title
    notice = Signal(str)  # a message for the status bar

    def __init__(self, history: HistoryClient, settings: ChatSettings) -> None:
        super().__init__()
        self._history = history
        self._settings = settings  # of the open chat
        self._defaults = settings  # of a new chat
        self._conversations: list[Conversation] = []
        self._open = _Open(None)
        self._search_text = ""
        self._snippets: dict[int, str] = {}  # conversation id -> the matching text, while searching
        self._creating: list[_Waiting] | None = None  # waiting for the conversation being created
        self._live: dict[int, ChatMessage] = {}  # conversation id -> its reply that is streaming
        self._model_id: str | None = None

    # ================================================================== asked by the window and the replies
    def current_id(self) -> int | None:
        return self._open.conversation_id

    def messages(self) -> list[ChatMessage]:
        """The open conversation's messages (a copy of the list; the messages themselves are live)."""
        return list(self._open.messages)

    def message(self, index: int) -> ChatMessage | None:
        return self._open.messages[index] if 0 <= index < len(self._open.messages) else None

    def settings(self) -> ChatSettings:
        return self._settings

    def summaries(self) -> list[ConversationSummary]:
        return [ConversationSummary(c.id, c.title, c.updated, self._snippets.get(c.id, ""))
                for c in self._conversations]

    def search_text(self) -> str:
        return self._search_text

    def use_model(self, model_id: str | None) -> None:
        """The model new conversations are recorded with."""
        self._model_id = model_id

    # ================================================================== the list
    def refresh(self) -> None:
        text = self._search_text

        def listed(store: HistoryStore) -> tuple[list[Conversation], dict[int, str]]:
            conversations = store.list_conversations()
            if not text:
                return conversations, {}
            by_id = {c.id: c for c in conversations}
            hits = [hit for hit in store.search(text) if hit.conversation_id in by_id]
            return [by_id[hit.conversation_id] for hit in hits], {hit.conversation_id: hit.snippet for hit in hits}

        self._history.call(listed, finished=self._on_listed, latest="conversation list")

    def search(self, text: str) -> None:
        self._search_text = text.strip()
        self.refresh()

    def _on_listed(self, listed: tuple[list[Conversation], dict[int, str]]) -> None:
        conversations, self._snippets = listed
        self._conversations = list(conversations)
        self._emit_conversations()

    def _emit_conversations(self) -> None:
        self.conversationsChanged.emit(self.summaries(), self._open.conversation_id)

    # ================================================================== the open conversation
    def set_defaults(self, settings: ChatSettings) -> None:
        """What new chats start with (Preferences › New chats); the open chat keeps its own."""
        self._defaults = settings
        if self._open.conversation_id is None and not self._open.messages:  # the new chat on screen follows
            self._settings = settings
            self.settingsLoaded.emit(settings)

    def new_conversation(self) -> None:
        """A new chat exists in the database only once its first message is sent; it starts with the defaults."""
        self._show(_Open(None))
        self._settings = self._defaults
        self.settingsLoaded.emit(self._settings)
        self._emit_conversations()

    def select(self, conversation_id: int) -> None:
        if conversation_id == self._open.conversation_id:
            return
        opened = _Open(conversation_id)  # never act on the previous conversation's messages while this one loads
        self._show(opened)
        conv = next((c for c in self._conversations if c.id == conversation_id), None)
        if conv is not None:
            self._adopt_settings(conv)
        self._history.call(lambda store: store.get_messages(conversation_id),
                           finished=lambda records: self._on_messages(opened, records), errored=self.notice.emit)

    def reload(self) -> None:
        """Shows again what the database holds for the open conversation (after a failed rewrite)."""
        opened = self._open
        if opened.conversation_id is not None:
            cid = opened.conversation_id
            self._history.call(lambda store: store.get_messages(cid),
                               finished=lambda records: self._on_messages(opened, records))

    def rename(self, conversation_id: int, title: str) -> None:
        self._history.call(lambda store: store.rename(conversation_id, title), finished=lambda _c: self.refresh())

    def delete(self, conversation_id: int) -> None:
        self.deleted.emit(conversation_id)  # a reply streaming into it stops
        if conversation_id == self._open.conversation_id:
            self.new_conversation()
        self._history.call(lambda store: store.delete_conversation(conversation_id),
                           finished=lambda _r: self.refresh())

    def export(self, conversation_id: int, fmt: str) -> None:
        title = next((c.title for c in self._conversations if c.id == conversation_id), "")
        if fmt == "markdown":
            self._history.call(lambda store: store.export_markdown(conversation_id),
                               finished=lambda content: self.exported.emit(fmt, content, title))
        else:
            self._history.call(lambda store: store.export_json(conversation_id),
                               finished=lambda content: self.exported.emit(fmt, content, title))

    def update_settings(self, settings: ChatSettings) -> None:
        self._settings = settings
        cid = self._open.conversation_id
        if cid is not None:
            self._history.call(lambda store: store.update_conversation(
                cid, system_prompt=settings.system_prompt, reasoning_effort=settings.reasoning_effort,
                sampling=settings.sampling_json()))

    def ensure_conversation(self, title: str, then: Callable[[int], None],
                            failed: Callable[[str], None] | None = None) -> None:
        """Runs `then(conversation id)`, creating the open conversation in the database first if it is new."""
        if self._open.conversation_id is not None:
            then(self._open.conversation_id)
            return
        if self._creating is not None:
            self._creating.append(_Waiting(then, failed))
            return
        self._creating = [_Waiting(then, failed)]
        opened, settings, model_id = self._open, self._settings, self._model_id
        self._history.call(
            lambda store: store.create_conversation(
                title, system_prompt=settings.system_prompt, reasoning_effort=settings.reasoning_effort,
                sampling=settings.sampling_json(), model_id=model_id),
            finished=lambda conv: self._on_created(opened, conv),
            errored=self._on_create_failed)

    def _on_created(self, opened: _Open, conv: Conversation) -> None:
        waiting, self._creating = self._creating or [], None
        self._conversations.insert(0, conv)
        if opened is self._open:  # the user is still on the new chat (not moved to another one meanwhile)
            opened.conversation_id = conv.id
            self.adopted.emit(conv.id)
        self._emit_conversations()
        for waiter in waiting:
            waiter.then(conv.id)

    def _on_create_failed(self, message: str) -> None:
        waiting, self._creating = self._creating or [], None
        told = [w.failed for w in waiting if w.failed is not None]
        for failed in told:
            failed(message)
        if not told:
            self.notice.emit(message)

    # ================================================================== the reply streaming into the open one
    def append(self, conversation_id: int | None, message: ChatMessage) -> None:
        if conversation_id == self._open.conversation_id:
            self._open.messages.append(message)
            self.messageAppended.emit(message)

    def changed(self, message: ChatMessage) -> None:
        for index, m in enumerate(self._open.messages):
            if m is message:
                self.messageChanged.emit(index)
                return

    def replace_message(self, message: ChatMessage, new: ChatMessage) -> None:
        """Shows `new` (another version of a reply) in place of `message`, in the same widget."""
        for f in dataclasses.fields(ChatMessage):
            setattr(message, f.name, getattr(new, f.name))
        self.changed(message)

    def truncate(self, keep: int) -> None:
        """Drops the open conversation's messages from `keep` on (a regenerated or edited turn replaces them)."""
        del self._open.messages[keep:]
        self.messagesReset.emit(self._open.messages)

    def begin_live(self, conversation_id: int, message: ChatMessage) -> None:
        self._live[conversation_id] = message

    def end_live(self, conversation_id: int) -> None:
        self._live.pop(conversation_id, None)

    # ================================================================== internals
    def _show(self, opened: _Open) -> None:
        self._open = opened
        self.messagesReset.emit(opened.messages)
        self.shown.emit(opened.conversation_id)

    def _on_messages(self, opened: _Open, records: list[Message]) -> None:
        if opened is not self._open:
            return  # the user moved on before the read finished
        messages = [message_from_record(r) for r in records]
        live = self._live.get(opened.conversation_id) if opened.conversation_id is not None else None
        if live is not None:  # keep showing the live reply, not its last saved copy
            at = next((i for i, m in enumerate(messages) if m.message_id == live.message_id), None)
            if at is None:
                messages.append(live)
            else:
                messages[at] = live
        opened.messages[:] = messages
        self.messagesReset.emit(opened.messages)

    def _adopt_settings(self, conv: Conversation) -> None:
        """The stored conversation's settings; a stored value this version cannot use is reset, and said so."""
        problems: list[str] = []
        try:
            base = ChatSettings(system_prompt=conv.system_prompt, reasoning_effort=conv.reasoning_effort)
        except ValueError:
            base = ChatSettings(system_prompt=conv.system_prompt)
            problems.append("reasoning_effort")
        settings, bad = base.with_sampling_json(conv.sampling if isinstance(conv.sampling, dict) else {})
        problems.extend(bad)
        self._settings = settings
        if problems:
            self.notice.emit(translate("Conversations", "Some settings of “{title}” could not be used and were "
                                       "reset: {names}.").format(title=conv.title, names=", ".join(problems)))
        self.settingsLoaded.emit(settings)
