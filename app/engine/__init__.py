"""Inference engine: ONNX Runtime session, streaming generator, sampling, harmony chat format. No Qt."""
