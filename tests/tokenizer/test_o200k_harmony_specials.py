"""Harmony special tokens sit at gpt-oss's real ids, and the tokenizer covers all 201088 embedding rows."""

from __future__ import annotations

import pytest

from app.tokenizer import special_tokens as st

# gpt-oss's ids, as listed in openai/gpt-oss-20b's tokenizer_config.json and openai-harmony's encoding.
REAL_IDS = {
    "<|startoftext|>": 199998,
    "<|endoftext|>": 199999,
    "<|reserved_200000|>": 200000,
    "<|reserved_200001|>": 200001,
    "<|return|>": 200002,
    "<|constrain|>": 200003,
    "<|reserved_200004|>": 200004,
    "<|channel|>": 200005,
    "<|start|>": 200006,
    "<|end|>": 200007,
    "<|message|>": 200008,
    "<|reserved_200009|>": 200009,
    "<|reserved_200010|>": 200010,
    "<|reserved_200011|>": 200011,
    "<|call|>": 200012,
    "<|reserved_200013|>": 200013,
    "<|endofprompt|>": 200018,
    "<|reserved_200019|>": 200019,
    "<|reserved_201087|>": 201087,
}


def test_constants_match_real_ids() -> None:
    assert (st.STARTOFTEXT, st.ENDOFTEXT, st.RETURN, st.CONSTRAIN) == (199998, 199999, 200002, 200003)
    assert (st.CHANNEL, st.START, st.END, st.MESSAGE, st.CALL) == (200005, 200006, 200007, 200008, 200012)
    assert st.VOCAB_SIZE == 201088
    for text, token_id in st.NAMED.items():
        assert REAL_IDS[text] == token_id


def test_vocab_has_201088_ids(harmony_tokenizer) -> None:
    assert harmony_tokenizer.get_vocab_size(with_added_tokens=True) == 201088
    assert harmony_tokenizer.get_vocab_size(with_added_tokens=False) == 199998
    assert harmony_tokenizer.id_to_token(201088) is None


@pytest.mark.parametrize("text, token_id", sorted(REAL_IDS.items()))
def test_special_token_ids(harmony_tokenizer, text: str, token_id: int) -> None:
    assert harmony_tokenizer.token_to_id(text) == token_id
    assert harmony_tokenizer.id_to_token(token_id) == text


def test_every_id_from_199998_is_a_special_added_token(harmony_tokenizer) -> None:
    added = harmony_tokenizer.get_added_tokens_decoder()
    assert sorted(added) == list(range(199998, 201088))
    assert all(tok.special and not tok.normalized for tok in added.values())


def test_harmony_message_encodes_like_openai_harmony(harmony_tokenizer, harmony_encoding) -> None:
    text = (
        "<|start|>system<|message|>You are ChatGPT.<|end|>"
        "<|start|>user<|message|>What is 2+2?<|end|>"
        "<|start|>assistant<|channel|>analysis<|message|>Easy.<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.calc <|constrain|>json<|message|>{\"x\": 1}<|call|>"
        "<|start|>assistant<|channel|>final<|message|>4<|return|>"
    )
    ours = harmony_tokenizer.encode(text, add_special_tokens=False).ids
    assert ours == harmony_encoding.encode(text, allowed_special="all")
    assert ours[0] == 200006 and ours[-1] == 200002
    assert {200003, 200005, 200007, 200008, 200012} <= set(ours)


def test_specials_are_dropped_when_decoding_text(harmony_tokenizer) -> None:
    ids = harmony_tokenizer.encode("<|start|>user<|message|>hi there<|end|>", add_special_tokens=False).ids
    assert ids[0] == 200006 and ids[2] == 200008 and ids[-1] == 200007
    # add_special_tokens=True adds nothing: gpt-oss has no BOS/EOS template, harmony rendering places specials.
    assert harmony_tokenizer.encode("hi there", add_special_tokens=True).ids == ids[3:5]
    assert harmony_tokenizer.decode(ids, skip_special_tokens=True) == "userhi there"
    assert harmony_tokenizer.decode(ids, skip_special_tokens=False) == "<|start|>user<|message|>hi there<|end|>"


def test_special_table_is_complete() -> None:
    table = st.special_token_table()
    assert len(table) == 201088 - 199998
    assert table[200018] == "<|endofprompt|>" and table[200017] == "<|reserved_200017|>"
