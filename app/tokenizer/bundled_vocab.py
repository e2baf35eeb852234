"""Reads the o200k vocabulary that the `quicktok-v1` wheel bundles, and turns it back into `o200k_base.tiktoken`.

Why a third-party wheel: gpt-oss's tokenizer is o200k_base's 199998 byte-level BPE ranks plus harmony specials,
and OpenAI only publishes the rank file on a CDN that Enclave must never contact. quicktok-v1 (MIT, derived from
tiktoken) ships the same ranks in a compact binary form inside its wheel, so a plain `pip install` brings them.
We never trust it blindly: the rebuilt `.tiktoken` file must hash to the official SHA-256, which proves every
rank is byte-for-byte OpenAI's.

quicktok's `o200k.vocab` layout (little-endian): u32 count, then `count` records of
(u16 byte length, the token's bytes, u32 rank).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.resources
import struct

from app.tokenizer.special_tokens import NUM_MERGEABLE

# SHA-256 of OpenAI's published o200k_base.tiktoken (tiktoken_ext/openai_public.py and openai-harmony check it).
O200K_BASE_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
O200K_BASE_FILENAME = "o200k_base.tiktoken"

_VOCAB_FILE = "o200k.vocab"


class TokenizerDataError(RuntimeError):
    """The bundled vocabulary is missing, malformed, or does not match OpenAI's o200k_base."""


def _read_vocab_file() -> bytes:
    try:
        # Literal names: tests/packaging checks that the frozen app bundles every resource the code reads.
        # One name per joinpath: frozen, quicktok resolves to a MultiplexedPath, whose joinpath takes one
        # argument on Python 3.11.
        resource = importlib.resources.files("quicktok").joinpath("data").joinpath("o200k.vocab")
        return resource.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise TokenizerDataError(
            f"The o200k vocabulary quicktok/data/{_VOCAB_FILE} is not installed; "
            f"install the pinned 'quicktok-v1' package ({exc})."
        ) from exc


def parse_quicktok_vocab(data: bytes) -> list[bytes]:
    """Token bytes indexed by rank, from quicktok's binary vocab (raises on any inconsistency)."""
    if len(data) < 4:
        raise TokenizerDataError(f"{_VOCAB_FILE} is truncated: {len(data)} bytes, no header.")
    (count,) = struct.unpack_from("<I", data, 0)
    tokens: list[bytes | None] = [None] * count
    offset = 4
    try:
        for _ in range(count):
            (length,) = struct.unpack_from("<H", data, offset)
            offset += 2
            token = data[offset : offset + length]
            offset += length
            (rank,) = struct.unpack_from("<I", data, offset)
            offset += 4
            if len(token) != length or rank >= count or tokens[rank] is not None:
                raise TokenizerDataError(f"{_VOCAB_FILE} has a bad record for rank {rank} at byte {offset}.")
            tokens[rank] = token
    except struct.error as exc:
        raise TokenizerDataError(f"{_VOCAB_FILE} is truncated at byte {offset} of {len(data)}.") from exc
    if offset != len(data):
        raise TokenizerDataError(f"{_VOCAB_FILE} has {len(data) - offset} unexpected trailing bytes.")
    if any(t is None for t in tokens):
        raise TokenizerDataError(f"{_VOCAB_FILE} leaves some ranks below {count} without a token.")
    return tokens  # type: ignore[return-value]


def tiktoken_file_bytes(ranked_tokens: list[bytes]) -> bytes:
    """The `.tiktoken` text format: one `base64(token) rank` line per rank, in rank order."""
    return b"".join(base64.b64encode(tok) + b" %d\n" % rank for rank, tok in enumerate(ranked_tokens))


@functools.lru_cache(maxsize=1)
def o200k_ranked_tokens() -> tuple[bytes, ...]:
    """o200k_base's mergeable tokens, index = rank, verified against OpenAI's published file hash."""
    tokens = parse_quicktok_vocab(_read_vocab_file())
    if len(tokens) != NUM_MERGEABLE:
        raise TokenizerDataError(f"{_VOCAB_FILE} holds {len(tokens)} tokens; o200k_base has {NUM_MERGEABLE}.")
    digest = hashlib.sha256(tiktoken_file_bytes(tokens)).hexdigest()
    if digest != O200K_BASE_SHA256:
        raise TokenizerDataError(
            f"{_VOCAB_FILE} does not rebuild OpenAI's o200k_base.tiktoken (SHA-256 {digest}, "
            f"expected {O200K_BASE_SHA256})."
        )
    return tuple(tokens)


def o200k_base_tiktoken_bytes() -> bytes:
    """The exact bytes of OpenAI's o200k_base.tiktoken (hash already verified)."""
    return tiktoken_file_bytes(list(o200k_ranked_tokens()))
