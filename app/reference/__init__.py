"""The project's own NumPy forward pass of gpt-oss: the ground truth `enclave verify` compares packages with.

Written to be read, after openai/gpt-oss's gpt_oss/torch/model.py; it shares nothing with app.export except
the checkpoint reader, so a mistake in the exporter or in an ONNX Runtime kernel cannot hide in both.
"""
