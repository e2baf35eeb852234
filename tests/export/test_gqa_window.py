"""Pins down how many keys ORT's CPU GroupQueryAttention lets a query see for a given local_window_size.

The exporter relies on this to reproduce gpt-oss's window (128 keys including the query itself). The meaning
changed in microsoft/onnxruntime PR #25927 (the window now includes the current token); this test fails loudly
if the installed onnxruntime reads it the old way (W + 1 keys). With all
queries and keys zero every attended key gets the same weight, and value j = one-hot(j) makes the output row
list exactly which keys were attended.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

HEAD = 16  # head size; also the longest sequence the one-hot values can tell apart
MAX_LEN = 16


def _gqa_session(window: int) -> ort.InferenceSession:
    node = helper.make_node(
        "GroupQueryAttention",
        ["q", "k", "v", "past_k", "past_v", "seqlens_k", "total_len"],
        ["out", "present_k", "present_v"],
        domain="com.microsoft", num_heads=1, kv_num_heads=1, local_window_size=window,
    )
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        [node], "gqa_window",
        [helper.make_tensor_value_info("q", f, [1, "s", HEAD]), helper.make_tensor_value_info("k", f, [1, "s", HEAD]),
         helper.make_tensor_value_info("v", f, [1, "s", HEAD]),
         helper.make_tensor_value_info("past_k", f, [1, 1, MAX_LEN, HEAD]),
         helper.make_tensor_value_info("past_v", f, [1, 1, MAX_LEN, HEAD]),
         helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, [1]),
         helper.make_tensor_value_info("total_len", TensorProto.INT32, [])],
        [helper.make_tensor_value_info("out", f, [1, "s", HEAD]),
         helper.make_tensor_value_info("present_k", f, [1, 1, MAX_LEN, HEAD]),
         helper.make_tensor_value_info("present_v", f, [1, 1, MAX_LEN, HEAD])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 10
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _attended(row: np.ndarray) -> list[int]:
    return [int(j) for j in np.flatnonzero(row > 1e-6)]


def _run(session: ort.InferenceSession, start: int, count: int, past: tuple[np.ndarray, np.ndarray]):
    q = np.zeros((1, count, HEAD), np.float32)
    v = np.zeros((1, count, HEAD), np.float32)
    v[0, np.arange(count), np.arange(start, start + count)] = 1.0
    total = start + count
    return session.run(None, {"q": q, "k": q.copy(), "v": v, "past_k": past[0], "past_v": past[1],
                              "seqlens_k": np.array([total - 1], np.int32), "total_len": np.array(total, np.int32)})


@pytest.mark.parametrize("window", [4, 7])
def test_cpu_gqa_local_window_sees_w_keys_including_itself(window: int) -> None:
    session = _gqa_session(window)
    empty = (np.zeros((1, 1, MAX_LEN, HEAD), np.float32), np.zeros((1, 1, MAX_LEN, HEAD), np.float32))
    prefill = 10
    out, present_k, present_v = _run(session, 0, prefill, empty)
    for i in range(prefill):
        expected = list(range(max(0, i - window + 1), i + 1))
        assert _attended(out[0, i]) == expected, f"prefill query {i}"
    # Decode: one new token at position 10 against the shared-buffer cache.
    out, _, _ = _run(session, prefill, 1, (present_k, present_v))
    assert _attended(out[0, 0]) == list(range(prefill - window + 1, prefill + 1))
