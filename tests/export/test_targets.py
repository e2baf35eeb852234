"""What each target's package contains: operators, attributes, initializer dtypes and shapes.

The cuda package cannot run here (no GPU), so it is checked structurally, and its MXFP4 bytes are decoded by an
independent decoder and compared with the checkpoint's values.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto

from app.checkpoint.random_checkpoint import PRESETS
from app.checkpoint.weights import Checkpoint
from app.export.context import ExportOptions
from app.export.exporter import export_model
from app.package.reader import read_package
from tests.export.conftest import CONTEXT

CFG = PRESETS["tiny"]
E2M1 = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0])


def _model(package: Path) -> onnx.ModelProto:
    return onnx.load(str(package / "model.onnx"), load_external_data=False)


def _nodes(model: onnx.ModelProto, op_type: str) -> list[onnx.NodeProto]:
    return [n for n in model.graph.node if n.op_type == op_type]


def _attrs(node: onnx.NodeProto) -> dict[str, object]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _initializer(model: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(t for t in model.graph.initializer if t.name == name)


def _external_bytes(package: Path, tensor: onnx.TensorProto) -> bytes:
    info = {e.key: e.value for e in tensor.external_data}
    with open(package / info["location"], "rb") as handle:
        handle.seek(int(info["offset"]))
        return handle.read(int(info["length"]))


@pytest.mark.parametrize("fixture", ["cpu_package", "cpu_int4_package", "cuda_package"])
def test_package_passes_onnx_checker_and_reads_back(fixture: str, request: pytest.FixtureRequest) -> None:
    package = request.getfixturevalue(fixture)
    onnx.checker.check_model(str(package / "model.onnx"), full_check=True)
    opened = read_package(package, verify=True)
    assert opened.config == CFG
    assert opened.context_length == CONTEXT
    assert opened.io["logits"] == "last-position"
    assert opened.io["kv_layout"] == "shared-buffer" and opened.io["takes_position_ids"] is False


def test_graph_io_names_follow_onnxruntime_genai(cpu_package: Path) -> None:
    model = _model(cpu_package)
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    assert inputs[:2] == ["input_ids", "attention_mask"]
    for i in range(CFG.num_hidden_layers):
        assert f"past_key_values.{i}.key" in inputs and f"present.{i}.value" in outputs
    logits = next(o for o in model.graph.output if o.name == "logits")
    dims = [d.dim_value or d.dim_param for d in logits.type.tensor_type.shape.dim]
    assert dims == ["batch_size", 1, CFG.vocab_size]
    assert logits.type.tensor_type.elem_type == TensorProto.FLOAT
    heads = [n for n in _nodes(model, "MatMulNBits") if _attrs(n)["N"] == CFG.vocab_size] + _nodes(model, "Gemm")
    assert len(heads) == 1 and heads[0].input[0].startswith("lm_head/flatten"), \
        "the lm_head runs once, on the last position"


def test_gqa_attributes(cpu_package: Path) -> None:
    model = _model(cpu_package)
    gqa = _nodes(model, "GroupQueryAttention")
    assert len(gqa) == CFG.num_hidden_layers
    for layer, node in enumerate(gqa):
        attrs = _attrs(node)
        assert attrs["num_heads"] == CFG.num_attention_heads and attrs["kv_num_heads"] == CFG.num_key_value_heads
        assert attrs["do_rotary"] == 1 and attrs["rotary_interleaved"] == 0
        assert attrs["local_window_size"] == (CFG.sliding_window if CFG.is_sliding(layer) else -1)
        assert node.input[11] == f"layers.{layer}.attn.sinks"  # head_sink


def test_cpu_qmoe_is_int8_block64_swiglu(cpu_package: Path) -> None:
    """The tiny checkpoint's MXFP4 exponents are within 3 of each other in every pair of 32-blocks, so the cpu
    target's lossless int8 takes its 64 block (Target.expert_block_size) in every layer."""
    model = _model(cpu_package)
    for node in _nodes(model, "QMoE"):
        attrs = _attrs(node)
        assert attrs == {"k": 4, "activation_type": b"swiglu", "swiglu_fusion": 1,
                         "activation_alpha": pytest.approx(1.702), "activation_beta": 1.0, "swiglu_limit": 7.0,
                         "normalize_routing_weights": 1, "expert_weight_bits": 8, "block_size": 64}
        weight = _initializer(model, node.input[2])
        assert weight.data_type == TensorProto.UINT8
        assert list(weight.dims) == [CFG.num_local_experts, 2 * CFG.intermediate_size, CFG.hidden_size]
        assert list(_initializer(model, node.input[3]).dims) == [CFG.num_local_experts, 2 * CFG.intermediate_size,
                                                                 CFG.hidden_size // 64]


@pytest.mark.parametrize(("package", "int8_projections", "embedding_bits"),
                         [("cpu_package", False, 0), ("cpu_int4_package", True, 8)])
def test_cpu_targets_dense_weights(package: str, int8_projections: bool, embedding_bits: int,
                                   request: pytest.FixtureRequest) -> None:
    """cpu-int4: an int8 block-64 MatMulNBits lm_head and int8 block-64 attention projections, an int8 block-64
    embedding with float16 scales, cast to float32 after the gather; cpu keeps both float32 (a Gemm lm_head)
    and the checkpoint's bf16 embedding (Target.lm_head_bits, projection_bits, embedding_bits,
    dense_block_size in app.package.targets); the router stays a float32 MatMul everywhere."""
    model = _model(request.getfixturevalue(package))
    block = 64 if int8_projections else 32
    q_out = (CFG.num_attention_heads + 2 * CFG.num_key_value_heads) * CFG.head_dim
    projections = [(CFG.hidden_size, q_out), (CFG.num_attention_heads * CFG.head_dim, CFG.hidden_size)]
    shapes = sorted((_attrs(n)["K"], _attrs(n)["N"]) for n in _nodes(model, "MatMulNBits"))
    expected = sorted((projections * CFG.num_hidden_layers + [(CFG.hidden_size, CFG.vocab_size)]) * int8_projections)
    assert shapes == expected
    for node in _nodes(model, "MatMulNBits"):
        attrs = _attrs(node)
        assert (attrs["bits"], attrs["block_size"], attrs["accuracy_level"]) == (8, block, 4)
        assert list(_initializer(model, node.input[1]).dims) == [attrs["N"], attrs["K"] // block, block]
        assert _initializer(model, node.input[2]).data_type == TensorProto.FLOAT
    assert len(_nodes(model, "Gemm")) == (not int8_projections)
    routers = [n for n in _nodes(model, "MatMul") if "router" in n.name]
    assert len(routers) == CFG.num_hidden_layers
    assert len(_nodes(model, "MatMul")) == CFG.num_hidden_layers * (1 if int8_projections else 3)
    if not embedding_bits:
        assert not _nodes(model, "GatherBlockQuantized")
        gather = next(n for n in _nodes(model, "Gather") if n.input[0] == "embed_tokens.weight")
        assert _initializer(model, gather.input[0]).data_type == TensorProto.BFLOAT16
        return
    (embedding,) = _nodes(model, "GatherBlockQuantized")
    assert (_attrs(embedding)["bits"], _attrs(embedding)["block_size"]) == (embedding_bits, block)
    assert list(_initializer(model, embedding.input[0]).dims) == [CFG.vocab_size,
                                                                  CFG.hidden_size * embedding_bits // 8]
    scales = _initializer(model, embedding.input[2])
    assert scales.data_type == TensorProto.FLOAT16 and list(scales.dims) == [CFG.vocab_size, CFG.hidden_size // block]
    cast = next(n for n in model.graph.node if embedding.output[0] in n.input)
    assert cast.op_type == "Cast" and _attrs(cast)["to"] == TensorProto.FLOAT


def test_cuda_package_structure(cuda_package: Path) -> None:
    model = _model(cuda_package)
    assert model.graph.input[2].type.tensor_type.elem_type == TensorProto.FLOAT16  # fp16 KV cache
    qmoe = _nodes(model, "QMoE")
    assert len(qmoe) == CFG.num_hidden_layers
    e, h, i = CFG.num_local_experts, CFG.hidden_size, CFG.intermediate_size
    for node in qmoe:
        attrs = _attrs(node)
        assert attrs["quant_type"] == b"fp4" and attrs["expert_weight_bits"] == 4 and attrs["block_size"] == 32
        fc1, fc1_scales = _initializer(model, node.input[2]), _initializer(model, node.input[3])
        fc2, fc2_scales = _initializer(model, node.input[5]), _initializer(model, node.input[6])
        assert fc1.data_type == TensorProto.UINT8 and list(fc1.dims) == [e, h, i]  # [E, K, N/2], N = 2I
        assert list(fc2.dims) == [e, i, h // 2]
        assert fc1_scales.data_type == TensorProto.FLOAT8E8M0 and list(fc1_scales.dims) == [e, 2 * i, h // 32]
        assert list(fc2_scales.dims) == [e, h, i // 32]
        assert _initializer(model, node.input[4]).data_type == TensorProto.FLOAT16  # bias
        for global_scale in node.input[15:17]:
            assert list(_initializer(model, global_scale).dims) == [e]
    for node in _nodes(model, "GroupQueryAttention"):
        assert _initializer(model, node.input[11]).data_type == TensorProto.FLOAT16
        assert _initializer(model, node.input[7]).data_type == TensorProto.FLOAT16  # cos cache


def _decode_fp4_package(packed: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Independent decoder for the cuda layout: packed [E, K, N/2] (low nibble = even output row), E8M0 scales
    [E, N, K/32] -> float64 [E, N, K]."""
    codes = np.empty(packed.shape[:2] + (packed.shape[2] * 2,), dtype=np.uint8)
    codes[..., 0::2] = packed & 0x0F
    codes[..., 1::2] = packed >> 4
    values = E2M1[codes].transpose(0, 2, 1)  # [E, N, K]
    scale = 2.0 ** (scales.astype(np.float64) - 127)
    return values * np.repeat(scale, 32, axis=2)


def test_cuda_fp4_bytes_decode_to_the_checkpoint_values(cuda_package: Path, tiny_checkpoint: Path) -> None:
    model = _model(cuda_package)
    checkpoint = Checkpoint.open(tiny_checkpoint)
    e, h, i = CFG.num_local_experts, CFG.hidden_size, CFG.intermediate_size
    for layer, node in enumerate(_nodes(model, "QMoE")):
        for proj, (w_in, s_in), (n, k) in (("gate_up", (2, 3), (2 * i, h)), ("down", (5, 6), (h, i))):
            packed = np.frombuffer(_external_bytes(cuda_package, _initializer(model, node.input[w_in])),
                                   np.uint8).reshape(e, k, n // 2)
            scale_tensor = _initializer(model, node.input[s_in])
            raw = scale_tensor.raw_data or _external_bytes(cuda_package, scale_tensor)
            scales = np.frombuffer(raw, np.uint8).reshape(e, n, k // 32)
            expected = checkpoint.experts_f32(layer, proj)
            np.testing.assert_array_equal(_decode_fp4_package(packed, scales), expected.astype(np.float64))


def test_genai_config_describes_the_graph(cpu_package: Path) -> None:
    config = json.loads((cpu_package / "genai_config.json").read_text())
    decoder = config["model"]["decoder"]
    assert config["model"]["type"] == "gptoss"
    assert decoder["num_hidden_layers"] == CFG.num_hidden_layers and decoder["head_size"] == CFG.head_dim
    assert decoder["inputs"]["past_key_names"] == "past_key_values.%d.key"
    assert config["search"]["past_present_share_buffer"] is True
    assert config["model"]["context_length"] == CONTEXT


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_records_sources_and_checksums(cpu_package: Path, tiny_checkpoint: Path) -> None:
    """Every field the issue names: source, per-file SHA-256 of inputs and outputs (checked against hashlib on
    the files themselves), target, dtypes, context length and exporter version (the installed distribution's)."""
    raw = json.loads((cpu_package / "manifest.json").read_text())
    manifest = read_package(cpu_package).manifest
    assert manifest.target == raw["target"] == "cpu"
    assert manifest.exporter_version == importlib.metadata.version("enclave")
    assert manifest.context_length == raw["context_length"] == CONTEXT
    assert manifest.dtypes["experts"].startswith("int8") and manifest.dtypes["attention"] == "float32"
    assert (manifest.source.name, manifest.source.revision) == (tiny_checkpoint.name, None)
    shards = {p.name for p in tiny_checkpoint.glob("*.safetensors")}
    assert {f.path for f in manifest.inputs} >= {"config.json", "tokenizer.json", "model.safetensors.index.json",
                                                  "generation_config.json"} | shards
    for entry in manifest.inputs:
        assert entry.sha256 == _sha256(tiny_checkpoint / entry.path), entry.path
        assert entry.size == (tiny_checkpoint / entry.path).stat().st_size
    assert {f.path for f in manifest.files} == {p.name for p in cpu_package.iterdir()} - {"manifest.json"}
    for entry in manifest.files:
        assert entry.sha256 == _sha256(cpu_package / entry.path), entry.path


def test_no_machine_path_is_in_the_package(cpu_package: Path, tiny_checkpoint: Path) -> None:
    """Packages are copied between machines by IT: no file of one may name a folder of the exporting machine
    (the checkpoint's path holds the user's home folder name). Where the checkpoint is stays on this computer,
    in the record outside the package, for `enclave verify`."""
    from app.package.local_record import recall_sources

    folders = {str(tiny_checkpoint.resolve()), str(tiny_checkpoint), str(tiny_checkpoint.resolve().parent)}
    for path in cpu_package.iterdir():
        content = path.read_bytes()
        for folder in folders:
            assert folder.encode() not in content, f"{path.name} holds {folder}"
        if path.name != "tokenizer.json":  # the vocabulary holds "/root" and the like as tokens
            assert f'"{Path.home()}'.encode() not in content, f"{path.name} holds the home folder"
    raw = json.loads((cpu_package / "manifest.json").read_text())
    assert raw["format_version"] == 2 and set(raw["source"]) == {"name", "revision"}
    records = recall_sources(read_package(cpu_package).manifest)
    assert any(r.folder == tiny_checkpoint.resolve() and r.unchanged(read_package(cpu_package).manifest)
               for r in records)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_hub_snapshot_gives_name_and_revision(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """A folder in the Hugging Face cache layout (models--org--name/snapshots/<commit>/, files as symlinks into
    blobs) records the repository and commit as the source."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = tmp_path / "hub" / "models--openai--gpt-oss-tiny" / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for item in tiny_checkpoint.iterdir():
        (snapshot / item.name).symlink_to(item)
    export_model(snapshot, tmp_path / "pkg", "cpu", options=ExportOptions(context_length=64))
    source = read_package(tmp_path / "pkg").manifest.source
    assert (source.name, source.revision) == ("openai/gpt-oss-tiny", commit)


def _consumed(graph: onnx.GraphProto) -> set[str]:
    names = set()
    for node in graph.node:
        names.update(node.input)
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                names |= _consumed(attr.g)
    return names


@pytest.mark.parametrize("target", ["cpu", "cpu-int4", "cuda", "dml"])
def test_every_initializer_is_used(target: str, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """No dead weight in the data file (ORT would drop it at load, after the disk and the copy paid for it):
    e.g. the dml graph computes its rotary from position_ids, so it must not carry the cos/sin caches."""
    package = export_model(tiny_checkpoint, tmp_path / target, target,
                           options=ExportOptions(context_length=64)).folder
    model = _model(package)
    unused = {t.name for t in model.graph.initializer} - _consumed(model.graph)
    assert not unused


@pytest.mark.parametrize("package", ["cpu_package", "cpu_int4_package"])
def test_cpu_expert_scales_are_float16(package: str, request: pytest.FixtureRequest) -> None:
    model = _model(request.getfixturevalue(package))
    for node in _nodes(model, "QMoE"):
        for index in (3, 6):  # fc1_scales, fc2_scales
            assert _initializer(model, node.input[index]).data_type == TensorProto.FLOAT16, node.name


def test_expert_scales_stay_float32_where_float16_would_move_them() -> None:
    import numpy as np

    from app.export.layers import expert_scale_dtype

    powers = np.ldexp(np.float32(1), np.arange(-24, 15)).astype(np.float32)  # MXFP4 scales as cpu stores them
    assert expert_scale_dtype(powers) == np.float16
    assert expert_scale_dtype(np.float32([6 / 7 * 2.0 ** -7, 0.0])) == np.float16  # rounded by < 2^-11
    assert expert_scale_dtype(powers, np.float32([2.0 ** 16])) == np.float32  # overflow in either tensor
    assert expert_scale_dtype(np.float32([2.0 ** -20 + 2.0 ** -25])) == np.float32  # subnormal: loses bits
    assert expert_scale_dtype(np.float32([2.0 ** -25])) == np.float32  # underflows to zero


def test_int4_embedding_rows_are_what_onnxruntime_gathers(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """`--embedding int4` (not a default: it doubled cpu-int4's error at 20b widths): the packed table ORT's
    GatherBlockQuantized (bits=4, two per byte, default zero point 8) reads back is the exporter's int4
    quantisation of the checkpoint's rows, and the package still runs."""
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    from app.checkpoint.names import EMBED
    from app.checkpoint.safetensors_io import raw_to_f32
    from app.export.experts import dequantize_int4, quantize_int4
    from app.reference.package_experts import _array
    from tests.support.ort_runner import PackageRunner

    package = export_model(tiny_checkpoint, tmp_path / "int4-embedding", "cpu-int4",
                           options=ExportOptions(context_length=64, embedding_bits=4)).folder
    model = _model(package)
    (node,) = _nodes(model, "GatherBlockQuantized")
    assert (_attrs(node)["bits"], _attrs(node)["block_size"]) == (4, 64)
    table = np.asarray(_array(package, _initializer(model, node.input[0])))
    scales = np.asarray(_array(package, _initializer(model, node.input[2])))
    assert table.shape == (CFG.vocab_size, CFG.hidden_size // 2) and scales.dtype == np.float16
    single = helper.make_graph(
        [helper.make_node("GatherBlockQuantized", ["table", "ids", "scales"], ["rows"], domain="com.microsoft",
                          bits=4, block_size=64, quantize_axis=1, gather_axis=0)], "gather",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [None])],
        [helper.make_tensor_value_info("rows", TensorProto.FLOAT16, None)],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(scales, "scales")])
    session = ort.InferenceSession(helper.make_model(single, opset_imports=[
        helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)]).SerializeToString(),
        providers=["CPUExecutionProvider"])
    tokens = np.array([0, 7, 199_999, CFG.vocab_size - 1])
    gathered = session.run(None, {"ids": tokens})[0].astype(np.float32)
    checkpoint = Checkpoint.open(tiny_checkpoint)
    rows = raw_to_f32(np.asarray(checkpoint.tensor_raw(EMBED))[tokens], checkpoint.tensor_dtype(EMBED))
    packed, row_scales = quantize_int4(rows, 64)
    expected = dequantize_int4(packed, row_scales.astype(np.float16).astype(np.float32), 64)
    np.testing.assert_allclose(gathered, expected, rtol=2 ** -10, atol=1e-6)  # float16 output rounding only
    assert 0.05 < float(np.sqrt(np.mean((expected - rows) ** 2) / np.mean(rows ** 2))) < 0.15
    logits = PackageRunner(package, max_length=16).step([1, 2, 3])
    assert np.all(np.isfinite(logits))
