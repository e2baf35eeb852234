"""The dml target's attention (standard ops: sinks, sliding window, GQA, YaRN rotary, concat KV cache)
against NumPy gpt-oss math, through prefill, chunked prefill and token-by-token decode past the window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto

from app.checkpoint.config import GptOssConfig
from app.export import dml_attention
from app.export.builder import GraphBuilder, onnx_dtype
from app.export.context import AttentionIO, ExportOptions, LayerContext
from app.export.rope import cos_sin_cache
from tests.export import dml_reference as ref

# Layer 0 slides (window 8, so 20 tokens cross it), layer 1 is full; 4 query heads share 2 KV heads.
CFG = GptOssConfig(num_hidden_layers=2, hidden_size=64, intermediate_size=64, num_attention_heads=4,
                   num_key_value_heads=2, head_dim=16, sliding_window=8)
TOKENS = 20
# float32 graph vs float64 reference, outputs of magnitude ~3 (measured max error 1.3e-6).
ATOL = 1e-4


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    tensors: dict[str, np.ndarray] = {}
    for layer in range(CFG.num_hidden_layers):
        tensors.update(ref.random_layer(CFG, layer, rng))
    return tensors


@pytest.fixture(scope="module")
def hidden() -> np.ndarray:
    return np.random.default_rng(6).normal(0, 1, (1, TOKENS, CFG.hidden_size)).astype(np.float32)


@pytest.fixture(scope="module")
def expected(weights: dict[str, np.ndarray], hidden: np.ndarray) -> list[np.ndarray]:
    cos, sin = cos_sin_cache(CFG, TOKENS)
    return [ref.attention(CFG, weights, layer, hidden[0], cos, sin,
                          CFG.sliding_window if CFG.is_sliding(layer) else None)
            for layer in range(CFG.num_hidden_layers)]


def _attention_model(folder: Path, tensors: dict[str, np.ndarray], options: ExportOptions = ExportOptions(),
                     float_type: type = np.float32) -> Path:
    """Both layers applied to the same input (each its own output), with ORT-genai style cache I/O."""
    ctx = LayerContext(CFG, ref.DictWeights(tensors), "dml", np.dtype(float_type), options)
    kv_shape = ["B", CFG.num_key_value_heads, "P", CFG.head_dim]
    elem = onnx_dtype(float_type)
    with GraphBuilder(folder / "attn.onnx.data") as b:
        b.add_input("hidden", elem, ["B", "S", CFG.hidden_size])
        b.add_input("position_ids", TensorProto.INT64, ["B", "S"])
        b.add_input("attention_mask", TensorProto.INT64, ["B", "T"])
        for layer in range(CFG.num_hidden_layers):
            io = AttentionIO(
                past_key=b.add_input(f"past_key_values.{layer}.key", elem, kv_shape),
                past_value=b.add_input(f"past_key_values.{layer}.value", elem, kv_shape),
                present_key=f"present.{layer}.key", present_value=f"present.{layer}.value", seqlens_k="",
                total_sequence_length="", cos_cache="", sin_cache="", position_ids="position_ids",
                attention_mask="attention_mask")
            out = dml_attention.build_attention(b, layer, "hidden", ctx, io)
            b.add_node("Identity", [out], [f"out.{layer}"])
            b.add_output(f"out.{layer}", elem, ["B", "S", CFG.hidden_size])
            for kind in ("key", "value"):
                b.add_output(f"present.{layer}.{kind}", elem, ["B", CFG.num_key_value_heads, "T", CFG.head_dim])
        b.save(folder / "attn.onnx")
    return folder / "attn.onnx"


def _run_in_chunks(model: Path, hidden: np.ndarray, chunks: list[int]) -> list[np.ndarray]:
    """Feeds the sequence in chunks (first = prefill, later ones with the growing cache); per-layer outputs."""
    session = ref.cpu_session(str(model))
    names = [o.name for o in session.get_outputs()]
    dtype = hidden.dtype
    empty = np.zeros((1, CFG.num_key_value_heads, 0, CFG.head_dim), dtype)
    cache = {f"past_key_values.{layer}.{kind}": empty for layer in range(CFG.num_hidden_layers)
             for kind in ("key", "value")}
    outs: list[list[np.ndarray]] = [[] for _ in range(CFG.num_hidden_layers)]
    start = 0
    for size in chunks:
        end = start + size
        feed = {"hidden": hidden[:, start:end], "position_ids": np.arange(start, end)[None],
                "attention_mask": np.ones((1, end), np.int64), **cache}
        result = dict(zip(names, session.run(None, feed)))
        for layer in range(CFG.num_hidden_layers):
            outs[layer].append(result[f"out.{layer}"][0].astype(np.float32))
            for kind in ("key", "value"):
                cache[f"past_key_values.{layer}.{kind}"] = result[f"present.{layer}.{kind}"]
                assert result[f"present.{layer}.{kind}"].shape[2] == end
        start = end
    assert start == TOKENS
    return [np.concatenate(o) for o in outs]


@pytest.mark.parametrize("chunks", [[TOKENS], [11] + [1] * 9, [3, 7, 1, 9]], ids=["prefill", "decode", "chunked"])
def test_attention_matches_reference(tmp_path: Path, weights: dict[str, np.ndarray], hidden: np.ndarray,
                                     expected: list[np.ndarray], chunks: list[int]) -> None:
    got = _run_in_chunks(_attention_model(tmp_path, weights), hidden, chunks)
    for layer in range(CFG.num_hidden_layers):
        assert np.abs(got[layer] - expected[layer]).max() < ATOL, f"layer {layer}"


@pytest.mark.parametrize("options", [ExportOptions(debug_window_offset=1), ExportOptions(debug_window_offset=-1),
                                     ExportOptions(debug_drop_sinks=True), ExportOptions(debug_no_yarn=True)],
                         ids=["window+1", "window-1", "no-sinks", "no-yarn"])
def test_mutations_change_the_output(tmp_path: Path, weights: dict[str, np.ndarray], hidden: np.ndarray,
                                     expected: list[np.ndarray], options: ExportOptions) -> None:
    """The reference comparison can fail: each deliberate bug moves some layer by far more than ATOL."""
    got = _run_in_chunks(_attention_model(tmp_path, weights, options), hidden, [11] + [1] * 9)
    worst = max(float(np.abs(got[layer] - expected[layer]).max()) for layer in range(CFG.num_hidden_layers))
    assert worst > 100 * ATOL




def test_float16_graph_stays_close(tmp_path: Path, weights: dict[str, np.ndarray], hidden: np.ndarray,
                                   expected: list[np.ndarray]) -> None:
    """The layer also builds for float16 activations and KV cache (DirectML's fast path); measured max error
    1.8e-3 on outputs of magnitude ~3 (prefill then decode past the window)."""
    model = _attention_model(tmp_path, weights, float_type=np.float16)
    got = _run_in_chunks(model, hidden.astype(np.float16), [11] + [1] * 9)
    for layer in range(CFG.num_hidden_layers):
        assert np.abs(got[layer] - expected[layer]).max() < 1e-2, f"layer {layer}"
