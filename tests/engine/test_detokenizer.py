"""Incremental decoding never emits half a UTF-8 character and reproduces the full decode."""

from __future__ import annotations

from tokenizers import Tokenizer

from app.engine.detokenizer import IncrementalDecoder
from app.tokenizer.special_tokens import CHANNEL, RETURN


def byte_tokens(tokenizer: Tokenizer, text: str) -> list[int]:
    """One token per UTF-8 byte, via the 256 single-byte tokens every byte-level BPE vocabulary has.

    The GPT-2 byte -> character map is restated here (not imported from the code under test)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping, extra = {b: chr(b) for b in printable}, 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    ids = [tokenizer.token_to_id(mapping[b]) for b in text.encode("utf-8")]
    assert None not in ids
    return ids


def test_multibyte_characters_split_over_tokens_come_out_whole(harmony_tokenizer: Tokenizer) -> None:
    text = "aé€😀z"
    decoder = IncrementalDecoder(harmony_tokenizer)
    deltas = [decoder.add(t) for t in byte_tokens(harmony_tokenizer, text)]
    # bytes: a | é(2) | €(3) | 😀(4) | z -> text appears only when a character is complete
    assert deltas == ["a", "", "é", "", "", "€", "", "", "", "😀", "z"]
    assert decoder.flush() == ""


def test_stream_equals_full_decode_on_real_text(harmony_tokenizer: Tokenizer) -> None:
    text = "Grüße, 世界! Ça va? 🤖🚀 — naïve café\n\tend"
    ids = harmony_tokenizer.encode(text, add_special_tokens=False).ids
    decoder = IncrementalDecoder(harmony_tokenizer)
    streamed = "".join(decoder.add(t) for t in ids) + decoder.flush()
    assert streamed == text == harmony_tokenizer.decode(ids, skip_special_tokens=False)


def test_special_tokens_are_text_or_nothing(harmony_tokenizer: Tokenizer) -> None:
    ids = harmony_tokenizer.encode("hi", add_special_tokens=False).ids
    with_specials = IncrementalDecoder(harmony_tokenizer)
    assert "".join(with_specials.add(t) for t in [CHANNEL, *ids, RETURN]) == "<|channel|>hi<|return|>"
    without = IncrementalDecoder(harmony_tokenizer, skip_special=True)
    assert "".join(without.add(t) for t in [CHANNEL, *ids, RETURN]) == "hi"


def test_an_unfinished_character_at_the_end_becomes_a_replacement(harmony_tokenizer: Tokenizer) -> None:
    decoder = IncrementalDecoder(harmony_tokenizer)
    first_byte_of_euro = byte_tokens(harmony_tokenizer, "€")[0]
    assert decoder.add(first_byte_of_euro) == ""
    assert decoder.flush() == "\ufffd"
