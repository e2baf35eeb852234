"""The rebuilt tokenizer.json encodes exactly like openai-harmony's and tiktoken's o200k_harmony.

Two independent references: openai-harmony's Rust encoder (HARMONY_GPT_OSS, its own regex and specials) and
tiktoken's own `o200k_harmony` constructor, both reading the rebuilt o200k_base.tiktoken (whose SHA-256 pins it
to OpenAI's file). The corpus aims at the places where a byte-level BPE conversion goes wrong: the split regex
(case changes, contractions, digit groups, punctuation swallowing newlines, whitespace before a word), byte
fallbacks for rare characters, and merges whose order matters.
"""

from __future__ import annotations

import random
from pathlib import Path
from unittest import mock

import pytest

CORPUS = [
    "",
    "hello world",
    "Hello, World! HELLO world. hELLo WoRLD",
    "I'm here, you're there, they've gone, we'll see, she'd know, it's fine, don't, CAN'T, We'Ll",
    "rock'n'roll o'clock 'quoted' ‘curly’ “double”",
    "日本語のテキストと漢字、カタカナ。中文：你好，世界！한국어 문장입니다.",
    "emoji 😀👍🏽👨‍👩‍👧‍👦🏳️‍🌈 flags 🇫🇷🇯🇵 and keycaps 1️⃣ #️⃣",
    "combining: e\u0301 a\u0308 n\u0303 Z\u0351\u0352\u0353algo ñ vs n\u0303 (NFC vs NFD)",
    "RTL: שלום עולם — مرحبا بالعالم — سلام دنیا ‏mixed‎ עם English",
    "Ελληνικά Русский текст Українська Հայերեն ქართული देवनागरी ไทย",
    "def f(x: int) -> int:\n\treturn x ** 2  # square\n\n\nclass A:\n    pass\n",
    "for (let i = 0; i < n; i++) { sum += a[i] * b[i]; }\n// comment\n/* block */",
    "#include <stdio.h>\nint main(void){printf(\"%d\\n\", 42);return 0;}",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%o%';",
    "<div class=\"x\"><a href='https://example.com/path?q=1&r=2'>link</a></div>",
    '{"key": [1, 2.5, -3e10, null, true], "nested": {"a": "b"}}',
    "path/to/file.txt C:\\Windows\\System32 ../../up ~/home //double//slash/\n/",
    "    four spaces\n\ttab\n\t\ttwo tabs\n \t mixed \t\n",
    "trailing spaces   \nline\r\nwindows\r\n\r\nold mac\rend\n\n\n\n",
    "                                                                  long run of spaces",
    "\n\n\n\n\n\n\n\n\n\n",
    "1234567890 12 123 1234 12345 3.14159 -42 +7 1e-10 0x1F 1,000,000 ½ ² ٣٤٥ ๑๒๓",
    "٠١٢٣٤٥٦٧٨٩ 一二三 ⅠⅡⅢ 𝟘𝟙𝟚",
    "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    "Donaudampfschifffahrtsgesellschaftskapitänswitwe Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "!!!???...,,,;;;:::---___===+++***&&&%%%$$$###@@@~~~```^^^|||\\\\\\",
    "camelCaseWord PascalCaseWord snake_case_word SCREAMING_CASE kebab-case-word XMLHttpRequest iOS macOS",
    "mixed日本語English한국어123abc😀def",
    "\u200b zero width \u200d joiner \ufeff bom \u00a0nbsp \u2028 line sep \u3000 ideographic space",
    "control \x00\x01\x07\x1b[31mred\x1b[0m \x7f",
    "\U0001F600\U0010FFFF\U000E0001 astral and private \ue000",
    "Ǆ ǅ ǆ titlecase ﬁ ligature ǈ ß ẞ İ ı",
    "The quick brown fox jumps over the lazy dog. " * 5,
]

# Seeded fuzz: glue fragments from many scripts and classes so the regex alternatives meet at odd boundaries.
_FRAGMENTS = [
    "a", "Z", "é", "É", "ß", "日", "本", "😀", "🏽", "\u0301", "'s", "'LL", "'", "’", " ", "  ", "\t", "\n", "\r\n",
    "0", "12", "345", "6789", ".", ",", "/", "//", "-", "_", "(", ")", "{", "}", "\"", "<|", "|>", "ש", "ل", "ф",
    "Ж", "ά", "ก", "ं", "\u200d", "\u00a0", "Hello", "world", "WORLD", "iPhone", "the", "The", "THE", "ing", "@",
]


def _fuzz_corpus(count: int = 300, seed: int = 1234) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 40))) for _ in range(count)]


ALL_TEXTS = CORPUS + _fuzz_corpus()


@pytest.fixture(scope="module")
def tiktoken_harmony(tiktoken_encodings_dir: Path):
    """tiktoken's own o200k_harmony definition, with its rank file read from the rebuilt local copy."""
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe
    from tiktoken_ext import openai_public

    local = str(tiktoken_encodings_dir / "o200k_base.tiktoken")

    def offline_load(_url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        return load_tiktoken_bpe(local, expected_hash)

    with mock.patch.dict("os.environ", {"TIKTOKEN_CACHE_DIR": ""}), \
            mock.patch.object(openai_public, "load_tiktoken_bpe", offline_load):
        return tiktoken.Encoding(**openai_public.o200k_harmony())


def test_split_pattern_is_tiktokens(harmony_tokenizer_json: Path, tiktoken_harmony) -> None:
    import json

    spec = json.loads(harmony_tokenizer_json.read_text(encoding="utf-8"))
    split = spec["pre_tokenizer"]["pretokenizers"][0]
    assert split["pattern"]["Regex"] == tiktoken_harmony._pat_str


def test_plain_text_matches_openai_harmony(harmony_tokenizer, harmony_encoding) -> None:
    mismatches = []
    for text in ALL_TEXTS:
        ours = harmony_tokenizer.encode(text, add_special_tokens=False).ids
        theirs = harmony_encoding.encode(text, disallowed_special=())
        if ours != theirs:
            mismatches.append((text, ours, theirs))
    assert not mismatches, f"{len(mismatches)} texts differ, first: {mismatches[0]}"


def test_plain_text_matches_tiktoken(harmony_tokenizer, tiktoken_harmony) -> None:
    ours = [e.ids for e in harmony_tokenizer.encode_batch(ALL_TEXTS, add_special_tokens=False)]
    theirs = tiktoken_harmony.encode_ordinary_batch(ALL_TEXTS)
    bad = [t for t, a, b in zip(ALL_TEXTS, ours, theirs) if a != b]
    assert not bad, f"{len(bad)} texts differ, first: {bad[0]!r}"


def test_known_ids_for_hello_world(harmony_tokenizer) -> None:
    # Ids from tiktoken.get_encoding("o200k_base").encode("hello world") on the published file.
    assert harmony_tokenizer.encode("hello world", add_special_tokens=False).ids == [24912, 2375]


def test_decode_round_trips(harmony_tokenizer) -> None:
    for text in ALL_TEXTS:
        ids = harmony_tokenizer.encode(text, add_special_tokens=False).ids
        assert harmony_tokenizer.decode(ids, skip_special_tokens=False) == text


def test_decode_matches_harmony_for_partial_utf8(harmony_tokenizer, harmony_encoding) -> None:
    ids = harmony_encoding.encode("😀日本", disallowed_special=())
    for end in range(1, len(ids) + 1):
        assert harmony_tokenizer.decode(ids[:end]) == harmony_encoding.decode(ids[:end])
