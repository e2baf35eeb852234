"""genai_config.json, so onnxruntime-genai (0.18) can run an Enclave package unchanged.

Schema: onnxruntime-genai's config reference (docs/genai/reference/config.md) and what its model builder
writes; the model type for gpt-oss is "gptoss" (GptOssForCausalLM minus "ForCausalLM", lower-cased).
"""

from __future__ import annotations

from typing import Any

from app.checkpoint.config import GptOssConfig

BOS_TOKEN_ID = 199998  # <|startoftext|> in o200k_harmony
_PROVIDERS = {"cpu": [], "cpu-int4": [], "cuda": [{"cuda": {}}], "dml": [{"dml": {}}]}


def genai_config(config: GptOssConfig, *, target: str, context_length: int, shared_kv_buffer: bool,
                 eos_token_ids: list[int]) -> dict[str, Any]:
    return {
        "model": {
            "bos_token_id": BOS_TOKEN_ID,
            "context_length": context_length,
            "decoder": {
                "session_options": {"log_id": "onnxruntime-genai", "provider_options": _PROVIDERS[target]},
                "filename": "model.onnx",
                "head_size": config.head_dim,
                "hidden_size": config.hidden_size,
                "inputs": {
                    "input_ids": "input_ids",
                    "attention_mask": "attention_mask",
                    "past_key_names": "past_key_values.%d.key",
                    "past_value_names": "past_key_values.%d.value",
                },
                "outputs": {
                    "logits": "logits",
                    "present_key_names": "present.%d.key",
                    "present_value_names": "present.%d.value",
                },
                "num_attention_heads": config.num_attention_heads,
                "num_hidden_layers": config.num_hidden_layers,
                "num_key_value_heads": config.num_key_value_heads,
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
