"""Grounding: whole documents when they fit, BM25 retrieval with neighbours when they do not, citations that
point at the exact passage, and a prompt that never exceeds the budget."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import doc_files
from doc_files import count_words
from app.documents.chunking import CHUNK_CHARS, OVERLAP_CHARS, pack, units
from app.documents.extract import extract_in_process
from app.documents.grounding import citations_used, context_budget, ground_question
from app.documents.index import DocumentIndex
from app.documents.model import Document

QUESTION = "Who services the emergency generator at the Kirkenes depot?"


@pytest.fixture(scope="module")
def long_doc(long_pdf: Path) -> Document:
    return extract_in_process(long_pdf)


def _passage(document: Document, citation) -> str:
    return document.sections[citation.section_index].text[citation.start:citation.end]


def test_retrieval_finds_the_planted_fact_in_300_pages(long_doc: Document, harmony_count) -> None:
    assert long_doc.metadata.pages == 300
    budget = 6000
    assert long_doc.metadata.chars > 100 * budget  # far too big to go in whole
    prompt = ground_question([long_doc], QUESTION, budget, harmony_count)
    assert prompt.mode == "retrieved" and prompt.tokens == harmony_count(prompt.text) <= budget
    assert prompt.tokens > 0.9 * budget  # the budget is used, not a fixed top-3
    planted = [c for c in prompt.citations if "Halvorsen Marine" in _passage(long_doc, c)]
    assert [c.page for c in planted] == [doc_files.PLANTED_PAGE]
    citation = planted[0]
    assert citation.label == f"fleet-report.pdf p. {doc_files.PLANTED_PAGE}"
    # The model sees the passage right under its marker line.
    assert f"[{citation.marker}] {citation.label}\n{_passage(long_doc, citation)}" in prompt.text
    assert prompt.text.rstrip().endswith(f"Question: {QUESTION}")


def test_hits_come_with_their_neighbours(long_doc: Document) -> None:
    index = DocumentIndex([long_doc], count_words)
    prompt = ground_question([long_doc], QUESTION, 5000, count_words, index=index, fill=False)
    planted = next(c for c in prompt.citations if "Halvorsen" in _passage(long_doc, c))
    hit = next(i for i in index.search(QUESTION) if "Halvorsen" in index.chunks[i].text)
    used = {i for c in prompt.citations for i in c.chunk_ids}
    assert {hit - 1, hit, hit + 1} <= used
    # Neighbours on the same page merge into one passage instead of repeating the overlap.
    assert len(planted.chunk_ids) >= 2 and len(set(planted.chunk_ids)) == len(planted.chunk_ids)


def test_small_documents_go_in_whole(tmp_path: Path) -> None:
    docs = [extract_in_process(doc_files.docx_with_headings(tmp_path / "contract.docx")),
            extract_in_process(doc_files.xlsx_two_sheets(tmp_path / "budget.xlsx"))]
    prompt = ground_question(docs, "What does a widget cost?", 5000, count_words)
    assert prompt.mode == "whole"
    assert [(c.file_name, c.section_label) for c in prompt.citations] == [
        ("contract.docx", "beginning"), ("contract.docx", "Scope"), ("contract.docx", "Prices"),
        ("contract.docx", "Termination"), ("budget.xlsx", "Budget"), ("budget.xlsx", "Staff")]
    for citation in prompt.citations:
        section = docs[citation.doc_index].sections[citation.section_index]
        assert (citation.start, citation.end) == (0, len(section.text))
        assert f"[{citation.marker}] {citation.label}\n{section.text}" in prompt.text
    assert "=== Document 2: budget.xlsx (2 pages, complete) ===" in prompt.text
    assert "[3] contract.docx › Prices" in prompt.text


def test_whole_or_retrieved_is_decided_by_the_budget(tmp_path: Path) -> None:
    doc = extract_in_process(doc_files.docx_with_headings(tmp_path / "contract.docx"))
    whole = ground_question([doc], "notice period?", 10_000, count_words)
    assert whole.mode == "whole"
    tight = ground_question([doc], "notice period?", whole.tokens - 1, count_words)
    assert tight.mode == "retrieved" and tight.tokens <= whole.tokens - 1


def test_question_without_search_terms_still_spreads_over_the_document(long_doc: Document) -> None:
    prompt = ground_question([long_doc], "Summarise this.", 8000, count_words)
    pages = sorted({c.page for c in prompt.citations})
    assert prompt.tokens <= 8000 and pages[0] <= 10 and pages[-1] >= 290 and len(pages) > 10


def test_text_citations_name_lines(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("\n\n".join(f"Paragraph {i} about topic {i % 7}." * 20 for i in range(60)))
    doc = extract_in_process(notes)
    prompt = ground_question([doc], "topic 3", 600, count_words, fill=False)
    for citation in prompt.citations:
        first, last = map(int, re.fullmatch(r"notes\.txt lines (\d+)-(\d+)", citation.label).groups())
        lines = doc.sections[0].text.split("\n")
        assert "\n".join(lines[first - 1:last]).find(_passage(doc, citation)) >= 0


def test_chunks_follow_paragraphs_and_overlap() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "word " * (40 + i) for i in range(30))
    spans = units(text)
    assert all(text[a:b].startswith("Paragraph") for a, b in spans)
    chunks = pack(text, spans)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(text) and len(chunks) > 3
    for (a1, b1), (a2, b2) in zip(chunks, chunks[1:]):
        assert a1 < a2 < b1 < b2 and b1 - a2 <= OVERLAP_CHARS  # consecutive chunks overlap, at most that much
        assert text[a2 - 1] in " \n" and text[a2] != " "  # ... starting at a word
        assert b2 - a2 <= CHUNK_CHARS + OVERLAP_CHARS


def test_budget_helper() -> None:
    assert context_budget(history_tokens=10_000, reply_tokens=8192, system_tokens=500) == 131_072 - 18_692
    assert context_budget(history_tokens=200_000) == 0


def test_citations_used_by_an_answer(tmp_path: Path) -> None:
    doc = extract_in_process(doc_files.docx_with_headings(tmp_path / "contract.docx"))
    prompt = ground_question([doc], "notice?", 10_000, count_words)
    used = citations_used("Ninety days [4], see also [2][4] and [99].", prompt.citations)
    assert [(c.marker, c.section_label) for c in used] == [(4, "Termination"), (2, "Scope")]


def test_index_must_match_the_documents(tmp_path: Path, long_doc: Document) -> None:
    index = DocumentIndex([long_doc], count_words)
    other = extract_in_process(doc_files.docx_with_headings(tmp_path / "contract.docx"))
    with pytest.raises(ValueError, match="other documents"):
        ground_question([other, long_doc], "generator", 100, count_words, index=index)
