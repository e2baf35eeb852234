"""The DirectML kernel list (resources/directml_operators.json) and the checker that walks dml graphs."""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from app.export.dml_operators import check_model, load_kernel_list


def _model(nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto], opset: int = 21) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, [])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                   helper.make_opsetid("com.microsoft", 1)])


def test_kernel_list_cites_its_source_and_holds_known_entries() -> None:
    kernels = load_kernel_list()
    assert "OperatorKernels.md" in kernels.source["document"] and len(kernels.source["commit"]) == 40
    for present in [("", "MatMul"), ("", "TopK"), ("", "ScatterND"), ("", "NonZero"), ("", "If"),
                    ("com.microsoft", "MatMulNBits"), ("com.microsoft", "SkipSimplifiedLayerNormalization")]:
        assert kernels.kernels(*present), present
    for absent in [("com.microsoft", "QMoE"), ("com.microsoft", "MoE"), ("", "Loop"), ("", "RMSNormalization"),
                   ("com.microsoft", "GatherBlockQuantized")]:
        assert not kernels.kernels(*absent), absent


def test_checker_accepts_supported_nodes() -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    idx = helper.make_tensor_value_info("i", TensorProto.INT64, [2])
    nodes = [helper.make_node("Softmax", ["x"], ["s"], axis=-1, name="softmax"),
             helper.make_node("Gather", ["s", "i"], ["g"], axis=0, name="gather")]
    assert check_model(_model(nodes, [x, idx])) == []


def test_checker_names_each_kind_of_problem() -> None:
    a64 = helper.make_tensor_value_info("a", TensorProto.INT64, [3])
    u8 = helper.make_tensor_value_info("u", TensorProto.UINT8, [3])
    q = helper.make_tensor_value_info("q", TensorProto.FLOAT, [1, 1, 8])
    sink = helper.make_tensor_value_info("sink", TensorProto.FLOAT, [1])
    nodes = [
        helper.make_node("QMoE", ["q"], ["moe"], domain="com.microsoft", name="experts"),
        helper.make_node("Mod", ["a", "a"], ["m"], name="mod64"),  # DML's Mod has no 64-bit kernel
        helper.make_node("GroupQueryAttention", ["q", "q", "q", "", "", "", "", "", "", "", "", "sink"], ["o"],
                         domain="com.microsoft", name="gqa", num_heads=1, kv_num_heads=1, local_window_size=128),
        helper.make_node("BitwiseAnd", ["u", "u"], ["b"], name="bitand"),  # only from opset 18
    ]
    problems = check_model(_model(nodes, [a64, u8, q, sink], opset=17))
    text = "\n".join(problems)
    assert "node experts (com.microsoft::QMoE): DirectML has no kernel" in text
    assert "node mod64 (ai.onnx::Mod): a is int64" in text
    assert "ignores head_sink" in text and "ignores local_window_size=128" in text
    assert "node bitand (ai.onnx::BitwiseAnd): opset version" in text


def test_checker_looks_inside_if_branches() -> None:
    cond = helper.make_tensor_value_info("c", TensorProto.BOOL, [1])
    a = helper.make_tensor_value_info("a", TensorProto.INT64, [3])
    branch = helper.make_graph([helper.make_node("Mod", ["a", "a"], ["m"], name="inner_mod")], "b", [],
                               [helper.make_tensor_value_info("m", TensorProto.INT64, [3])])
    node = helper.make_node("If", ["c"], ["out"], then_branch=branch, else_branch=branch, name="if")
    problems = check_model(_model([node], [cond, a]))
    assert any("inner_mod" in p for p in problems)


def test_type_names_match_onnx() -> None:
    """The list's type names are TensorProto names in lower case, so the checker can compare them."""
    known = {TensorProto.DataType.Name(t).lower() for t in TensorProto.DataType.values()}
    for kernels in load_kernel_list().operators.values():
        for kernel in kernels:
            for allowed in kernel.type_constraints.values():
                assert allowed <= known, allowed - known
