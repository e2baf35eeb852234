"""ORT's prepacked weights for a saved graph, made one part at a time so that making them fits in little memory.

Why: a session that prepacks a whole 24-layer 20b cpu-int4 package holds ~14 GB of private copies, which a 16 GB
laptop cannot afford even once. ORT keys each saved blob by its kernel and the hash of its bytes, and at load it
re-packs every weight from the originals and looks that hash up, so a blob made by the same kernel from the same
tensor with the same node attributes is the same blob wherever it was made. Here each part (consecutive
prepacking nodes holding up to PART_BYTES of weights) becomes a graph of its own over the saved graph's data
file; a session on it (graph optimisations off: the nodes are already optimised) saves its blobs, which are
appended to the data file and named in the whole graph's tensors (`prepacked_N`, as ORT writes them). Peak
memory is one part's prepacked weights. On the 2-layer 20b-width cpu-int4 package: 1,327 MB peak against
2,432 MB for one whole prepacked load; the copy loaded its blobs mapped (20 MB private for the session) and
gave bit-identical logits to the package and to a copy saved in one piece (/tmp/mapped/parts.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

# ORT 1.32's CPU kernels that prepack a constant weight input (measured per operator: docs/benchmarks.md, "Where
# the memory goes"); GatherBlockQuantized and the rest read their initializers in place.
PREPACKING_OPS = frozenset({"MatMulNBits", "QMoE", "MatMul", "Gemm"})
PART_BYTES = 512 * 2**20  # weights per part; one node bigger than this (the 20b lm_head: 0.58 GB) is a part alone
BLOB_ALIGNMENT = 4096  # blobs start on a page, so each maps on its own pages

_ELEMENT_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float16): TensorProto.FLOAT16}


def _length(tensor: onnx.TensorProto) -> int:
    info = {e.key: e.value for e in tensor.external_data}
    return int(info.get("length", 0)) if info else len(tensor.raw_data)


def weight_bytes(graph: onnx.GraphProto, node: onnx.NodeProto,
                 initializers: dict[str, onnx.TensorProto] | None = None) -> int:
    """Bytes of `node`'s constant inputs in `graph`."""
    initializers = initializers if initializers is not None else {t.name: t for t in graph.initializer}
    return sum(_length(initializers[i]) for i in set(node.input) if i in initializers)


def parts_of(graph: onnx.GraphProto, part_bytes: int | None = None) -> list[list[onnx.NodeProto]]:
    """The graph's prepacking nodes with a constant input, in graph order, grouped up to `part_bytes` (default
    PART_BYTES) of weights."""
    part_bytes = PART_BYTES if part_bytes is None else part_bytes
    initializers = {t.name: t for t in graph.initializer}
    parts: list[list[onnx.NodeProto]] = []
    size = part_bytes
    for node in graph.node:
        if node.op_type not in PREPACKING_OPS or not any(i in initializers for i in node.input):
            continue
        weight = weight_bytes(graph, node, initializers)
        if size + weight > part_bytes:
            parts.append([])
            size = 0
        parts[-1].append(node)
        size += weight
    return parts


def _part_model(model: onnx.ModelProto, nodes: list[onnx.NodeProto], activations: np.dtype) -> onnx.ModelProto:
    """`nodes` as a model of their own: their initializers (still pointing into the saved data file) and their
    other inputs and outputs as graph inputs and outputs of the activation type (never run, only prepacked)."""
    initializers = {t.name: t for t in model.graph.initializer}
    element = _ELEMENT_TYPES[np.dtype(activations)]
    inputs, weights, outputs, seen = [], [], [], set()
    for node in nodes:
        for name in node.input:
            if not name or name in seen:
                continue
            seen.add(name)
            if name in initializers:
                weights.append(initializers[name])
            else:
                inputs.append(helper.make_tensor_value_info(name, element, None))
        outputs += [helper.make_tensor_value_info(name, element, None) for name in node.output if name]
    graph = helper.make_graph(list(nodes), "prepack_part", inputs, outputs, initializer=weights)
    return helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)


class PartsCancelled(Exception):
    """The caller's cancel event was set between two parts; the caller removes what was written."""


def prepack_in_parts(model_file: Path, activations: np.dtype, options: Callable[[], object],
                     progress: Callable[[int, int], None] = lambda _done, _all: None,
                     cancel: threading.Event | None = None) -> int:
    """Adds ORT's prepacked blobs to the saved graph `model_file` (and its one data file beside it), one part at a
    time; `options()` gives fresh SessionOptions (the engine's). Returns how many tensors got blobs. `cancel` is
    looked at before each part (a part's session cannot be interrupted): set, PartsCancelled is raised and
    `model_file` is left half-written for the caller to delete."""
    import onnxruntime as ort

    folder = model_file.parent
    model = onnx.load(str(model_file), load_external_data=False)
    data_files = {e.value for t in model.graph.initializer for e in t.external_data if e.key == "location"}
    if len(data_files) != 1:
        raise ValueError(f"{model_file} keeps its weights in {len(data_files)} files, not one")
    data_file = folder / data_files.pop()
    entries: dict[str, list[str]] = {}
    parts = parts_of(model.graph)
    part_file, saved_file = folder / "part.onnx", folder / "part.saved.onnx"
    saved_data = folder / "part.saved.onnx.data"
    for index, nodes in enumerate(parts):
        if cancel is not None and cancel.is_set():
            raise PartsCancelled(f"cancelled before part {index + 1} of {len(parts)}")
        progress(index, len(parts))
        onnx.save(_part_model(model, nodes, activations), str(part_file))
        so = options()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        so.optimized_model_filepath = str(saved_file)
        so.add_session_config_entry("session.optimized_model_external_initializers_file_name", saved_data.name)
        so.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "0")
        so.add_session_config_entry("session.save_external_prepacked_constant_initializers", "1")
        ort.InferenceSession(str(part_file), sess_options=so, providers=["CPUExecutionProvider"])
        _append_blobs(saved_file, saved_data, data_file, entries)
        for path in (part_file, saved_file, saved_data):
            path.unlink()
    progress(len(parts), len(parts))
    for tensor in model.graph.initializer:
        for index, entry in enumerate(entries.get(tensor.name, ())):
            field = tensor.external_data.add()
            field.key, field.value = f"prepacked_{index}", entry
    onnx.save(model, str(model_file))
    return len(entries)


def _append_blobs(saved_file: Path, saved_data: Path, data_file: Path, entries: dict[str, list[str]]) -> None:
    """Copies the blobs a part's session saved to the end of `data_file` (page-aligned), recording each tensor's
    entry with the new offsets; a blob key a tensor already has is not added twice (ORT refuses duplicates)."""
    saved = onnx.load(str(saved_file), load_external_data=False)
    source = np.memmap(saved_data, dtype=np.uint8, mode="r") if saved_data.stat().st_size else None
    with open(data_file, "ab") as out:
        for tensor in saved.graph.initializer:
            for key, value in ((e.key, e.value) for e in tensor.external_data):
                if not key.startswith("prepacked_"):
                    continue
                kernel, *blobs = value.split("|")
                if any(e.split("|")[0] == kernel for e in entries.get(tensor.name, ())):
                    continue
                placed = [kernel]
                for blob in blobs:
                    offset, length, alignment = (int(x) for x in blob.split(";"))
                    out.write(b"\0" * (-out.tell() % BLOB_ALIGNMENT))
                    position = out.tell()
                    if source is None or offset + length > len(source):
                        raise ValueError(f"{saved_file} names a prepacked blob past the end of {saved_data.name}")
                    out.write(memoryview(source[offset:offset + length]))
                    placed.append(f"{position};{length};{alignment}")
                entries.setdefault(tensor.name, []).append("|".join(placed))
        out.flush()
        os.fsync(out.fileno())
    del source
