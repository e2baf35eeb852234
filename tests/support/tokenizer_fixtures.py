"""Session-wide tokenizer artefacts: the rebuilt gpt-oss tokenizer.json and an offline o200k_base.tiktoken.

Building tokenizer.json takes about a second and openai-harmony needs the .tiktoken file on disk, so each is
made once per test session in a temporary folder. Registered for the whole suite from tests/conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.tokenizer.o200k_harmony import load_tokenizer, write_o200k_base_tiktoken, write_tokenizer_json

TIKTOKEN_ENCODINGS_BASE = "TIKTOKEN_ENCODINGS_BASE"


@pytest.fixture(scope="session")
def harmony_tokenizer_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to a freshly built o200k_harmony tokenizer.json (201088 ids)."""
    return write_tokenizer_json(tmp_path_factory.mktemp("harmony_tokenizer") / "tokenizer.json")


@pytest.fixture(scope="session")
def harmony_tokenizer(harmony_tokenizer_json: Path):
    """The tokenizer.json above, loaded with tokenizers.Tokenizer.from_file."""
    return load_tokenizer(harmony_tokenizer_json)


@pytest.fixture(scope="session")
def tiktoken_encodings_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder holding o200k_base.tiktoken, with TIKTOKEN_ENCODINGS_BASE pointing at it for the session.

    With it, `openai_harmony.load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)` loads offline (and
    openai-harmony verifies the file's SHA-256 itself). The previous value is restored at session end.
    """
    folder = tmp_path_factory.mktemp("tiktoken_encodings")
    write_o200k_base_tiktoken(folder)
    previous = os.environ.get(TIKTOKEN_ENCODINGS_BASE)
    os.environ[TIKTOKEN_ENCODINGS_BASE] = str(folder)
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop(TIKTOKEN_ENCODINGS_BASE, None)
        else:
            os.environ[TIKTOKEN_ENCODINGS_BASE] = previous


@pytest.fixture(scope="session")
def harmony_encoding(tiktoken_encodings_dir: Path):
    """openai-harmony's HARMONY_GPT_OSS encoding, loaded offline (test-only dependency)."""
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
