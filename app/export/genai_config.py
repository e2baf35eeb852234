"""genai_config.json, so onnxruntime-genai (0.18) can run an Enclave package unchanged.

Schema: onnxruntime-genai's config reference (docs/genai/reference/config.md) and what its model builder
writes; the model type for gpt-oss is "gptoss" (GptOssForCausalLM minus "ForCausalLM", lower-cased).
"""

from __future__ import annotations

from typing import Any

from app.checkpoint.config import GptOssConfig
from app.package.manifest import MODEL_FILE
from app.package.targets import (
    ATTENTION_MASK,
    INPUT_IDS,
    LOGITS,
    PAST_KEY,
    PAST_VALUE,
    PRESENT_KEY,
    PRESENT_VALUE,
    TARGETS,
)

BOS_TOKEN_ID = 199998  # <|startoftext|> in o200k_harmony


def sliding_window_section(window: int, layers: list[int], cache_slack: int) -> dict[str, Any]:
    """decoder.sliding_window as onnxruntime-genai's builder writes it for window-sized KV buffers (GQA
    sliding_window_cache=1): the layers whose buffers hold `window + cache_slack` positions. The engine reads
    the same section (app.engine.session)."""
    return {"window_size": window, "slide_key_value_cache": False, "slide_inputs": False, "layers": layers,
            "cache_slack": cache_slack}


def genai_config(config: GptOssConfig, *, target: str, context_length: int, shared_kv_buffer: bool,
                 eos_token_ids: list[int], sliding_window: dict[str, Any] | None = None) -> dict[str, Any]:
    provider_options = [dict(options) for options in TARGETS[target].genai_provider_options]
    decoder_window = {"sliding_window": sliding_window} if sliding_window else {}
    return {
        "model": {
            "bos_token_id": BOS_TOKEN_ID,
            "context_length": context_length,
            "decoder": {
                "session_options": {"log_id": "onnxruntime-genai", "provider_options": provider_options},
                "filename": MODEL_FILE,
                "head_size": config.head_dim,
                "hidden_size": config.hidden_size,
                "inputs": {
                    "input_ids": INPUT_IDS,
                    "attention_mask": ATTENTION_MASK,
                    "past_key_names": PAST_KEY,
                    "past_value_names": PAST_VALUE,
                },
                "outputs": {
                    "logits": LOGITS,
                    "present_key_names": PRESENT_KEY,
                    "present_value_names": PRESENT_VALUE,
                },
                "num_attention_heads": config.num_attention_heads,
                "num_hidden_layers": config.num_hidden_layers,
                "num_key_value_heads": config.num_key_value_heads,
                **decoder_window,
            },
            "eos_token_id": eos_token_ids if len(eos_token_ids) > 1 else eos_token_ids[0],
            "pad_token_id": config.pad_token_id,
            "type": "gptoss",
            "vocab_size": config.vocab_size,
        },
        "search": {
            "diversity_penalty": 0.0,
            "do_sample": False,
            "early_stopping": True,
            "length_penalty": 1.0,
            "max_length": context_length,
            "min_length": 0,
            "no_repeat_ngram_size": 0,
            "num_beams": 1,
            "num_return_sequences": 1,
            "past_present_share_buffer": shared_kv_buffer,
            "repetition_penalty": 1.0,
            "temperature": 1.0,
            "top_k": 1,
            "top_p": 1.0,
        },
    }
