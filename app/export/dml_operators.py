"""Which operators ORT's DirectML execution provider implements, and a checker for exported graphs.

The list is data (resources/directml_operators.json), transcribed from ORT's docs/OperatorKernels.md section
"Operators implemented by DmlExecutionProvider" plus notes from the DML kernel sources; the file names its
source. A node the provider lacks would silently fall back to the CPU (a GPU<->CPU copy per token) or fail to
load, so the exporter and the tests check every node of a `dml` graph, If branches included: the operator and
opset version must have a DML kernel, and every input/output element type must be one that kernel accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import onnx
from onnx import TensorProto

ONNX_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class Kernel:
    """One registration group: opset versions it covers from, and allowed types per type-constraint letter."""

    since_versions: tuple[int, ...]
    type_constraints: dict[str, frozenset[str]]


@dataclass(frozen=True)
class KernelList:
    operators: dict[tuple[str, str], tuple[Kernel, ...]]  # (domain, op_type) -> kernels
    source: dict[str, Any]

    def kernels(self, domain: str, op_type: str) -> tuple[Kernel, ...]:
        return self.operators.get((_domain(domain), op_type), ())


def _domain(domain: str) -> str:
    return "" if domain in ONNX_DOMAINS else domain


@lru_cache(maxsize=1)
def load_kernel_list() -> KernelList:
    """The packaged DirectML operator list (read once)."""
    text = resources.files("resources").joinpath("directml_operators.json").read_text(encoding="utf-8")
    data = json.loads(text)
    ops: dict[tuple[str, str], tuple[Kernel, ...]] = {}
    for entry in data["operators"]:
        kernels = tuple(
            Kernel(tuple(k["since_versions"]), {c: frozenset(t) for c, t in k["type_constraints"].items()})
            for k in entry["kernels"]
        )
        ops[(_domain(entry["domain"]), entry["op_type"])] = kernels
    return KernelList(ops, data["source"])


def _type_name(elem_type: int) -> str:
    return TensorProto.DataType.Name(elem_type).lower()


def _value_types(graph: onnx.GraphProto, into: dict[str, int]) -> None:
    """Element types of every named value of a graph and its subgraphs (after shape inference)."""
    for vi in list(graph.input) + list(graph.output) + list(graph.value_info):
        if vi.type.HasField("tensor_type"):
            into[vi.name] = vi.type.tensor_type.elem_type
    for init in graph.initializer:
        into[init.name] = init.data_type
    for node in graph.node:
        for attr in node.attribute:
            for sub in ([attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)):
                _value_types(sub, into)


def all_nodes(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    """All nodes, recursing into If/Loop/Scan bodies."""
    found: list[onnx.NodeProto] = []
    for node in graph.node:
        found.append(node)
        for attr in node.attribute:
            for sub in ([attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)):
                found.extend(all_nodes(sub))
    return found


def _pick_kernel(kernels: tuple[Kernel, ...], version: int) -> Kernel | None:
    """The registration covering `version` (DML kernels are open-ended: "13+" covers 13 and later)."""
    best: tuple[int, Kernel] | None = None
    for kernel in kernels:
        for since in kernel.since_versions:
            if since <= version and (best is None or since > best[0]):
                best = (since, kernel)
    return best[1] if best else None


def _formal_types(schema: onnx.defs.OpSchema, actual: list[str], outputs: bool) -> list[tuple[str, str]]:
    """(value name, type-constraint letter) pairs for a node's inputs or outputs, variadics expanded."""
    formals = schema.outputs if outputs else schema.inputs
    pairs = []
    for i, name in enumerate(actual):
        if not name or not formals:
            continue
        formal = formals[min(i, len(formals) - 1)]
        if i >= len(formals) and formal.option != onnx.defs.OpSchema.FormalParameterOption.Variadic:
            continue
        pairs.append((name, formal.type_str))
    return pairs


def _schema(op_type: str, version: int, domain: str) -> onnx.defs.OpSchema | None:
    """The ONNX schema in force at `version`; None for contrib ops and ORT's own onnx-domain ops
    (SimplifiedLayerNormalization), whose kernels the list gives as "1+"."""
    if domain != "":
        return None
    try:
        return onnx.defs.get_schema(op_type, version, domain)
    except onnx.defs.SchemaError:
        return None


# Index of GroupQueryAttention's head_sink input in the com.microsoft schema.
_GQA_HEAD_SINK_INPUT = 11


def _known_gaps(node: onnx.NodeProto, label: str) -> list[str]:
    """Kernels that exist but ignore what the node asks of them (from the DML kernel sources)."""
    if node.op_type != "GroupQueryAttention" or _domain(node.domain) != "com.microsoft":
        return []
    found = []
    if len(node.input) > _GQA_HEAD_SINK_INPUT and node.input[_GQA_HEAD_SINK_INPUT]:
        found.append(f"{label}: DirectML's GroupQueryAttention ignores head_sink, so the sinks would be lost")
    window = next((a.i for a in node.attribute if a.name == "local_window_size"), -1)
    if window != -1:
        found.append(f"{label}: DirectML's GroupQueryAttention ignores local_window_size={window}")
    return found


# ORT's own normalisation ops have no ONNX schema, so shape inference stops at them; their outputs have the
# element type of their first input (the mean/inv-std side outputs are unused in our graphs).
_SAME_TYPE_AS_INPUT = {"SkipSimplifiedLayerNormalization", "SkipLayerNormalization", "SimplifiedLayerNormalization"}


def typed_graph(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, int]]:
    """The model after ONNX shape inference, and the element type of every value it could type.

    Types are carried across ORT's normalisation ops (see _SAME_TYPE_AS_INPUT) by declaring their outputs and
    inferring again, so the type check also covers everything downstream of them.
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    for _ in range(3):
        inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False)
        types: dict[str, int] = {}
        _value_types(inferred.graph, types)
        added = False
        for node in model.graph.node:
            if node.op_type in _SAME_TYPE_AS_INPUT and node.input and node.input[0] in types:
                for out in node.output:
                    if out and out not in types:
                        declared = onnx.helper.make_tensor_value_info(out, types[node.input[0]], None)
                        model.graph.value_info.append(declared)
                        added = True
        if not added:
            return inferred, types
    return inferred, types


def check_model(model: onnx.ModelProto) -> list[str]:
    """Problems that would keep `model` off DirectML, one sentence each naming the node; empty when clean."""
    kernel_list = load_kernel_list()
    opsets = {_domain(o.domain): o.version for o in model.opset_import}
    inferred, types = typed_graph(model)
    problems: list[str] = []
    for node in all_nodes(inferred.graph):
        domain = _domain(node.domain)
        label = f"node {node.name or '(unnamed)'} ({domain or 'ai.onnx'}::{node.op_type})"
        kernels = kernel_list.kernels(domain, node.op_type)
        if not kernels:
            problems.append(f"{label}: DirectML has no kernel for this operator")
            continue
        version = opsets.get(domain, 1)
        schema = _schema(node.op_type, version, domain)
        if schema is not None:
            version = schema.since_version
        kernel = _pick_kernel(kernels, version)
        if kernel is None:
            listed = sorted({v for k in kernels for v in k.since_versions})
            problems.append(f"{label}: opset version {version} has no DirectML kernel (registered from {listed})")
            continue
        problems.extend(_known_gaps(node, label))
        if schema is None:
            continue  # contrib schemas are not in onnx.defs; the version check above is what we can do
        for outputs, names in ((False, list(node.input)), (True, list(node.output))):
            for value, letter in _formal_types(schema, names, outputs):
                allowed = kernel.type_constraints.get(letter)
                elem = types.get(value)
                if allowed and elem is not None and _type_name(elem) not in allowed:
                    problems.append(f"{label}: {value} is {_type_name(elem)}, but DirectML's kernel takes "
                                    f"{letter} in {sorted(allowed)}")
    return problems
