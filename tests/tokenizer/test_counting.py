"""Counting long texts in pieces agrees with encoding them whole (to within the pieces' boundaries)."""

from __future__ import annotations

from app.tokenizer.counting import count_tokens, split_at_newlines


def test_pieces_cover_the_text_and_cut_at_newlines() -> None:
    text = "".join(f"line {i} of the report, with some words\n" for i in range(2000))
    pieces = split_at_newlines(text, 1000)
    assert "".join(pieces) == text
    assert all(p.endswith("\n") for p in pieces[:-1]) and all(len(p) <= 1000 for p in pieces)


def test_count_matches_whole_encoding_closely(harmony_tokenizer) -> None:
    text = "".join(f"Clause {i}: the supplier shall deliver {i * 7} units to Kirkenes.\n" for i in range(3000))
    whole = len(harmony_tokenizer.encode(text, add_special_tokens=False).ids)
    counted = count_tokens(harmony_tokenizer, text)
    assert abs(counted - whole) <= max(2, len(split_at_newlines(text)))  # at most one token per cut
    assert count_tokens(harmony_tokenizer, "short text") == len(harmony_tokenizer.encode("short text").ids)
