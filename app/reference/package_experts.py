"""A cpu-int4 package's own expert weights, read back from its data file, for the reference to run with.

cpu-int4 re-quantises every expert to int4, an error that compounds layer after layer (on the random test
models: 0.17 σ of the logits at 3 layers, 0.52 at 24). Compared with the checkpoint's exact model, a package's
logits then cannot tell a graph mistake from rounding. So verify checks such a package in two parts:

1. its int4 weights against the checkpoint's, expert by expert (`weights_error`, on a sample of rows): int4's
   rounding moves a weight matrix by about 6 % RMS, a swapped expert or a wrong packing by 100 % or more;
2. its logits against the reference run with these very weights (`PackageExperts.matmul`), which leaves only
   what the graph and ONNX Runtime's kernels do: the error that does not compound with depth.

The layout is the exporter's (app/export/experts.py, written there, read here independently): per QMoE node (one
per layer, in order) weight uint8 [E, N, K/2] with the even input column in the low nibble, stored as q + 8, and
float16 or float32 scales [E, N, K/block] (app.export.layers.expert_scale_dtype).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from app.package.manifest import MODEL_FILE
from app.reference.experts import ExpertReader

ZERO_POINT = 8
SAMPLE_ROWS = 8  # rows of each expert matrix compared with the checkpoint


def _byte_table() -> np.ndarray:
    """float64-sized items [256]: a byte -> (low nibble - 8, high nibble - 8) as two float32 values."""
    byte = np.arange(256)
    pairs = np.stack([(byte & 0xF) - ZERO_POINT, (byte >> 4) - ZERO_POINT], axis=1).astype(np.float32)
    return np.ascontiguousarray(pairs).view(np.float64).reshape(256)


class PackageExperts:
    """`matmul(layer, proj, expert, x)` = x @ W.T with W the package's dequantised int4 weight [N, K]."""

    def __init__(self, package_folder: Path) -> None:
        folder = Path(package_folder)
        model = onnx.load(str(folder / MODEL_FILE), load_external_data=False)
        initializers = {t.name: t for t in model.graph.initializer}
        self._layers: list[dict[str, tuple[np.ndarray, np.ndarray, int]]] = []
        for node in (n for n in model.graph.node if n.op_type == "QMoE"):
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("expert_weight_bits") != 4 or attrs.get("quant_type", b"int") not in (b"int", "int"):
                raise ValueError(f"{folder / 'model.onnx'}: {node.name} does not hold int4 experts")
            block = int(attrs["block_size"])
            self._layers.append({
                proj: (_array(folder, initializers[node.input[w]]), _array(folder, initializers[node.input[s]]),
                       block)
                for proj, w, s in (("gate_up", 2, 3), ("down", 5, 6))
            })
        self._table = _byte_table()
        self._buffers: dict[tuple[int, ...], np.ndarray] = {}

    @property
    def num_layers(self) -> int:
        return len(self._layers)

    def matmul(self, layer: int, proj: str, expert: int, x: np.ndarray) -> np.ndarray:
        weight, scales, block = self._layers[layer][proj]
        return (self.decode(weight[expert], scales[expert], block) @ x.T).T

    def decode(self, packed: np.ndarray, scales: np.ndarray, block: int, rows: np.ndarray | None = None) -> np.ndarray:
        """float32 [N, K] (or just `rows`) of one expert; the full matrix lives in a buffer reused per shape."""
        if rows is not None:
            packed, scales = packed[rows], scales[rows]
            out = np.empty(packed.shape, dtype=np.float64)
        else:
            out = self._buffers.get(packed.shape)
            if out is None:
                out = self._buffers[packed.shape] = np.empty(packed.shape, dtype=np.float64)
        np.take(self._table, np.asarray(packed), out=out, mode="clip")
        n, k = packed.shape[0], packed.shape[1] * 2
        values = out.view(np.float32).reshape(n, k // block, block)
        values *= np.asarray(scales)[..., None]
        return values.reshape(n, k)

    def weights_error(self, checkpoint_experts: ExpertReader) -> tuple[float, str]:
        """(worst relative RMS error, where) of the package's int4 weights against the checkpoint's, over
        SAMPLE_ROWS rows of every expert matrix of every layer."""
        worst, where = 0.0, ""
        for layer, projections in enumerate(self._layers):
            for proj, (weight, scales, block) in projections.items():
                rows = np.linspace(0, weight.shape[1] - 1, SAMPLE_ROWS).astype(np.int64)
                for expert in range(weight.shape[0]):
                    ours = self.decode(weight[expert], scales[expert], block, rows)
                    theirs = checkpoint_experts.rows(layer, proj, expert, rows)
                    error = float(np.sqrt(np.mean((ours - theirs) ** 2) / max(np.mean(theirs ** 2), 1e-30)))
                    if error > worst:
                        worst, where = error, f"layer {layer} expert {expert} {proj}"
        return worst, where


class PackageEmbedding:
    """A package's quantised token embedding (GatherBlockQuantized, int8 or int4 rows), read back from its data
    file for the reference: cpu-int4's int4 rows move each embedding by about 10 % RMS, which the reference
    must see to compare only what the graph computes. Layout (app/export/graph.py writes it, read here
    independently): uint8 [vocab, hidden·bits/8], int8 stored as q + 128, int4 two per byte with the even
    column in the low nibble, stored as q + 8; scales [vocab, hidden/block] float16 or float32."""

    def __init__(self, folder: Path, table: np.ndarray, scales: np.ndarray, bits: int, block: int) -> None:
        self.folder, self.table, self.scales, self.bits, self.block = folder, table, scales, bits, block

    @classmethod
    def of(cls, package_folder: Path) -> PackageEmbedding | None:
        """The package's quantised embedding, or None when it keeps the checkpoint's floats (a plain Gather)."""
        folder = Path(package_folder)
        model = onnx.load(str(folder / MODEL_FILE), load_external_data=False)
        node = next((n for n in model.graph.node if n.op_type == "GatherBlockQuantized"), None)
        if node is None:
            return None
        initializers = {t.name: t for t in model.graph.initializer}
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        bits, block = int(attrs["bits"]), int(attrs["block_size"])
        if bits not in (4, 8) or len(node.input) > 3:
            raise ValueError(f"{folder / MODEL_FILE}: {node.name} is not an int8 or int4 table without zero points")
        return cls(folder, _array(folder, initializers[node.input[0]]), _array(folder, initializers[node.input[2]]),
                   bits, block)

    def rows(self, tokens: np.ndarray) -> np.ndarray:
        """float32 [len(tokens), hidden]: the dequantised rows the graph gathers."""
        packed = np.asarray(self.table[np.asarray(tokens, dtype=np.int64)]).astype(np.int16)
        if self.bits == 4:
            q = np.empty((packed.shape[0], packed.shape[1] * 2), dtype=np.int16)
            q[:, 0::2], q[:, 1::2] = packed & 0xF, packed >> 4
            q -= ZERO_POINT
        else:
            q = packed - 128
        scales = np.asarray(self.scales[np.asarray(tokens, dtype=np.int64)]).astype(np.float32)
        n, k = q.shape
        return (q.reshape(n, k // self.block, self.block) * scales[..., None]).reshape(n, k).astype(np.float32)

    def weights_error(self, checkpoint_rows: np.ndarray, tokens: np.ndarray) -> float:
        """Relative RMS error of the package's rows of `tokens` against the checkpoint's."""
        ours = self.rows(tokens)
        return float(np.sqrt(np.mean((ours - checkpoint_rows) ** 2) / max(np.mean(checkpoint_rows ** 2), 1e-30)))


def _array(folder: Path, tensor: onnx.TensorProto) -> np.ndarray:
    """An initializer as an array of its own dtype (the scales are float16 or float32, see
    app.export.layers.expert_scale_dtype): a read-only map of the data file, or its inline bytes."""
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
    shape = tuple(int(d) for d in tensor.dims)
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        return np.frombuffer(tensor.raw_data, dtype=dtype).reshape(shape)
    info = {e.key: e.value for e in tensor.external_data}
    return np.memmap(folder / info["location"], dtype=dtype, mode="r", offset=int(info["offset"]), shape=shape)
