"""Checkpoint -> ONNX graph using ORT com.microsoft operators, for the cpu, cpu-int4, cuda and dml targets. No Qt."""
