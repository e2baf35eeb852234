"""The rebuilt o200k_base.tiktoken is OpenAI's file, byte for byte; a damaged vocabulary fails loudly."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from app.tokenizer.bundled_vocab import TokenizerDataError, parse_quicktok_vocab, tiktoken_file_bytes

# Published by OpenAI (tiktoken_ext/openai_public.py, openai-harmony's public_encodings.rs); typed here, not imported.
OFFICIAL_O200K_BASE_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"


def test_tiktoken_file_hashes_to_openais(tiktoken_encodings_dir: Path) -> None:
    data = (tiktoken_encodings_dir / "o200k_base.tiktoken").read_bytes()
    assert hashlib.sha256(data).hexdigest() == OFFICIAL_O200K_BASE_SHA256
    lines = data.splitlines()
    assert len(lines) == 199998
    assert lines[0] == b"IQ== 0"  # "!" has rank 0 in o200k_base, as in every OpenAI byte-level vocab


def test_tiktoken_library_reads_the_file(tiktoken_encodings_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tiktoken.load import load_tiktoken_bpe

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # no cache writes outside tmp
    ranks = load_tiktoken_bpe(str(tiktoken_encodings_dir / "o200k_base.tiktoken"), OFFICIAL_O200K_BASE_SHA256)
    assert len(ranks) == 199998
    assert sorted(ranks.values()) == list(range(199998))
    assert ranks[b" the"] < 1000


def _record(token: bytes, rank: int) -> bytes:
    return struct.pack("<H", len(token)) + token + struct.pack("<I", rank)


def test_parse_small_vocab_in_rank_order() -> None:
    data = struct.pack("<I", 3) + _record(b"b", 1) + _record(b"ab", 2) + _record(b"a", 0)
    assert parse_quicktok_vocab(data) == [b"a", b"b", b"ab"]
    assert tiktoken_file_bytes([b"a", b"b", b"ab"]) == b"YQ== 0\nYg== 1\nYWI= 2\n"


@pytest.mark.parametrize(
    "data, words",
    [
        (b"\x01", "no header"),
        (struct.pack("<I", 2) + _record(b"a", 0), "truncated"),
        (struct.pack("<I", 2) + _record(b"a", 0) + _record(b"b", 0), "bad record"),
        (struct.pack("<I", 1) + _record(b"a", 0) + b"xx", "trailing"),
    ],
)
def test_damaged_vocab_is_rejected(data: bytes, words: str) -> None:
    with pytest.raises(TokenizerDataError, match=words):
        parse_quicktok_vocab(data)
