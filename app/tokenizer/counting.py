"""Counting tokens of long texts without freezing the app.

`Tokenizer.encode` holds Python's GIL for its whole run (about 240 ms for 48k tokens), so a worker thread
counting a long document stalls the UI thread just as surely as doing it on the UI thread. `encode_batch`
releases the GIL and runs in parallel, so long texts are cut at line breaks into pieces and counted in a
batch. Cutting only at newlines keeps the count within a few tokens of encoding the text in one piece.
"""

from __future__ import annotations

from tokenizers import Tokenizer

PIECE_CHARS = 4000


def split_at_newlines(text: str, piece_chars: int = PIECE_CHARS) -> list[str]:
    pieces: list[str] = []
    start = 0
    while len(text) - start > piece_chars:
        cut = text.rfind("\n", start + piece_chars // 2, start + piece_chars)
        cut = cut + 1 if cut != -1 else start + piece_chars
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def count_tokens(tokenizer: Tokenizer, text: str) -> int:
    """Ordinary-text tokens of `text` (special-token strings count as text); releases the GIL while counting."""
    if len(text) <= PIECE_CHARS:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)
    encodings = tokenizer.encode_batch(split_at_newlines(text), add_special_tokens=False)
    return sum(len(e.ids) for e in encodings)
