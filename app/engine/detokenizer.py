"""Incremental decoding: token ids in, text deltas out, never half a UTF-8 character.

gpt-oss's tokenizer is byte-level BPE: one token may hold the first two bytes of a three-byte character and
the next token the last one. Decoding each token alone would print U+FFFD garbage; re-decoding the whole
output every step would cost O(n) per token. Instead each token's raw bytes (looked up once per id and
cached) go through Python's incremental UTF-8 decoder, which holds back an unfinished character until its
remaining bytes arrive. Cost per token: a dict lookup and a tiny decode.

Special tokens (<|channel|>, <|return|>, ...) are not bytes of text: they come out as their literal text,
or as nothing with `skip_special=True`. Tokenizers without a ByteLevel decoder fall back to the
"decode the unfinished tail again" method, which also never emits a partial character.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable

from tokenizers import Tokenizer

from app.tokenizer.o200k_harmony import _bytes_to_unicode


class IncrementalDecoder:
    """Turns a stream of token ids into text deltas. One instance per generated message."""

    def __init__(self, tokenizer: Tokenizer, *, skip_special: bool = False) -> None:
        self._tokenizer = tokenizer
        self._skip_special = skip_special
        self._special = {i: t.content for i, t in tokenizer.get_added_tokens_decoder().items() if t.special}
        self._byte_level = _decoder_type(tokenizer) == "ByteLevel"
        self._char_to_byte = {c: b for b, c in _bytes_to_unicode().items()}
        self._bytes_cache: dict[int, bytes] = {}
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        # Fallback state (non-byte-level tokenizers): ids not yet fully emitted as text.
        self._pending: list[int] = []
        self._pending_text = ""

    def add(self, token_id: int) -> str:
        """Feeds one token; returns the text that is now complete (possibly "")."""
        special = self._special.get(token_id)
        if special is not None:
            flushed = self.flush()
            return flushed if self._skip_special else flushed + special
        if self._byte_level:
            return self._utf8.decode(self._token_bytes(token_id))
        return self._add_fallback(token_id)

    def add_many(self, token_ids: Iterable[int]) -> str:
        return "".join(self.add(t) for t in token_ids)

    def flush(self) -> str:
        """Ends the stream: an unfinished character at the very end becomes U+FFFD (it can never complete)."""
        if self._byte_level:
            return self._utf8.decode(b"", final=True)
        text = self._tokenizer.decode(self._pending, skip_special_tokens=False)[len(self._pending_text):]
        self._pending, self._pending_text = [], ""
        return text

    def _token_bytes(self, token_id: int) -> bytes:
        cached = self._bytes_cache.get(token_id)
        if cached is None:
            piece = self._tokenizer.id_to_token(token_id)
            if piece is None:
                raise ValueError(f"token id {token_id} is not in the tokenizer's vocabulary")
            cached = bytes(self._char_to_byte[c] for c in piece)
            self._bytes_cache[token_id] = cached
        return cached

    def _add_fallback(self, token_id: int) -> str:
        self._pending.append(token_id)
        text = self._tokenizer.decode(self._pending, skip_special_tokens=False)
        if text.endswith("\ufffd"):
            return ""  # the last character is still incomplete; wait for more tokens
        delta = text[len(self._pending_text):]
        # Keep the last token as context: some decoders (metaspace) change a token's text by its neighbour.
        self._pending = self._pending[-1:]
        self._pending_text = self._tokenizer.decode(self._pending, skip_special_tokens=False)
        return delta


def _decoder_type(tokenizer: Tokenizer) -> str | None:
    """The top-level decoder type named in the tokenizer's JSON (e.g. "ByteLevel"), or None."""
    decoder = tokenizer.decoder
    if decoder is None:
        return None
    try:
        return json.loads(decoder.__getstate__()).get("type")
    except (AttributeError, TypeError, ValueError):
        return type(decoder).__name__
