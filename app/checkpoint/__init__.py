"""Reading Hugging Face gpt-oss checkpoints (config, lazily loaded tensors, MXFP4) and writing random test ones."""
