"""The dml target's MoE: MXFP4 dequantised in the graph, both execution paths, against NumPy gpt-oss math."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto

from app.checkpoint.config import GptOssConfig
from app.export import dml_moe
from app.export.builder import GraphBuilder
from app.export.context import ExportOptions, LayerContext
from app.export.dml_operators import typed_graph
from tests.export import dml_reference as ref

CFG = GptOssConfig(num_hidden_layers=1, hidden_size=64, intermediate_size=96, num_attention_heads=4,
                   num_key_value_heads=2, head_dim=16, num_local_experts=8, num_experts_per_tok=4)
# float32 graph vs float64 reference: the only differences are float32 rounding in the MatMuls.
RTOL = 2e-6


@pytest.fixture(scope="module")
def weights() -> dict[str, np.ndarray]:
    return ref.random_layer(CFG, 0, np.random.default_rng(7))


def _moe_model(folder: Path, tensors: dict[str, np.ndarray], options: ExportOptions = ExportOptions(),
               path: str = "if") -> Path:
    """A graph of just one MoE block: hidden [B, S, H] -> y. `path` picks the If (as exported) or one branch."""
    ctx = LayerContext(CFG, ref.DictWeights(tensors), "dml", np.dtype(np.float32), options)
    with GraphBuilder(folder / "moe.onnx.data") as b:
        b.add_input("hidden", TensorProto.FLOAT, ["B", "S", CFG.hidden_size])
        if path == "if":
            out = dml_moe.build_moe(b, 0, "hidden", ctx)
        else:
            x2d = b.op("Reshape", "hidden", b.const("flat", [-1, CFG.hidden_size]))
            top_idx, top_w = dml_moe.build_router(b, ctx, 0, x2d)
            names = dml_moe.moe_names(b, ctx, 0)
            build = dml_moe.build_gather_path if path == "gather" else dml_moe.build_expert_loop_path
            out = b.op("Reshape", build(b, names, x2d, top_idx, top_w, path), b.op("Shape", "hidden"))
        b.add_node("Identity", [out], ["y"])
        b.add_output("y", TensorProto.FLOAT, ["B", "S", CFG.hidden_size])
        b.save(folder / "moe.onnx")
    return folder / "moe.onnx"


def _run(model: Path, x: np.ndarray) -> np.ndarray:
    return ref.cpu_session(str(model)).run(None, {"hidden": x})[0]


def _relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


def test_pair_lut_decodes_low_nibble_first() -> None:
    lut = dml_moe.pair_lut()
    assert lut.shape == (256, 2)
    assert lut[0x21].tolist() == [0.5, 1.0]  # low nibble 1 -> 0.5, high nibble 2 -> 1.0
    assert lut[0x7F].tolist() == [-6.0, 6.0]
    assert lut[0x98].tolist() == [-0.0, -0.5]
    assert dml_moe.pair_lut(swap_nibbles=True)[0x21].tolist() == [1.0, 0.5]


def test_word_lut_decodes_the_two_bytes_of_a_little_endian_word_in_order() -> None:
    lut = dml_moe.word_lut()
    assert lut.shape == (65536, 4)
    word = int(dml_moe.as_words(np.array([0x21, 0x7F], np.uint8))[0])
    assert lut[word].tolist() == [0.5, 1.0, -6.0, 6.0]  # byte 0x21 then byte 0x7F, low nibble first
    assert dml_moe.word_lut(swap_nibbles=True)[word].tolist() == [1.0, 0.5, 6.0, -6.0]


def test_scale_lut_is_two_to_the_exponent_minus_127() -> None:
    lut = dml_moe.scale_lut()
    assert lut[127] == 1.0 and lut[128] == 2.0 and lut[120] == 2.0 ** -7
    assert lut[0] == np.float32(2.0 ** -127)  # a float32 subnormal, still exact


def test_deinterleave_puts_gate_rows_before_up_rows() -> None:
    rows = np.arange(2 * 6).reshape(2, 6)  # [E=2, 2I=6]: g0 u0 g1 u1 g2 u2
    assert dml_moe.deinterleave_rows(rows, axis=1).tolist() == [[0, 2, 4, 1, 3, 5], [6, 8, 10, 7, 9, 11]]


def test_expert_layout_is_block_major_words() -> None:
    blocks = np.arange(4 * 2 * 16, dtype=np.uint8).reshape(4, 2, 16)  # N=4 rows (g0 u0 g1 u1), G=2 blocks
    scales = np.arange(8, dtype=np.uint8).reshape(4, 2)
    words, block_scales = dml_moe.expert_layout(blocks, scales, gate_up=True)
    assert words.dtype == np.uint16 and words.shape == (2, 4, 8)
    # block 1 of output row 1 is block 1 of checkpoint row 2 (the second gate row); word 0 = bytes 0 and 1.
    first_byte = blocks[2, 1, 0]
    assert words[1, 1, 0] == first_byte | (blocks[2, 1, 1].astype(np.uint16) << 8)
    assert block_scales.tolist() == [[0, 4, 2, 6], [1, 5, 3, 7]]


@pytest.mark.parametrize("path", ["if", "gather", "loop"])
@pytest.mark.parametrize("tokens", [1, 2, 9])
def test_moe_matches_reference(tmp_path: Path, weights: dict[str, np.ndarray], path: str, tokens: int) -> None:
    """Both paths (and the If that picks between them) are exact up to float32 rounding."""
    x = np.random.default_rng(tokens).normal(0, 1, (1, tokens, CFG.hidden_size)).astype(np.float32)
    got = _run(_moe_model(tmp_path, weights, path=path), x)
    assert got.shape == x.shape
    assert _relative_error(got, ref.moe(CFG, weights, 0, x)) < RTOL


def test_unused_experts_and_batches(tmp_path: Path, weights: dict[str, np.ndarray]) -> None:
    """Two sequences of three tokens: some experts get no token of their own."""
    x = np.random.default_rng(3).normal(0, 1, (2, 3, CFG.hidden_size)).astype(np.float32)
    assert _relative_error(_run(_moe_model(tmp_path, weights), x), ref.moe(CFG, weights, 0, x)) < RTOL


@pytest.mark.parametrize("mutation", ["debug_swap_nibbles", "debug_swap_experts", "debug_no_swiglu_limit"])
def test_mutations_change_the_output(tmp_path: Path, weights: dict[str, np.ndarray], mutation: str) -> None:
    """The reference test above can fail: each deliberate bug moves the output by far more than RTOL."""
    x = np.random.default_rng(11).normal(0, 1, (1, 9, CFG.hidden_size)).astype(np.float32)
    got = _run(_moe_model(tmp_path, weights, ExportOptions(**{mutation: True})), x)
    assert _relative_error(got, ref.moe(CFG, weights, 0, x)) > 1e-2


def test_experts_stay_packed_after_ort_optimisation(tmp_path: Path, weights: dict[str, np.ndarray]) -> None:
    """ORT's constant folding must not expand the uint8 experts to float at session start: the optimised
    graph keeps the same initializer bytes (give or take small folded constants)."""
    model = _moe_model(tmp_path, weights)
    optimised = tmp_path / "optimised.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(optimised)
    ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def initializer_bytes(path: Path) -> int:
        graph = onnx.load(str(path), load_external_data=False).graph
        return sum(int(np.prod(t.dims)) * onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
                   for t in graph.initializer)

    before, after = initializer_bytes(model), initializer_bytes(optimised)
    assert after <= before * 1.05 + 4096, f"optimised initializers grew from {before} to {after} bytes"


def test_float16_graph_stays_close(tmp_path: Path, weights: dict[str, np.ndarray]) -> None:
    """The layer also builds for float16 activations (DirectML's fast path); ORT CPU runs it."""
    ctx = LayerContext(CFG, ref.DictWeights(weights), "dml", np.dtype(np.float16), ExportOptions())
    with GraphBuilder(tmp_path / "moe16.onnx.data") as b:
        b.add_input("hidden", TensorProto.FLOAT16, ["B", "S", CFG.hidden_size])
        b.add_node("Identity", [dml_moe.build_moe(b, 0, "hidden", ctx)], ["y"])
        b.add_output("y", TensorProto.FLOAT16, ["B", "S", CFG.hidden_size])
        b.save(tmp_path / "moe16.onnx")
    session = ref.cpu_session(str(tmp_path / "moe16.onnx"))
    for tokens in (1, 6):
        x = np.random.default_rng(tokens).normal(0, 1, (1, tokens, CFG.hidden_size)).astype(np.float16)
        got = session.run(None, {"hidden": x})[0].astype(np.float32)
        assert _relative_error(got, ref.moe(CFG, weights, 0, x.astype(np.float32))) < 5e-3


def test_scales_float16_cannot_hold_are_refused_by_name() -> None:
    scales = np.full((2, 4, 2), 127, np.uint8)
    dml_moe.check_scale_range("model.layers.0.mlp.experts.down_proj_scales", scales, np.dtype(np.float16))
    scales[1, 2, 0] = 150
    with pytest.raises(ValueError, match=r"down_proj_scales has block exponent 150"):
        dml_moe.check_scale_range("model.layers.0.mlp.experts.down_proj_scales", scales, np.dtype(np.float16))
    dml_moe.check_scale_range("model.layers.0.mlp.experts.down_proj_scales", scales, np.dtype(np.float32))


def test_loop_path_never_makes_an_empty_tensor(tmp_path: Path, weights: dict[str, np.ndarray]) -> None:
    """DirectML skips kernels on empty tensors, so the loop path must not produce any, even for experts
    that no token picked: every intermediate value of a 2-token run (experts 1 and 4 unused) is non-empty."""
    model_path = _moe_model(tmp_path, weights, path="loop")
    model = onnx.load(str(model_path), load_external_data=False)
    _, types = typed_graph(model)
    produced = [o for node in model.graph.node for o in node.output if o and o not in {"y"}]
    model.graph.output.extend(onnx.helper.make_tensor_value_info(o, types[o], None) for o in produced)
    exposed = tmp_path / "exposed.onnx"
    onnx.save(model, str(exposed))
    x = np.random.default_rng(4).normal(0, 1, (1, 2, CFG.hidden_size)).astype(np.float32)
    session = ref.cpu_session(str(exposed))
    values = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"hidden": x})))
    empty = [name for name in produced if values[name].size == 0]
    assert not empty, empty[:5]
