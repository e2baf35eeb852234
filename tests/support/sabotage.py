"""Ways to break an exported package so that every checksum still matches: the graph or its bytes are changed,
then the manifest is rewritten with the new sizes and SHA-256 (what a buggy exporter, or someone who edits a
package and "fixes" its manifest, would produce). `enclave verify` must catch each of them by its logits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx

from app.package.manifest import MANIFEST_FILE, FileEntry
from app.package.reader import read_package


def copy_package(package: Path, destination: Path) -> Path:
    return Path(shutil.copytree(package, destination))


def rehash(package: Path) -> None:
    """Rewrites manifest.json so that every file's size and SHA-256 match again."""
    path = package / MANIFEST_FILE
    data = json.loads(path.read_text())
    data["files"] = [FileEntry.of(package, package / entry["path"]).__dict__ for entry in data["files"]]
    path.write_text(json.dumps(data, indent=2))


def _graph(package: Path) -> onnx.ModelProto:
    return onnx.load(str(package / "model.onnx"), load_external_data=False)


def _save(package: Path, model: onnx.ModelProto) -> None:
    onnx.save(model, str(package / "model.onnx"))  # external data references are kept as they are


def _nodes(model: onnx.ModelProto, op_type: str) -> list[onnx.NodeProto]:
    return [n for n in model.graph.node if n.op_type == op_type]


def change_window(package: Path, window: int) -> None:
    """Every sliding layer's GroupQueryAttention gets local_window_size = `window`."""
    model = _graph(package)
    for node in _nodes(model, "GroupQueryAttention"):
        for attr in node.attribute:
            if attr.name == "local_window_size" and attr.i != -1:
                attr.i = window
    _save(package, model)
    rehash(package)


def drop_sinks(package: Path) -> None:
    """The attention sinks input of every GroupQueryAttention is cut (the kernel then uses none)."""
    model = _graph(package)
    used = set()
    for node in _nodes(model, "GroupQueryAttention"):
        used.add(node.input[11])
        node.input[11] = ""
    kept = [t for t in model.graph.initializer if t.name not in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    _save(package, model)
    rehash(package)


def _write_initializer(package: Path, model: onnx.ModelProto, name: str, values: np.ndarray) -> None:
    tensor = next(t for t in model.graph.initializer if t.name == name)
    data = np.ascontiguousarray(values).tobytes()
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        assert len(tensor.raw_data) == len(data), name
        tensor.raw_data = data
        return
    info = {e.key: e.value for e in tensor.external_data}
    assert int(info["length"]) == len(data), name
    with open(package / info["location"], "r+b") as handle:
        handle.seek(int(info["offset"]))
        handle.write(data)


def _read_initializer(package: Path, model: onnx.ModelProto, name: str, dtype: np.dtype) -> np.ndarray:
    tensor = next(t for t in model.graph.initializer if t.name == name)
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        raw = tensor.raw_data
    else:
        info = {e.key: e.value for e in tensor.external_data}
        with open(package / info["location"], "rb") as handle:
            handle.seek(int(info["offset"]))
            raw = handle.read(int(info["length"]))
    return np.frombuffer(raw, dtype=dtype).reshape(tuple(tensor.dims)).copy()


def plain_rope(package: Path) -> None:
    """The cos/sin caches replaced by plain RoPE's (no YaRN frequencies, no concentration): the bug a
    transformers-5 config used to cause."""
    from app.export.rope import cos_sin_cache

    config = read_package(package).config
    model = _graph(package)
    length = next(t for t in model.graph.initializer if t.name == "cos_cache").dims[0]
    cos, sin = cos_sin_cache(config, int(length), yarn=False)
    dtype = _read_initializer(package, model, "cos_cache", np.float32).dtype
    _write_initializer(package, model, "cos_cache", cos.astype(dtype))
    _write_initializer(package, model, "sin_cache", sin.astype(dtype))
    _save(package, model)
    rehash(package)


def swap_experts(package: Path, first: int = 0, second: int = 1) -> None:
    """In every layer, experts `first` and `second` trade their weights, scales and biases (the router still
    sends each token to the old index)."""
    model = _graph(package)
    for node in _nodes(model, "QMoE"):
        for position in (2, 3, 4, 5, 6, 7):  # fc1 weight, scales, bias; fc2 weight, scales, bias
            name = node.input[position]
            tensor = next(t for t in model.graph.initializer if t.name == name)
            itemsize = {onnx.TensorProto.UINT8: 1, onnx.TensorProto.FLOAT: 4,
                        onnx.TensorProto.FLOAT16: 2}[tensor.data_type]
            values = _read_initializer(package, model, name, np.dtype(f"u{itemsize}"))
            values[[first, second]] = values[[second, first]]
            _write_initializer(package, model, name, values)
    _save(package, model)
    rehash(package)
