"""Splits documents into overlapping chunks along their structure, for retrieval.

A chunk never crosses a section (page, heading section, slide, block of rows), so every chunk has one citation.
Inside a section, chunks are packed from paragraphs; a paragraph longer than a chunk is split at lines, and a
line longer than a chunk at spaces. Consecutive chunks overlap by up to OVERLAP_CHARS (from a sentence start
where there is one) so a fact split across a chunk boundary is whole in one of them. Chunks are stored as
character offsets into their section's text, so merging neighbours and pointing a viewer at the passage are both
exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.documents.model import Document

CHUNK_CHARS = 1600  # about 400 tokens of English: small enough to rank precisely, big enough to read
OVERLAP_CHARS = 240
_BLOCK = re.compile(r"[^\n]+(?:\n[^\n]+)*")  # paragraphs: runs of non-blank lines
_LINE = re.compile(r"[^\n]+")
_SENTENCE_START = re.compile(r"(?<=[.!?:;])\s+|\n+")


@dataclass(frozen=True)
class Chunk:
    id: int  # position in the index; neighbours in one document have consecutive ids
    doc_index: int
    section_index: int
    start: int  # character offsets into documents[doc_index].sections[section_index].text
    end: int
    text: str
    tokens: int


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cuts [start, end) into pieces of at most `limit` characters, at the last space before the limit."""
    pieces = []
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        pieces.append((start, cut))
        start = cut
        while start < end and text[start] == " ":
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def units(text: str, limit: int = CHUNK_CHARS) -> list[tuple[int, int]]:
    """Paragraph spans, with overlong paragraphs broken into line spans and overlong lines into word runs."""
    spans: list[tuple[int, int]] = []
    for block in _BLOCK.finditer(text):
        if block.end() - block.start() <= limit:
            spans.append(block.span())
            continue
        for line in _LINE.finditer(text, block.start(), block.end()):
            spans.extend(_split_long(text, line.start(), line.end(), limit))
    return spans


def _overlap_start(text: str, previous: tuple[int, int], natural: int, overlap: int) -> int:
    """Where a chunk starts so that it repeats up to `overlap` chars of the previous one: at the first sentence
    or line start in that tail, else at a word start, else (nothing to repeat) at its natural start."""
    low = max(previous[0] + 1, previous[1] - overlap)
    if low >= natural:
        return natural
    sentence = _SENTENCE_START.search(text, low, natural)
    if sentence and sentence.end() < natural:
        return sentence.end()
    space = text.find(" ", low, natural)
    return space + 1 if space != -1 and space + 1 < natural else natural


def pack(text: str, spans: Sequence[tuple[int, int]], limit: int = CHUNK_CHARS,
         overlap: int = OVERLAP_CHARS) -> list[tuple[int, int]]:
    """Greedy packing of consecutive spans into chunks of about `limit` chars; each chunk after the first also
    repeats the tail (at most `overlap` chars) of the one before it."""
    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - spans[i][0] <= limit:
            j += 1
        start = spans[i][0]
        if chunks and overlap > 0:
            start = _overlap_start(text, chunks[-1], start, overlap)
        chunks.append((start, spans[j][1]))
        i = j + 1
    return chunks


def chunk_documents(documents: Sequence[Document], count_tokens: Callable[[str], int],
                    limit: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    chunks: list[Chunk] = []
    for d, document in enumerate(documents):
        for s, section in enumerate(document.sections):
            for start, end in pack(section.text, units(section.text, limit), limit, overlap):
                text = section.text[start:end]
                chunks.append(Chunk(len(chunks), d, s, start, end, text, count_tokens(text)))
    return chunks
