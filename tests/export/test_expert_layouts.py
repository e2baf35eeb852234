"""Expert weight layouts, checked value by value and through ORT's QMoE kernel itself.

- cpu: the int8 re-encoding reproduces every MXFP4 value exactly.
- cuda: the fp4 bytes, decoded by an independent decoder written here, are exactly the checkpoint's values.
- cpu-int4: the re-quantisation error is bounded, and QMoE reads our packing the way we wrote it.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from app.checkpoint import mxfp4
from app.export import experts

E2M1 = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]


def _random_mxfp4(rng: np.random.Generator, e: int, n: int, k: int, spread: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Random codes with exponents in 118..118+spread-1 (spread <= 4: every block-64 int8 is lossless)."""
    blocks = rng.integers(0, 256, size=(e, n, k // 32, 16), dtype=np.uint8)
    scales = rng.integers(118, 118 + spread, size=(e, n, k // 32), dtype=np.uint8)
    return blocks, scales


def _independent_decode(code: int, e8m0: int) -> float:
    """One E2M1 code times an E8M0 scale, straight from the OCP MX spec (not via app.checkpoint.mxfp4)."""
    sign = -1.0 if code & 8 else 1.0
    return sign * E2M1[code & 7] * 2.0 ** (int(e8m0) - 127)


@pytest.mark.parametrize("block", [32, 64])
def test_int8_re_encoding_is_lossless(block: int) -> None:
    rng = np.random.default_rng(0)
    blocks, scales = _random_mxfp4(rng, 3, 8, 128, spread=4)
    src = experts.Mxfp4Experts(blocks, scales, order=(0, 1, 2))
    assert experts.lossless_int8_block((src,), block) == block
    collected: list[np.ndarray] = []
    weights = np.stack(list(experts.int8_weight_chunks(src, block, collected)))
    block_scales = np.stack(collected)
    assert block_scales.shape == (3, 8, 128 // block)
    values = (weights.astype(np.float32) - 128).reshape(3, 8, 128 // block, block) * block_scales[..., None]
    expected = np.vectorize(_independent_decode)(mxfp4.unpack_nibbles(blocks), scales[..., None])
    np.testing.assert_array_equal(values.reshape(3, 8, 128), expected.reshape(3, 8, 128))


def test_int8_block_64_falls_back_to_32_where_it_would_round() -> None:
    """One pair of 32-blocks whose exponents differ by 4 (12 x 2^4 = 192 > 127) anywhere in a layer's experts
    keeps the whole layer at block 32; floating-point experts always get 32."""
    rng = np.random.default_rng(5)
    blocks, scales = _random_mxfp4(rng, 2, 4, 128, spread=4)
    up = experts.Mxfp4Experts(blocks, scales, order=(0, 1))
    down_scales = scales.copy()
    down_scales[1, 3, 2], down_scales[1, 3, 3] = 118, 122
    down = experts.Mxfp4Experts(blocks, down_scales, order=(0, 1))
    assert experts.lossless_int8_block((up, up), 64) == 64
    assert experts.lossless_int8_block((up, down), 64) == 32
    floats = experts.FloatExperts(lambda index: np.zeros((128, 4), np.float32), 128, 4, order=(0, 1))
    assert experts.lossless_int8_block((floats, up), 64) == 32
    with pytest.raises(ValueError, match="more than 3"):
        list(experts.int8_weight_chunks(down, 64, []))


def test_fp4_packing_decodes_to_the_checkpoint_values_bit_exactly() -> None:
    rng = np.random.default_rng(1)
    e, n, k = 2, 6, 64
    blocks, scales = _random_mxfp4(rng, e, n, k)
    src = experts.Mxfp4Experts(blocks, scales, order=(0, 1))
    collected: list[np.ndarray] = []
    packed = np.stack(list(experts.fp4_weight_chunks(src, collected)))  # [E, K, N/2]
    assert packed.shape == (e, k, n // 2) and packed.dtype == np.uint8
    packed_scales = np.stack(collected)
    np.testing.assert_array_equal(packed_scales, scales)
    for x in range(e):
        for row in range(n):
            for col in range(k):
                byte = packed[x, col, row // 2]
                code = (byte >> 4) if row % 2 else (byte & 0x0F)
                # Checkpoint layout: blocks[x, row, col // 32, (col % 32) // 2], low nibble = even col.
                source_byte = blocks[x, row, col // 32, (col % 32) // 2]
                source_code = (source_byte >> 4) if col % 2 else (source_byte & 0x0F)
                assert code == source_code
                assert _independent_decode(code, packed_scales[x, row, col // 32]) == _independent_decode(
                    source_code, scales[x, row, col // 32])


@pytest.mark.parametrize("block", [16, 32, 64])
def test_int4_requantisation_error_is_bounded(block: int) -> None:
    rng = np.random.default_rng(2)
    blocks, scales = _random_mxfp4(rng, 1, 16, 128)
    values = mxfp4.decode(blocks, scales)[0]
    packed, block_scales = experts.quantize_int4(values, block)
    restored = experts.dequantize_int4(packed, block_scales, block)
    rel = np.sqrt(np.mean((restored - values) ** 2) / np.mean(values ** 2))
    assert rel < 0.15, f"relative RMS error {rel:.3f} at block {block}"


def _moe_reference(x: np.ndarray, logits: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray,
                   b2: np.ndarray, k: int, limit: float = 7.0, alpha: float = 1.702) -> np.ndarray:
    """transformers' GptOssExperts in NumPy: softmax over the top-k logits, clamped SwiGLU, weighted sum."""
    out = np.zeros_like(x)
    for t in range(x.shape[0]):
        top = np.argsort(-logits[t])[:k]
        weights = np.exp(logits[t, top] - logits[t, top].max())
        weights /= weights.sum()
        for expert, weight in zip(top, weights):
            gate_up = w1[expert] @ x[t] + b1[expert]
            gate, up = np.minimum(gate_up[0::2], limit), np.clip(gate_up[1::2], -limit, limit)
            act = gate / (1 + np.exp(-alpha * gate)) * (up + 1)
            out[t] += weight * (w2[expert] @ act + b2[expert])
    return out


def _qmoe_session(inputs: dict[str, np.ndarray], bits: int, block: int, k: int) -> ort.InferenceSession:
    names = ["x", "logits", "w1", "s1", "b1", "w2", "s2", "b2"]
    node = helper.make_node("QMoE", names, ["y"], domain="com.microsoft", k=k, activation_type="swiglu",
                            swiglu_fusion=1, activation_alpha=1.702, activation_beta=1.0, swiglu_limit=7.0,
                            normalize_routing_weights=1, expert_weight_bits=bits, block_size=block)
    inits = [helper.make_tensor(n, TensorProto.UINT8 if inputs[n].dtype == np.uint8 else TensorProto.FLOAT,
                                inputs[n].shape, inputs[n].tobytes(), raw=True) for n in names[2:]]
    graph = helper.make_graph(
        [node], "qmoe", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(inputs["x"].shape)),
                         helper.make_tensor_value_info("logits", TensorProto.FLOAT, list(inputs["logits"].shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(inputs["x"].shape))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 10
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(("bits", "block"), [(4, 32), (8, 32), (8, 64)])
def test_qmoe_reads_our_packing(bits: int, block: int) -> None:
    """QMoE on our packed experts equals the NumPy reference on the values we meant to store."""
    rng = np.random.default_rng(3)
    e, h, i, tokens, k = 4, 64, 64, 5, 2
    up_blocks, up_scales = _random_mxfp4(rng, e, 2 * i, h, spread=4)
    down_blocks, down_scales = _random_mxfp4(rng, e, h, i, spread=4)
    up = experts.Mxfp4Experts(up_blocks, up_scales, order=tuple(range(e)))
    down = experts.Mxfp4Experts(down_blocks, down_scales, order=tuple(range(e)))
    s1: list[np.ndarray] = []
    s2: list[np.ndarray] = []
    if bits == 8:
        w1 = np.stack(list(experts.int8_weight_chunks(up, block, s1)))
        w2 = np.stack(list(experts.int8_weight_chunks(down, block, s2)))
        v1, v2 = mxfp4.decode(up_blocks, up_scales), mxfp4.decode(down_blocks, down_scales)
        tolerance = 0.03  # int8 activations inside the kernel
    else:
        w1 = np.stack(list(experts.int4_weight_chunks(up, 32, s1)))
        w2 = np.stack(list(experts.int4_weight_chunks(down, 32, s2)))
        v1 = np.stack([experts.dequantize_int4(w1[x], s1[x], 32) for x in range(e)])
        v2 = np.stack([experts.dequantize_int4(w2[x], s2[x], 32) for x in range(e)])
        tolerance = 1e-4  # float32 activations: only summation order differs
    x = rng.standard_normal((tokens, h)).astype(np.float32)
    logits = rng.standard_normal((tokens, e)).astype(np.float32)
    b1 = (rng.standard_normal((e, 2 * i)) * 0.1).astype(np.float32)
    b2 = (rng.standard_normal((e, h)) * 0.1).astype(np.float32)
    feeds = {"x": x, "logits": logits, "w1": w1, "s1": np.stack(s1), "b1": b1, "w2": w2, "s2": np.stack(s2), "b2": b2}
    got = _qmoe_session(feeds, bits, block, k).run(None, {"x": x, "logits": logits})[0]
    expected = _moe_reference(x, logits, v1, b1, v2, b2, k)
    rel = np.max(np.abs(got - expected)) / np.max(np.abs(expected))
    print(f"QMoE {bits}-bit block {block}: max error relative to max output {rel:.2e}")
    assert rel < tolerance, f"relative error {rel:.2e}"


def test_fp4_layout_equals_onnxruntimes_own_cuda_packer() -> None:
    """ORT ships the packer its CUDA MoE GEMM expects (pack_fp4_weights_for_cuda_moe_gemm: [N, K/2] row-major
    -> [K, N/2] column-major); our per-expert layout must be byte-identical to its output."""
    from onnxruntime.capi import _pybind_state

    pack = getattr(_pybind_state, "pack_fp4_weights_for_cuda_moe_gemm", None)
    if pack is None:
        pytest.skip("this onnxruntime build has no pack_fp4_weights_for_cuda_moe_gemm")
    rng = np.random.default_rng(4)
    e, n, k = 2, 64, 96
    blocks, scales = _random_mxfp4(rng, e, n, k)
    ours = list(experts.fp4_weight_chunks(experts.Mxfp4Experts(blocks, scales, order=(0, 1)), []))
    for x in range(e):
        row_major = np.ascontiguousarray(blocks[x].reshape(n, k // 2))  # the checkpoint's bytes, as stored
        theirs = np.asarray(pack(row_major, n, k), dtype=np.uint8).reshape(k, n // 2)
        np.testing.assert_array_equal(ours[x], theirs)


@pytest.mark.parametrize("block", [16, 32])
def test_int4_table_path_equals_the_float_path(block: int) -> None:
    """The exporter's table-driven int4 quantiser (no decode) picks the same scales and values as quantising the
    decoded floats, except where two divisors tie exactly; the error is the same."""
    rng = np.random.default_rng(5)
    blocks = rng.integers(0, 256, size=(64, 6, 16), dtype=np.uint8)
    scales = rng.integers(100, 140, size=(64, 6), dtype=np.uint8)
    values = mxfp4.decode(blocks, scales)
    slow_packed, slow_scales = experts.quantize_int4(values, block)
    fast_packed, fast_scales = experts.quantize_int4_mxfp4(blocks, scales, block)
    assert fast_packed.shape == slow_packed.shape and fast_scales.shape == slow_scales.shape
    assert np.mean(fast_packed == slow_packed) > 0.99 and np.mean(fast_scales == slow_scales) > 0.99

    def sq_error(packed: np.ndarray, block_scales: np.ndarray) -> float:
        return float(np.sum((experts.dequantize_int4(packed, block_scales, block) - values) ** 2))

    assert sq_error(fast_packed, fast_scales) == pytest.approx(sq_error(slow_packed, slow_scales), rel=1e-5)
