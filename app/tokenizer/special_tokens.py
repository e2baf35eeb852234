"""The harmony special tokens of gpt-oss's o200k_harmony tokenizer: ids and strings in one place.

Everything that renders or parses the harmony chat format (engine, exporter's genai_config, tests) takes ids
from here so a typo in an id can only happen once. The values are those of openai/gpt-oss's tokenizer.json and of
openai-harmony's `o200k_harmony` encoding; the two agree on every id except 200018, which Hugging Face names
`<|endofprompt|>` (tiktoken's o200k_base special) and openai-harmony `<|reserved_200018|>` — we follow the
Hugging Face file because that is what gpt-oss checkpoints ship.
"""

from __future__ import annotations

STARTOFTEXT = 199998
ENDOFTEXT = 199999
RETURN = 200002
CONSTRAIN = 200003
CHANNEL = 200005
START = 200006
END = 200007
MESSAGE = 200008
CALL = 200012
ENDOFPROMPT = 200018

# o200k_base has 199998 mergeable ranks (ids 0..199997); every id from here on is a special token.
NUM_MERGEABLE = 199998
# gpt-oss pads its embedding table to 201088 rows; the ids past the named ones are <|reserved_N|> fillers.
VOCAB_SIZE = 201088

STARTOFTEXT_TOKEN = "<|startoftext|>"
ENDOFTEXT_TOKEN = "<|endoftext|>"
RETURN_TOKEN = "<|return|>"
CONSTRAIN_TOKEN = "<|constrain|>"
CHANNEL_TOKEN = "<|channel|>"
START_TOKEN = "<|start|>"
END_TOKEN = "<|end|>"
MESSAGE_TOKEN = "<|message|>"
CALL_TOKEN = "<|call|>"
ENDOFPROMPT_TOKEN = "<|endofprompt|>"

# The named (non-filler) special tokens, string -> id.
NAMED: dict[str, int] = {
    STARTOFTEXT_TOKEN: STARTOFTEXT,
    ENDOFTEXT_TOKEN: ENDOFTEXT,
    RETURN_TOKEN: RETURN,
    CONSTRAIN_TOKEN: CONSTRAIN,
    CHANNEL_TOKEN: CHANNEL,
    START_TOKEN: START,
    END_TOKEN: END,
    MESSAGE_TOKEN: MESSAGE,
    CALL_TOKEN: CALL,
    ENDOFPROMPT_TOKEN: ENDOFPROMPT,
}

# Short names for code that wants `SPECIAL_IDS["start"]` rather than the token text.
SPECIAL_IDS: dict[str, int] = {
    "startoftext": STARTOFTEXT,
    "endoftext": ENDOFTEXT,
    "return": RETURN,
    "constrain": CONSTRAIN,
    "channel": CHANNEL,
    "start": START,
    "end": END,
    "message": MESSAGE,
    "call": CALL,
    "endofprompt": ENDOFPROMPT,
}

# Tokens that end an assistant turn: <|return|> after a final answer, <|call|> after a tool call, and
# <|end|> after any other message (generation_config.json lists only <|return|> and <|endoftext|>).
STOP_IDS: tuple[int, ...] = (RETURN, CALL, END)

BOS_TOKEN = STARTOFTEXT_TOKEN
EOS_TOKEN = RETURN_TOKEN
PAD_TOKEN = ENDOFTEXT_TOKEN


def special_token_table() -> dict[int, str]:
    """Every special id (199998..201087) with its text: the named tokens plus `<|reserved_N|>` fillers."""
    by_id = {token_id: text for text, token_id in NAMED.items()}
    return {i: by_id.get(i, f"<|reserved_{i}|>") for i in range(NUM_MERGEABLE, VOCAB_SIZE)}
