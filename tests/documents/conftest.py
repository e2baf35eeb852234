"""Fixtures for document tests: real files built once per session, and token counters."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

import doc_files

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_words(text: str) -> int:
    """A simple, deterministic token count (words and punctuation) for budget tests."""
    return len(_TOKEN.findall(text))


@pytest.fixture(scope="session")
def docs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("documents")


@pytest.fixture(scope="session")
def long_pdf(docs_dir: Path) -> Path:
    return doc_files.long_pdf(docs_dir / "fleet-report.pdf")


@pytest.fixture(scope="session")
def table_pdf(docs_dir: Path) -> Path:
    return doc_files.pdf_with_table(docs_dir / "procurement.pdf")


@pytest.fixture(scope="session")
def harmony_count(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], int]:
    """Token count with gpt-oss's real o200k_harmony tokenizer, as the engine passes it."""
    import tokenizers

    from app.tokenizer.o200k_harmony import write_tokenizer_json

    path = write_tokenizer_json(tmp_path_factory.mktemp("tokenizer") / "tokenizer.json")
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)
