"""Token ids <-> text for the harmony format, on top of the package's `tokenizers.Tokenizer`.

Harmony needs two things a plain `Tokenizer.encode` does not give:
- *ordinary* encoding: user text that happens to contain "<|start|>" must become the five plain tokens
  `<`, `|`, `start`, `|`, `>` (as openai-harmony's `encode_ordinary` does), never the control token, or a
  user could forge a message boundary. `Tokenizer.encode` always splits out added tokens, and its
  `encode_special_tokens` switch is shared state of a tokenizer the model also uses, so text that spells a
  special token goes through the pre-tokenizer and the BPE model directly (same ids, no added-token pass).
- raw bytes per token id: a token may hold half a UTF-8 character, so the parser decodes bytes itself.
"""

from __future__ import annotations

import functools
from pathlib import Path

from tokenizers import Tokenizer

from app.tokenizer import special_tokens as st
from app.tokenizer.o200k_harmony import _bytes_to_unicode


# The harmony control tokens the renderer emits and the parser reacts to, by name.
HARMONY_TOKENS: dict[str, int] = {
    st.START_TOKEN: st.START,
    st.END_TOKEN: st.END,
    st.MESSAGE_TOKEN: st.MESSAGE,
    st.CHANNEL_TOKEN: st.CHANNEL,
    st.CONSTRAIN_TOKEN: st.CONSTRAIN,
    st.RETURN_TOKEN: st.RETURN,
    st.CALL_TOKEN: st.CALL,
}


class HarmonyCodec:
    """Ordinary-text encoding and byte-exact decoding for one tokenizer (which it reads, never reconfigures)."""

    def __init__(self, tokenizer: Tokenizer, source: str = "the tokenizer") -> None:
        for text, token_id in HARMONY_TOKENS.items():
            found = tokenizer.token_to_id(text)
            if found != token_id:
                raise ValueError(
                    f"{source} is not gpt-oss's o200k_harmony tokenizer: {text} has id {found}, expected {token_id}."
                )
        if tokenizer.pre_tokenizer is None:
            raise ValueError(f"{source} has no pre-tokenizer; gpt-oss's tokenizer splits text with the o200k regex.")
        self._tokenizer = tokenizer
        self._specials = {i: t.content for i, t in tokenizer.get_added_tokens_decoder().items()}
        # Every added token is spelled "<|...|>", so text without "<|" cannot contain one (a cheap test).
        self._special_marker = "<|" if all(t.startswith("<|") for t in self._specials.values()) else ""
        self._byte_decoder = {c: b for b, c in _bytes_to_unicode().items()}
        self._bytes_cache: dict[int, bytes | None] = {}
        self.vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)

    @classmethod
    def from_file(cls, path: str | Path) -> HarmonyCodec:
        """From a tokenizer.json, or a package folder holding one."""
        path = _tokenizer_file(path)
        return cls(Tokenizer.from_file(str(path)), source=str(path))

    def encode_ordinary(self, text: str) -> list[int]:
        """Text -> ids with every special-token spelling treated as plain text."""
        if not text:
            return []
        if self._special_marker and self._special_marker not in text:
            return self._tokenizer.encode(text, add_special_tokens=False).ids
        tok = self._tokenizer
        if tok.normalizer is not None:
            text = tok.normalizer.normalize_str(text)
        return [t.id for piece, _ in tok.pre_tokenizer.pre_tokenize_str(text) for t in tok.model.tokenize(piece)]

    def is_special(self, token_id: int) -> bool:
        return token_id in self._specials

    def special_text(self, token_id: int) -> str | None:
        """The spelling of a special token (e.g. "<|reserved_200014|>"), or None for ordinary ids."""
        return self._specials.get(token_id)

    def token_bytes(self, token_id: int) -> bytes | None:
        """The raw bytes of one token (a special token's spelling in UTF-8); None for an unknown id."""
        if token_id in self._bytes_cache:
            return self._bytes_cache[token_id]
        special = self._specials.get(token_id)
        result: bytes | None
        if special is not None:
            result = special.encode("utf-8")
        else:
            piece = self._tokenizer.id_to_token(token_id) if 0 <= token_id < self.vocab_size else None
            result = None if piece is None else bytes(self._byte_decoder[c] for c in piece)
        self._bytes_cache[token_id] = result
        return result

    def decode(self, token_ids: list[int]) -> str:
        """Ids -> text; invalid UTF-8 and unknown ids become U+FFFD instead of raising."""
        return b"".join(self.token_bytes(t) or b"\xff" for t in token_ids).decode("utf-8", errors="replace")


def default_tokenizer_path() -> Path:
    """Where `enclave harmony` keeps the rebuilt o200k_harmony tokenizer.json when given no --tokenizer."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("Enclave", "Enclave")) / "o200k_harmony" / "tokenizer.json"


def load_codec(path: str | Path | None = None) -> HarmonyCodec:
    """The codec for `path` (a tokenizer.json or a package folder), or for the rebuilt one (built on first use).

    Loading a 200k-token tokenizer takes seconds, so codecs are shared per file version within a process.
    """
    if path is None:
        from app.tokenizer.o200k_harmony import write_tokenizer_json

        path = default_tokenizer_path()
        if not path.is_file():
            write_tokenizer_json(path)
    path = _tokenizer_file(path)
    stat = path.stat()
    return _cached_codec(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _cached_codec(path: str, mtime_ns: int, size: int) -> HarmonyCodec:
    return HarmonyCodec.from_file(path)


def _tokenizer_file(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"No tokenizer.json at {path}.")
    return path
