"""Fixtures for the harmony tests: our codec on the rebuilt tokenizer.json, and openai-harmony (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.harmony.codec import HarmonyCodec
from tests.support.harmony_corpus import CorpusCase, corpus


@pytest.fixture(scope="session")
def codec(harmony_tokenizer_json: Path) -> HarmonyCodec:
    return HarmonyCodec.from_file(harmony_tokenizer_json)


@pytest.fixture(scope="session")
def harmony_cases() -> list[CorpusCase]:
    return corpus()
