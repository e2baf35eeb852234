"""The o200k_harmony tokenizer that gpt-oss uses, rebuilt offline from a bundled o200k vocabulary."""
