"""Writing the tokenizer files: paths, a Hugging Face-loadable model folder, deterministic bytes, merge order."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.tokenizer.o200k_harmony import (
    O200K_PATTERN,
    derive_vocab_and_merges,
    load_tokenizer,
    tokenizer_json_bytes,
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


@pytest.fixture(scope="module")
def transformers_converter():
    from transformers.convert_slow_tokenizer import TikTokenConverter

    return TikTokenConverter


@pytest.mark.slow
def test_vocab_and_merges_equal_transformers_conversion(
    tiktoken_encodings_dir: Path, transformers_converter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """transformers' own tiktoken -> HF conversion (what made gpt-oss's hub file) yields the same vocab and merges."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    tiktoken_file = str(tiktoken_encodings_dir / "o200k_base.tiktoken")
    vocab, merges = transformers_converter(vocab_file=tiktoken_file).extract_vocab_merges_from_model(tiktoken_file)
    ours = json.loads(tokenizer_json_bytes())["model"]
    assert len(merges) == len(ours["merges"]) == 446189
    assert ours["vocab"] == vocab
    assert ours["merges"] == [list(pair) for pair in merges]


def test_pipeline_equals_transformers_conversion(
    tmp_path: Path, transformers_converter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Normalizer, pre-tokenizer, post-processor, decoder and BPE flags as transformers' converter sets them."""
    import base64

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    tiny = tmp_path / "tiny.tiktoken"
    tiny.write_bytes(b"".join(base64.b64encode(bytes([b])) + b" %d\n" % b for b in range(256)))
    reference = json.loads(transformers_converter(vocab_file=str(tiny), pattern=O200K_PATTERN).converted().to_str())
    ours = json.loads(tokenizer_json_bytes())
    for key in ("version", "truncation", "padding", "normalizer", "pre_tokenizer", "post_processor", "decoder"):
        assert ours[key] == reference[key], key
    flags = {k: v for k, v in reference["model"].items() if k not in ("vocab", "merges")}
    assert {k: ours["model"][k] for k in flags} == flags
