"""Fixtures for document tests: real files built once per session, and token counters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import doc_files


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
def harmony_count(harmony_tokenizer) -> Callable[[str], int]:
    """Token count with gpt-oss's real o200k_harmony tokenizer (the suite-wide fixture), as the engine passes it."""
    return lambda text: len(harmony_tokenizer.encode(text, add_special_tokens=False).ids)
