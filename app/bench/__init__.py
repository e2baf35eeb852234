"""Benchmarks of the engine (kept out of the library modules): our generator vs onnxruntime-genai."""
