"""Writing the tokenizer files: paths, a Hugging Face-loadable model folder, deterministic bytes, merge order."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.tokenizer.o200k_harmony import (
    derive_vocab_and_merges,
    load_tokenizer,
    write_tokenizer_files,
    write_tokenizer_json,
)


def test_merges_follow_tiktoken_ranks() -> None:
    # Ranks: a=0 b=1 c=2 ab=3 bc=4 abc=5. "abc" can be made as a+bc or ab+c; both merges are kept, after those
    # of lower-ranked tokens, and ordered by the halves' ranks: a+bc (0, 4) before ab+c (3, 2).
    vocab, merges = derive_vocab_and_merges([b"a", b"b", b"c", b"ab", b"bc", b"abc"])
    assert vocab == {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5}
    assert merges == [["a", "b"], ["b", "c"], ["a", "bc"], ["ab", "c"]]


def test_bytes_become_gpt2_printable_characters() -> None:
    vocab, merges = derive_vocab_and_merges([b" ", b"\n", b"\xc3", b"\xa9", b" \n", b"\xc3\xa9"])
    assert list(vocab) == ["Ġ", "Ċ", "Ã", "©", "ĠĊ", "Ã©"]
    assert merges == [["Ġ", "Ċ"], ["Ã", "©"]]


def test_folder_or_file_path(tmp_path: Path) -> None:
    assert write_tokenizer_json(tmp_path) == tmp_path / "tokenizer.json"
    custom = write_tokenizer_json(tmp_path / "sub" / "o200k.json")
    assert custom == tmp_path / "sub" / "o200k.json"
    assert custom.read_bytes() == (tmp_path / "tokenizer.json").read_bytes()
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_same_bytes_in_a_fresh_process(harmony_tokenizer_json: Path, tmp_path: Path) -> None:
    code = "import sys; from app.tokenizer.o200k_harmony import write_tokenizer_json; write_tokenizer_json(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    digest = hashlib.sha256((tmp_path / "tokenizer.json").read_bytes()).hexdigest()
    assert digest == hashlib.sha256(harmony_tokenizer_json.read_bytes()).hexdigest()


def test_model_folder_loads_in_transformers_offline(tmp_path: Path, harmony_tokenizer) -> None:
    written = write_tokenizer_files(tmp_path)
    assert sorted(p.name for p in written) == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["added_tokens_decoder"]["200006"]["content"] == "<|start|>"

    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(tmp_path), local_files_only=True)
    assert len(hf) == 201088
    assert (hf.bos_token_id, hf.eos_token_id, hf.pad_token_id) == (199998, 200002, 199999)
    text = "<|start|>user<|message|>Grüße, 世界! 123456<|end|>"
    assert hf(text)["input_ids"] == harmony_tokenizer.encode(text, add_special_tokens=False).ids


def test_load_tokenizer_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        load_tokenizer(tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.json"):
        load_tokenizer(broken)
