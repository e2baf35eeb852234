"""Turns attached documents and a question into the prompt text the model sees, with citations.

gpt-oss reads 128k tokens, so the first choice is to give it the documents WHOLE: if everything fits the
budget the caller passes (context minus the reserved reply, the history and the system prompt), every section
goes in with its file and page marker. Only when that does not fit do we retrieve: chunks ranked by BM25 for
the question, each hit with its neighbouring chunks, added in rank order until the budget is used up, then the
rest of the budget filled with chunks spread evenly over the documents (so "summarise this" still sees all of
it). Never a fixed top-3.

Every passage in the prompt starts with a marker line such as "[3] report.pdf p. 12"; the matching `Citation`
tells a UI which file, section and character range to open when the answer cites [3].
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Literal

from app.documents.chunking import Chunk
from app.documents.index import DocumentIndex
from app.documents.model import Document, Section

GPT_OSS_CONTEXT_TOKENS = 131_072
_MARKER = re.compile(r"\[(\d+)\]")
# English runs about 4 characters per token; text above 8 characters per budget token cannot plausibly fit
# whole, so we skip tokenizing it all just to find that out.
_MAX_CHARS_PER_TOKEN = 8

INSTRUCTIONS = ("The user attached the documents below. Answer from them. Each passage starts with a marker "
                "like [1]; cite the markers of the passages you use, e.g. [2] or [1][3]. If the documents do "
                "not contain the answer, say so.")


@dataclass(frozen=True)
class Citation:
    """Where passage [marker] of the prompt comes from; enough for a UI to open it."""

    marker: int
    label: str  # "report.pdf p. 12", "contract.docx › Termination", "notes.txt lines 10-24"
    doc_index: int  # position in the documents list passed to ground_question
    file_name: str
    section_index: int
    section_label: str
    page: int | None  # page or slide number when the format has one
    chunk_ids: tuple[int, ...]  # retrieval chunks merged into the passage; () when the document went in whole
    start: int  # character offsets into the section's text
    end: int

    def to_json(self) -> dict[str, object]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "chunk_ids": list(self.chunk_ids)}

    @classmethod
    def from_json(cls, data: object) -> Citation | None:
        """The citation stored with a reply, or None when `data` is not one (a damaged or foreign record)."""
        if not isinstance(data, dict) or not all(_is(data.get(k), kind) for k, kind in _CITATION_FIELDS.items()):
            return None
        page, chunk_ids = data.get("page"), data.get("chunk_ids", [])
        if page is not None and not _is(page, int):
            return None
        if not isinstance(chunk_ids, list) or not all(_is(c, int) for c in chunk_ids):
            return None
        return cls(**{k: data[k] for k in _CITATION_FIELDS}, page=page, chunk_ids=tuple(chunk_ids))


_CITATION_FIELDS = {"marker": int, "label": str, "doc_index": int, "file_name": str, "section_index": int,
                    "section_label": str, "start": int, "end": int}


def _is(value: object, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


@dataclass(frozen=True)
class GroundedPrompt:
    text: str  # the user turn to send: instructions, passages with markers, then the question
    citations: tuple[Citation, ...]
    mode: Literal["whole", "retrieved", "none"]
    tokens: int  # count_tokens(text)


def context_budget(history_tokens: int = 0, reply_tokens: int = 8192, system_tokens: int = 0,
                   context_tokens: int = GPT_OSS_CONTEXT_TOKENS) -> int:
    """Tokens left for the grounded user turn after the system prompt, history and the reply are reserved."""
    return max(0, context_tokens - history_tokens - reply_tokens - system_tokens)


def citation_label(document: Document, section: Section, start: int, end: int) -> str:
    if section.kind == "heading" and section.label:
        page = f" p. {section.number}" if section.number else ""
        return f"{document.name}{page} › {section.label}"
    if section.kind == "text" and not section.label:
        first = section.text.count("\n", 0, start) + 1
        last = first + section.text.count("\n", start, max(start, end - 1))
        return f"{document.name} lines {first}-{last}"
    if section.label:
        return f"{document.name} {section.label}"
    return document.name


@dataclass(frozen=True)
class _Passage:
    doc_index: int
    section_index: int
    start: int
    end: int
    chunk_ids: tuple[int, ...]


def _render(documents: Sequence[Document], passages: Sequence[_Passage], question: str,
            whole: bool) -> tuple[str, tuple[Citation, ...]]:
    parts = [INSTRUCTIONS]
    citations = []
    current = None
    for passage in passages:
        document = documents[passage.doc_index]
        if passage.doc_index != current:
            if current is not None:
                parts.append(f"=== end of {documents[current].name} ===")
            pages = f"{document.metadata.pages} pages, " if document.metadata.pages else ""
            scope = "complete" if whole else "excerpts"
            parts.append(f"=== Document {passage.doc_index + 1}: {document.name} ({pages}{scope}) ===")
            current = passage.doc_index
        section = document.sections[passage.section_index]
        marker = len(citations) + 1
        label = citation_label(document, section, passage.start, passage.end)
        citations.append(Citation(marker, label, passage.doc_index, document.name, passage.section_index,
                                  section.label, section.number, passage.chunk_ids, passage.start, passage.end))
        parts.append(f"[{marker}] {label}\n{section.text[passage.start:passage.end]}")
    if current is not None:
        parts.append(f"=== end of {documents[current].name} ===")
    parts.append(f"Question: {question}")
    return "\n\n".join(parts), tuple(citations)


def _whole_passages(documents: Sequence[Document]) -> list[_Passage]:
    return [_Passage(d, s, 0, len(section.text), ())
            for d, document in enumerate(documents) for s, section in enumerate(document.sections)]


def _merge(chunks: Sequence[Chunk]) -> list[_Passage]:
    """Joins selected chunks that overlap or touch within one section into one passage, in document order."""
    passages: list[_Passage] = []
    for chunk in sorted(chunks, key=lambda c: (c.doc_index, c.section_index, c.start)):
        last = passages[-1] if passages else None
        if last and (last.doc_index, last.section_index) == (chunk.doc_index, chunk.section_index) \
                and chunk.start <= last.end + 2:
            passages[-1] = _Passage(last.doc_index, last.section_index, last.start, max(last.end, chunk.end),
                                    last.chunk_ids + (chunk.id,))
        else:
            passages.append(_Passage(chunk.doc_index, chunk.section_index, chunk.start, chunk.end, (chunk.id,)))
    return passages


def _spread_order(index: DocumentIndex) -> list[int]:
    """Chunk ids ordered to cover each document evenly (0, 1/2, 1/4, 3/4, ... of the way through), documents
    interleaved, so a partial fill samples everything instead of only the beginning."""
    per_doc: dict[int, list[int]] = {}
    for chunk in index.chunks:
        per_doc.setdefault(chunk.doc_index, []).append(chunk.id)
    orders = []
    for ids in per_doc.values():
        seen: dict[int, None] = {}
        step = len(ids)
        while step >= 1 and len(seen) < len(ids):
            for i in range(0, len(ids), step):
                seen.setdefault(ids[i], None)
            step //= 2
        orders.append(list(seen) + [i for i in ids if i not in seen])
    merged = []
    for position in range(max((len(o) for o in orders), default=0)):
        merged.extend(o[position] for o in orders if position < len(o))
    return merged


def _neighbours(index: DocumentIndex, chunk_id: int) -> list[int]:
    chunk = index.chunks[chunk_id]
    return [n for n in (chunk_id - 1, chunk_id + 1)
            if 0 <= n < len(index.chunks) and index.chunks[n].doc_index == chunk.doc_index]


def _select(index: DocumentIndex, question: str, budget: int, fill: bool) -> list[Chunk]:
    """Chunks for the prompt: BM25 hits with their neighbours in rank order, then an even spread."""
    # Each passage adds a marker line (~10 tokens); charge it per chunk so the estimate stays above the truth.
    overhead = 12
    chosen: dict[int, None] = {}
    used = 0

    def take(chunk_id: int) -> bool:
        nonlocal used
        if chunk_id in chosen:
            return True
        cost = index.chunks[chunk_id].tokens + overhead
        if used + cost > budget:
            return False
        chosen[chunk_id] = None
        used += cost
        return True

    for hit in index.search(question):
        if take(hit):
            for neighbour in _neighbours(index, hit):
                take(neighbour)
    if fill:
        for chunk_id in _spread_order(index):
            take(chunk_id)
    return [index.chunks[i] for i in chosen]


def ground_question(documents: Sequence[Document], question: str, budget_tokens: int,
                    count_tokens: Callable[[str], int], *, index: DocumentIndex | None = None,
                    fill: bool = True) -> GroundedPrompt:
    """The user turn for `question` grounded in `documents`, at most `budget_tokens` long (by count_tokens).

    Pass the conversation's `DocumentIndex` (built over the same documents) to avoid re-chunking on every
    question; without one it is built on demand when the documents do not fit whole. `fill=False` stops after
    the search hits and their neighbours instead of using the rest of the budget.
    """
    documents = tuple(documents)
    if not documents:
        text = f"Question: {question}"
        return GroundedPrompt(text, (), "none", count_tokens(text))
    total_chars = sum(d.metadata.chars for d in documents)
    if total_chars <= budget_tokens * _MAX_CHARS_PER_TOKEN:
        text, citations = _render(documents, _whole_passages(documents), question, whole=True)
        tokens = count_tokens(text)
        if tokens <= budget_tokens:
            return GroundedPrompt(text, citations, "whole", tokens)
    if index is None:
        index = DocumentIndex(documents, count_tokens)
    elif len(index.documents) != len(documents) or any(a is not b for a, b in zip(index.documents, documents)):
        raise ValueError("ground_question: the index was built over other documents; rebuild it when the "
                         "conversation's attachments change")
    fixed = count_tokens(_render(documents, [], question, whole=False)[0])
    room = budget_tokens - fixed
    while True:
        chunks = _select(index, question, room, fill)
        text, citations = _render(documents, _merge(chunks), question, whole=False)
        tokens = count_tokens(text)
        if tokens <= budget_tokens or room <= 0:
            return GroundedPrompt(text, citations, "retrieved", tokens)
        room -= tokens - budget_tokens + 16  # tokenizer boundary effects: shrink and select again


def citations_used(answer: str, citations: Sequence[Citation]) -> list[Citation]:
    """The citations an answer refers to with [n] markers, in order of first mention (unknown numbers skipped)."""
    by_marker = {c.marker: c for c in citations}
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(answer):
        seen.setdefault(int(match.group(1)), None)
    return [by_marker[m] for m in seen if m in by_marker]
