"""The user turn for a question about attached documents, sized to what is left of the context.

Shared by the desktop app and `enclave chat --attach`, so both put the same passages in front of the model
and cite them the same way. The budget is the context left after the system prompt, the conversation so far
and the reply; on a CPU it is capped, because reading 100k tokens of documents there takes many minutes.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.documents.grounding import GroundedPrompt, context_budget, ground_question
from app.documents.index import DocumentIndex
from app.documents.model import Document
from app.engine.chat import ChatSession
from app.tokenizer.counting import count_tokens

CPU_DOCUMENT_BUDGET = 16384


class DocumentGrounder:
    """Keeps one retrieval index per set of attached documents (chunking 300 pages costs ~0.6 s)."""

    def __init__(self, session: ChatSession) -> None:
        self.session = session
        self._index: tuple[tuple[int, ...], DocumentIndex] | None = None

    def count_tokens(self, text: str) -> int:
        return count_tokens(self.session.model.tokenizer, text)

    def budget(self, reply_tokens: int) -> int:
        history_tokens = len(self.session.prompt_for(self.session.history))
        budget = context_budget(history_tokens=history_tokens, reply_tokens=reply_tokens,
                                context_tokens=self.session.generator.max_length)
        if self.session.model.info.provider == "CPUExecutionProvider":
            budget = min(budget, CPU_DOCUMENT_BUDGET)
        return budget

    def ground(self, documents: Sequence[Document], question: str, reply_tokens: int) -> GroundedPrompt:
        documents = tuple(documents)
        key = tuple(id(d) for d in documents)  # the index holds the documents, so their ids stay unique
        if self._index is None or self._index[0] != key:
            self._index = (key, DocumentIndex(documents, self.count_tokens))
        return ground_question(documents, question, self.budget(reply_tokens), self.count_tokens,
                               index=self._index[1])
