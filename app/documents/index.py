"""Full-text index of a conversation's document chunks: SQLite FTS5 ranked by BM25, held in memory only.

Attachments are stored encrypted with the conversation; a plaintext index file on disk would undo that, so
the index lives in an in-memory database and is rebuilt from the decrypted attachments when a conversation
opens (a 300-page PDF indexes in well under a second). The connection is created with
check_same_thread=False and guarded by a lock so a worker thread can build it and another query it.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Sequence

from app.documents.chunking import Chunk, chunk_documents
from app.documents.model import Document

# Words that carry no topic; dropping them keeps BM25 from rewarding chunks for "the" and "what".
STOPWORDS = frozenset("""
a about above after again all also am an and any are as at be because been before being below between both but
by can could did do does doing down during each few for from further had has have having he her here hers him
his how i if in into is it its itself just me more most my no nor not now of off on once only or other our out
over own same she should so some such than that the their them then there these they this those through to too
under until up very was we were what when where which while who whom why will with would you your yours
please tell say says said document documents file files attached attachment give show find explain describe
summarise summarize summary according text page pages
""".split())
_WORD = re.compile(r"\w+", re.UNICODE)


def query_terms(question: str) -> list[str]:
    """Distinct content words of the question, in order."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(question.lower()):
        if (len(word) > 1 or word.isdigit()) and word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


class DocumentIndex:
    """Chunks of a fixed list of documents plus their FTS5 index; build one per conversation."""

    def __init__(self, documents: Sequence[Document], count_tokens: Callable[[str], int]) -> None:
        self.documents = tuple(documents)
        self.chunks: list[Chunk] = chunk_documents(self.documents, count_tokens)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            self._db.execute("CREATE VIRTUAL TABLE chunks USING fts5(body, heading, file, "
                             "tokenize = 'porter unicode61 remove_diacritics 2')")
        except sqlite3.OperationalError as exc:
            raise RuntimeError(f"This Python's SQLite has no FTS5 full-text search ({exc}); document retrieval "
                               "needs it.") from exc
        rows = []
        for chunk in self.chunks:
            document = self.documents[chunk.doc_index]
            rows.append((chunk.id, chunk.text, document.sections[chunk.section_index].label, document.name))
        with self._db:
            self._db.executemany("INSERT INTO chunks(rowid, body, heading, file) VALUES (?, ?, ?, ?)", rows)

    def search(self, question: str, limit: int = 1000) -> list[int]:
        """Chunk ids matching any content word of the question, best BM25 score first."""
        terms = query_terms(question)
        if not terms or not self.chunks:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        with self._lock:
            rows = self._db.execute(
                # Column weights: a hit in a heading or file name says more than one in running text.
                "SELECT rowid FROM chunks WHERE chunks MATCH ? ORDER BY bm25(chunks, 1.0, 3.0, 2.0) LIMIT ?",
                (match, limit)).fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
