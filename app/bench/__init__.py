"""Benchmarks, kept out of the library modules: the engine against onnxruntime-genai (`enclave bench`), and
document extraction speed (`python -m app.bench.documents`)."""
