"""The user turn for a question about attached documents, sized to what is left of the context.

Shared by the desktop app, `enclave chat --attach` and the remote engine, so all of them put the same passages
in front of the model and cite them the same way. The budget is the context left after the system prompt, the
conversation so far and the reply; on a CPU it is capped, because reading 100k tokens of documents there takes
many minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tokenizers import Tokenizer

from app.documents.grounding import Citation, GroundedPrompt, context_budget, ground_question
from app.documents.index import DocumentIndex
from app.documents.model import Document
from app.engine.chat_request import ChatRequest
from app.tokenizer.counting import count_tokens

CPU_DOCUMENT_BUDGET = 16384
CPU_PROVIDER = "CPUExecutionProvider"


def document_cap(provider: str) -> int | None:
    """The most document tokens a reply on `provider` is given (None: only the context limits it)."""
    return CPU_DOCUMENT_BUDGET if provider == CPU_PROVIDER else None


class DocumentGrounder:
    """Keeps one retrieval index per set of attached documents (chunking 300 pages costs ~0.6 s).

    It needs only token counts, so a local model and a remote engine ground documents the same way:
    `prompt_tokens()` is the size of the conversation's prompt so far, `context_tokens` the model's context.
    """

    def __init__(self, tokenizer: Tokenizer, *, prompt_tokens: Callable[[], int], context_tokens: int,
                 cap: int | None = None) -> None:
        self.tokenizer = tokenizer
        self.prompt_tokens = prompt_tokens
        self.context_tokens = context_tokens
        self.cap = cap
        self._index: tuple[tuple[int, ...], DocumentIndex] | None = None

    def count_tokens(self, text: str) -> int:
        return count_tokens(self.tokenizer, text)

    def budget(self, reply_tokens: int) -> int:
        budget = context_budget(history_tokens=self.prompt_tokens(), reply_tokens=reply_tokens,
                                context_tokens=self.context_tokens)
        return budget if self.cap is None else min(budget, self.cap)

    def user_turn(self, request: ChatRequest) -> tuple[str, tuple[Citation, ...] | None]:
        """The user message the model reads for `request`, and the citations of its passages (None without
        documents: then the message is the user's text as typed). Call it once the conversation so far is set."""
        if not request.documents:
            return request.user_text, None
        grounded = self.ground(request.documents, request.user_text, request.settings.max_new_tokens)
        return grounded.text, grounded.citations

    def ground(self, documents: Sequence[Document], question: str, reply_tokens: int) -> GroundedPrompt:
        documents = tuple(documents)
        key = tuple(id(d) for d in documents)  # the index holds the documents, so their ids stay unique
        if self._index is None or self._index[0] != key:
            self._index = (key, DocumentIndex(documents, self.count_tokens))
        return ground_question(documents, question, self.budget(reply_tokens), self.count_tokens,
                               index=self._index[1])
