"""Builds gpt-oss's Hugging Face `tokenizer.json` (o200k_harmony) offline, and writes it with its companions.

The result mirrors what transformers' gpt-oss conversion (`GptOssConverter`, a `TikTokenConverter`) produced for
openai/gpt-oss-20b: byte-level BPE whose merges are derived from tiktoken ranks, the o200k split regex, a
ByteLevel decoder and the harmony specials as special added tokens. Two deliberate differences from the hub
file: the `<|reserved_N|>` fillers continue up to id 201087 so the tokenizer covers every row of gpt-oss's
201088-row embedding (the hub file stops at 200018), and the JSON is written compactly.

Building takes a couple of seconds (the merge derivation walks every token's split points); the serialized text
is cached per process so writing many test models costs one build.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from app.tokenizer.bundled_vocab import O200K_BASE_FILENAME, o200k_base_tiktoken_bytes, o200k_ranked_tokens
from app.tokenizer.special_tokens import BOS_TOKEN, EOS_TOKEN, PAD_TOKEN, special_token_table

TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG_JSON = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_JSON = "special_tokens_map.json"

# o200k_base's pre-tokenizer split (tiktoken_ext/openai_public.py; openai-harmony uses the same for o200k_harmony).
# Case-aware letter runs with optional English contractions, digit groups of up to three, punctuation runs
# (which swallow trailing newlines and slashes), newline runs, and whitespace.
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map that byte-level BPE vocabularies are written in."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def derive_vocab_and_merges(ranked_tokens: tuple[bytes, ...] | list[bytes]) -> tuple[dict[str, int], list[list[str]]]:
    """The standard tiktoken -> Hugging Face BPE conversion (transformers' TikTokenConverter).

    Every way of splitting a token into two tokens that are both in the vocabulary becomes a merge; merges are
    ordered by the rank of the token they produce, ties broken by the ranks of the two halves. With
    `ignore_merges` (a whole pre-token that is in the vocab is taken as is), this reproduces tiktoken's ids.
    """
    table = str.maketrans({chr(b): c for b, c in _bytes_to_unicode().items()})
    rank_of = {tok: rank for rank, tok in enumerate(ranked_tokens)}
    texts = [tok.decode("latin-1").translate(table) for tok in ranked_tokens]
    vocab = {text: rank for rank, text in enumerate(texts)}
    merges: list[list[str]] = []
    for tok in ranked_tokens:  # rank order, so the merge list comes out sorted by the produced token's rank
        if len(tok) < 2:
            continue
        local = []
        for cut in range(1, len(tok)):
            left = rank_of.get(tok[:cut])
            right = rank_of.get(tok[cut:])
            if left is not None and right is not None:
                local.append((left, right))
        local.sort()
        merges.extend([texts[left], texts[right]] for left, right in local)
    return vocab, merges


def tokenizer_json_dict() -> dict[str, Any]:
    """The full tokenizer.json structure, in the key order that `tokenizers` itself serializes."""
    vocab, merges = derive_vocab_and_merges(o200k_ranked_tokens())
    added = [
        {
            "id": token_id,
            "content": text,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for token_id, text in special_token_table().items()
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": O200K_PATTERN}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
            ],
        },
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": True,
            "vocab": vocab,
            "merges": merges,
        },
    }


@functools.lru_cache(maxsize=1)
def tokenizer_json_bytes() -> bytes:
    """tokenizer.json as UTF-8 bytes; deterministic (same input vocabulary -> identical bytes), cached."""
    text = json.dumps(tokenizer_json_dict(), ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


def tokenizer_config_dict() -> dict[str, Any]:
    """tokenizer_config.json as the gpt-oss hub repo has it, so transformers' AutoTokenizer loads the folder."""
    return {
        "added_tokens_decoder": {
            str(token_id): {
                "content": text,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for token_id, text in special_token_table().items()
        },
        "bos_token": BOS_TOKEN,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOS_TOKEN,
        "extra_special_tokens": {},
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": PAD_TOKEN,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def special_tokens_map_dict() -> dict[str, str]:
    return {"bos_token": BOS_TOKEN, "eos_token": EOS_TOKEN, "pad_token": PAD_TOKEN}


def _write_atomically(path: Path, data: bytes) -> Path:
    """Write beside the target and rename, so a crash or full disk never leaves a half-written file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_tokenizer_json(path: Path) -> Path:
    """Write tokenizer.json and return its path.

    `path` may be an existing folder (the file is written as `<folder>/tokenizer.json`) or a file path ending
    in `.json` (written exactly there; parent folders are created).
    """
    path = Path(path)
    target = path if path.suffix == ".json" and not path.is_dir() else path / TOKENIZER_JSON
    return _write_atomically(target, tokenizer_json_bytes())


def write_o200k_base_tiktoken(folder: Path) -> Path:
    """Write `<folder>/o200k_base.tiktoken`, byte-identical to OpenAI's (SHA-256 verified before writing).

    Point the env var TIKTOKEN_ENCODINGS_BASE at `folder` and openai-harmony loads o200k_harmony offline.
    """
    return _write_atomically(Path(folder) / O200K_BASE_FILENAME, o200k_base_tiktoken_bytes())


def write_tokenizer_files(folder: Path) -> list[Path]:
    """Write tokenizer.json, tokenizer_config.json and special_tokens_map.json into `folder` (a model folder)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def dump(obj: Any) -> bytes:
        return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    return [
        write_tokenizer_json(folder / TOKENIZER_JSON),
        _write_atomically(folder / TOKENIZER_CONFIG_JSON, dump(tokenizer_config_dict())),
        _write_atomically(folder / SPECIAL_TOKENS_MAP_JSON, dump(special_tokens_map_dict())),
    ]


def load_tokenizer(path: Path | str) -> Tokenizer:
    """Load a tokenizer.json (or a folder holding one) with `tokenizers.Tokenizer.from_file`."""
    path = Path(path)
    if path.is_dir():
        path = path / TOKENIZER_JSON
    if not path.is_file():
        raise FileNotFoundError(f"No tokenizer file at {path}.")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception subclass for malformed JSON
        raise ValueError(f"{path} is not a valid Hugging Face tokenizer.json: {exc}") from exc


def cached_tokenizer(folder: Path) -> Tokenizer:
    """o200k_harmony for a model with no package on this computer (a remote engine): read from
    `folder/tokenizer.json`, which is built there first (a few seconds) when it is missing or unreadable."""
    path = Path(folder) / TOKENIZER_JSON
    if path.is_file():
        try:
            return load_tokenizer(path)
        except ValueError:
            pass  # damaged (a crash cannot half-write it, but a disk can rot): build it again
    return load_tokenizer(write_tokenizer_json(path))
