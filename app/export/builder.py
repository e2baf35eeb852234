"""A small ONNX graph builder that streams initializers to the external data file as they are added.

Why not `onnx.helper` + `onnx.save(..., save_as_external_data=True)`: that keeps every weight inside one
ModelProto in RAM until the very end, so exporting gpt-oss-120b would need the whole model in memory. Here each
`add_initializer` writes the tensor's bytes to `model.onnx.data` straight away and keeps only a TensorProto
stub (name, dtype, shape, offset, length), so peak memory is bounded by the largest layer being converted.

Every layer module (app/export/layers.py, app/export/dml_*.py) builds through this class. Layer functions
follow one shape of signature so targets can swap implementations:

    build_attention(b: GraphBuilder, layer: int, hidden: str, ctx: LayerContext, io: AttentionIO) -> str
    build_moe(b: GraphBuilder, layer: int, hidden: str, ctx: LayerContext) -> str

`hidden` is the name of the layer input ([batch, seq, hidden_size], normalised), the return value is the name
of the output of the same shape. `LayerContext` (app/export/context.py) carries the config, the checkpoint,
the activation dtype and the debug options.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import onnx
from onnx import TensorProto, helper

# Tensors smaller than this are stored inside model.onnx (shape constants, small biases are not worth a seek).
INLINE_LIMIT_BYTES = 1024
# ORT memory-maps external data only when a tensor's offset is a multiple of the OS allocation granularity
# (64 KiB on Windows, page size elsewhere); otherwise it copies the tensor. Large tensors are aligned to it.
ALIGN_BYTES = 64 * 1024
SMALL_ALIGN_BYTES = 64
_COPY_PIECE_BYTES = 64 << 20  # add_copy reads an earlier tensor back this much at a time

_NP_TO_ONNX: dict[np.dtype, int] = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float16): TensorProto.FLOAT16,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.int32): TensorProto.INT32,
    np.dtype(np.int8): TensorProto.INT8,
    np.dtype(np.uint8): TensorProto.UINT8,
    np.dtype(np.uint16): TensorProto.UINT16,
    np.dtype(np.bool_): TensorProto.BOOL,
}

# Bytes per element of the ONNX types we store (FLOAT8E8M0: MXFP4 block scales, one byte each).
_ITEMSIZE: dict[int, int] = {
    TensorProto.FLOAT: 4, TensorProto.FLOAT16: 2, TensorProto.BFLOAT16: 2, TensorProto.DOUBLE: 8,
    TensorProto.INT64: 8, TensorProto.INT32: 4, TensorProto.INT8: 1, TensorProto.UINT8: 1,
    TensorProto.UINT16: 2, TensorProto.BOOL: 1, TensorProto.FLOAT8E8M0: 1,
}

MS_DOMAIN = "com.microsoft"


def onnx_dtype(dtype: np.dtype | type) -> int:
    """The ONNX TensorProto element type for a NumPy dtype (raises with the dtype's name if unsupported)."""
    key = np.dtype(dtype)
    if key not in _NP_TO_ONNX:
        raise TypeError(f"no ONNX element type for NumPy dtype {key}")
    return _NP_TO_ONNX[key]


class GraphBuilder:
    """Collects nodes, inputs and outputs; writes initializer bytes to `data_path` as they arrive.

    Use as a context manager (or call `close()`) so the data file is closed even when a layer fails.
    """

    def __init__(self, data_path: Path, *, opset: int = 21) -> None:
        self.data_path = Path(data_path)
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self.value_infos: list[onnx.ValueInfoProto] = []
        self._names: set[str] = set()
        self._reserved: set[str] = set()  # from unique(), not yet used as an explicit node output
        self._counters: dict[str, int] = {}
        self._file: BinaryIO | None = open(self.data_path, "wb")  # noqa: SIM115 - closed in close()
        self._offset = 0
        self.bytes_written = 0
        self._by_name: dict[str, TensorProto] = {}
        self._aligns: dict[str, int] = {}  # external initializer -> the alignment its bytes were written at
        self._by_content: dict[bytes, Any] = {}  # see remember()

    # --- lifecycle ----------------------------------------------------------------------------------------
    def __enter__(self) -> GraphBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # --- names --------------------------------------------------------------------------------------------
    def unique(self, base: str) -> str:
        """A tensor/node name starting with `base` that is not used yet (base itself when free)."""
        if base not in self._names:
            self._names.add(base)
            self._reserved.add(base)
            return base
        n = self._counters.get(base, 0)
        while True:
            n += 1
            candidate = f"{base}_{n}"
            if candidate not in self._names:
                self._counters[base] = n
                self._names.add(candidate)
                self._reserved.add(candidate)
                return candidate

    # --- graph I/O ----------------------------------------------------------------------------------------
    def add_input(self, name: str, elem_type: int, shape: Sequence[int | str | None]) -> str:
        self._claim(name)
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, list(shape)))
        return name

    def add_output(self, name: str, elem_type: int, shape: Sequence[int | str | None]) -> str:
        """Declares `name` (already produced by a node) as a graph output."""
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, list(shape)))
        return name

    # --- nodes --------------------------------------------------------------------------------------------
    def add_node(
        self,
        op_type: str,
        inputs: Sequence[str],
        outputs: Sequence[str] | int = 1,
        *,
        name: str | None = None,
        domain: str = "",
        **attrs: Any,
    ) -> list[str]:
        """Adds a node and returns its output names.

        `outputs` is either explicit names (claimed as given: graph outputs like `present.0.key` need exact
        names) or a count, in which case names are derived from the node name. Use "" in `inputs` for an
        omitted optional input. Attributes with value None are dropped, so callers can pass optional ones.
        """
        node_name = self.unique(name or op_type)
        if isinstance(outputs, int):
            out_names = [self.unique(f"{node_name}/out{i}" if outputs > 1 else f"{node_name}/out") for i in range(outputs)]
        else:
            out_names = [self._claim(o) if o else "" for o in outputs]
        kept = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), out_names, name=node_name, domain=domain or None, **kept))
        return out_names

    def op(self, op_type: str, *inputs: str, name: str | None = None, domain: str = "", **attrs: Any) -> str:
        """Single-output shorthand: `b.op("Add", x, y)` -> output name."""
        return self.add_node(op_type, inputs, 1, name=name, domain=domain, **attrs)[0]

    # --- initializers -------------------------------------------------------------------------------------
    def add_initializer(self, name: str, array: np.ndarray, *, elem_type: int | None = None,
                        shape: Sequence[int] | None = None) -> str:
        """Stores `array` as an initializer; returns its (unique) name.

        `elem_type`/`shape` let callers store raw bytes under another ONNX type: e.g. bf16 checkpoint values
        held as uint16 (elem_type=BFLOAT16) or packed 4-bit data held as uint8. Without them the array's own
        dtype and shape are used. Large arrays go to the external data file immediately; the caller may drop
        its reference afterwards.
        """
        name = self.unique(name)
        array = np.ascontiguousarray(array)
        dtype = onnx_dtype(array.dtype) if elem_type is None else elem_type
        dims = list(array.shape if shape is None else shape)
        if array.nbytes < INLINE_LIMIT_BYTES:
            tensor = TensorProto(name=name, data_type=dtype, dims=dims, raw_data=array.tobytes())
        else:
            tensor = TensorProto(name=name, data_type=dtype, dims=dims)
            align = ALIGN_BYTES if array.nbytes >= ALIGN_BYTES else SMALL_ALIGN_BYTES
            offset, length = self._write_chunks([array], align)
            self._set_external(tensor, offset, length)
        self._append(tensor, align if array.nbytes >= INLINE_LIMIT_BYTES else None)
        return name

    def _set_external(self, tensor: TensorProto, offset: int, length: int) -> None:
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.data_path.name), ("offset", str(offset)), ("length", str(length))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value

    def add_streamed_initializer(self, name: str, elem_type: int, shape: Sequence[int],
                                 chunks: Iterable[np.ndarray]) -> str:
        """Stores an initializer whose bytes arrive in pieces (e.g. one expert at a time), so a whole layer's
        experts never sit in memory at once. The pieces must add up to exactly the tensor's size."""
        name = self.unique(name)
        offset, length = self._write_chunks(chunks, ALIGN_BYTES)
        itemsize = _ITEMSIZE[elem_type]
        expected = int(np.prod(shape, dtype=np.int64)) * itemsize
        if length != expected:
            raise ValueError(f"initializer {name}: got {length} bytes for shape {list(shape)}, expected {expected}")
        tensor = TensorProto(name=name, data_type=elem_type, dims=list(shape))
        self._set_external(tensor, offset, length)
        self._append(tensor, ALIGN_BYTES)
        return name

    def add_copy(self, name: str, source: str) -> str:
        """A new initializer with the type, shape and bytes of the earlier initializer `source`, its bytes written
        again at the same alignment (read back from the data file in pieces), so a package that repeats a tensor
        is byte for byte what adding it anew would make, without recomputing it (see `remember`)."""
        original = self._by_name[source]
        tensor = TensorProto(name=self.unique(name), data_type=original.data_type, dims=list(original.dims))
        if original.data_location != TensorProto.EXTERNAL:
            tensor.raw_data = original.raw_data
        else:
            where = {entry.key: entry.value for entry in original.external_data}
            offset, length = self._write_chunks(self._read_back(int(where["offset"]), int(where["length"])),
                                                self._aligns[source])
            self._set_external(tensor, offset, length)
        self._append(tensor)
        return tensor.name

    def added_since(self, count: int) -> tuple[str, ...]:
        """Names of the initializers added after the first `count` (`len(b.initializers)` taken earlier)."""
        return tuple(tensor.name for tensor in self.initializers[count:])

    def remember(self, key: bytes, written: Any) -> None:
        """Records what inputs with digest `key` wrote (the caller's description, e.g. initializer names), so a
        later identical input can `recall` it and `add_copy` those initializers instead of recomputing them."""
        self._by_content.setdefault(key, written)

    def recall(self, key: bytes) -> Any:
        """What `remember(key, ...)` recorded, or None."""
        return self._by_content.get(key)

    def _read_back(self, offset: int, length: int) -> Iterable[np.ndarray]:
        assert self._file is not None
        self._file.flush()
        with open(self.data_path, "rb") as handle:
            handle.seek(offset)
            while length > 0:
                piece = handle.read(min(length, _COPY_PIECE_BYTES))
                if not piece:
                    raise RuntimeError(f"{self.data_path}: ended while copying an initializer back")
                length -= len(piece)
                yield np.frombuffer(piece, dtype=np.uint8)

    def _append(self, tensor: TensorProto, align: int | None = None) -> None:
        self.initializers.append(tensor)
        self._by_name[tensor.name] = tensor
        if align is not None:
            self._aligns[tensor.name] = align

    def const(self, name: str, values: Any, dtype: np.dtype | type = np.int64) -> str:
        """A small constant initializer (shape vectors, axes, scalars)."""
        return self.add_initializer(name, np.asarray(values, dtype=dtype))

    def _write_chunks(self, chunks: Iterable[np.ndarray], align: int) -> tuple[int, int]:
        """Appends the chunks' bytes at the next `align`-byte boundary; returns (offset, length)."""
        if self._file is None:
            raise RuntimeError("GraphBuilder is closed; cannot add more initializers")
        pad = (-self._offset) % align
        if pad:
            self._file.write(b"\0" * pad)
            self._offset += pad
        offset = self._offset
        for chunk in chunks:
            data = np.ascontiguousarray(chunk)
            # memoryview avoids a tobytes() copy of an expert's worth of weights.
            self._file.write(memoryview(data.reshape(-1)).cast("B"))
            self._offset += data.nbytes
            self.bytes_written += data.nbytes
        return offset, self._offset - offset

    # --- finish -------------------------------------------------------------------------------------------
    def to_model(self, graph_name: str = "gpt_oss", *, producer: str = "enclave") -> onnx.ModelProto:
        """The ModelProto (small: initializers are stubs pointing into the data file)."""
        graph = helper.make_graph(self.nodes, graph_name, self.inputs, self.outputs, self.initializers,
                                  value_info=self.value_infos)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", self.opset), helper.make_opsetid(MS_DOMAIN, 1)],
            producer_name=producer,
        )
        model.ir_version = 10
        return model

    def save(self, model_path: Path, **kwargs: Any) -> None:
        """Flushes the data file and writes model.onnx next to it (fsync'd: a package must survive power loss)."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
        self.close()
        model = self.to_model(**kwargs)
        with open(model_path, "wb") as fh:
            fh.write(model.SerializeToString())
            fh.flush()
            os.fsync(fh.fileno())

    def _claim(self, name: str) -> str:
        """Takes an exact name; a name handed out by `unique()` may be claimed once more by its owner."""
        if name in self._reserved:
            self._reserved.discard(name)
            return name
        if name in self._names:
            raise ValueError(f"tensor name {name!r} is already used in the graph")
        self._names.add(name)
        return name
