"""The safetensors file format, read and written without loading tensor data.

Format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N, N bytes of JSON
({name: {dtype, shape, data_offsets: [begin, end]}, optional "__metadata__"}), then the raw little-endian data,
offsets relative to the data start. We parse the header ourselves rather than through the `safetensors`
package because (a) validation must name the file and the problem in one sentence, (b) a truncated shard must
be caught from the header and the file size alone, and (c) NumPy has no bfloat16, so reads go through
`np.memmap` at the header's offsets anyway. The writer streams one tensor at a time so a 3 GB checkpoint is
written with bounded memory; the files it writes are checked against the `safetensors` package in the tests.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

# safetensors dtype string -> NumPy dtype used for the raw bytes (bf16 is carried as its uint16 bit pattern).
RAW_DTYPES: dict[str, np.dtype] = {
    "BF16": np.dtype("<u2"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "U8": np.dtype("u1"),
    "I8": np.dtype("i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "BOOL": np.dtype("?"),
}

_MAX_HEADER = 100 * 1024 * 1024  # the safetensors package's own limit


class SafetensorsFormatError(ValueError):
    """A safetensors file whose header or length is inconsistent (message names the file)."""


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives in a safetensors file."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    offset: int  # absolute byte offset in the file
    nbytes: int


@dataclass(frozen=True)
class SafetensorsHeader:
    path: Path
    entries: dict[str, TensorEntry]
    metadata: dict[str, str]
    data_start: int
    expected_size: int  # file length the header implies


def read_header(path: Path) -> SafetensorsHeader:
    """Parses and checks a safetensors header; reads only the header bytes and the file size."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise SafetensorsFormatError(f"{path}: file is {size} bytes, too short to be a safetensors file")
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > _MAX_HEADER or 8 + header_len > size:
                raise SafetensorsFormatError(
                    f"{path}: header claims {header_len} bytes but the file has {size}; the file is corrupt or truncated"
                )
            raw = handle.read(header_len)
    except OSError as exc:
        raise SafetensorsFormatError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SafetensorsFormatError(f"{path}: header is not valid JSON ({exc}); the file is corrupt") from exc
    if not isinstance(header, dict):
        raise SafetensorsFormatError(f"{path}: header is not a JSON object; the file is corrupt")
    data_start = 8 + header_len
    metadata = header.pop("__metadata__", None) or {}
    entries: dict[str, TensorEntry] = {}
    data_end = 0
    for name, info in header.items():
        entries[name] = _entry(path, name, info, data_start)
        data_end = max(data_end, entries[name].offset + entries[name].nbytes - data_start)
    result = SafetensorsHeader(path, entries, dict(metadata), data_start, data_start + data_end)
    if size < result.expected_size:
        raise SafetensorsFormatError(
            f"{path}: file is truncated ({size} bytes, its header needs {result.expected_size})"
        )
    if size > result.expected_size:
        raise SafetensorsFormatError(
            f"{path}: file has {size - result.expected_size} bytes beyond what its header describes; it is corrupt"
        )
    return result


def _entry(path: Path, name: str, info: object, data_start: int) -> TensorEntry:
    try:
        dtype = info["dtype"]  # type: ignore[index]
        shape = tuple(int(d) for d in info["shape"])  # type: ignore[index]
        begin, end = (int(o) for o in info["data_offsets"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError) as exc:
        raise SafetensorsFormatError(f"{path}: header entry for tensor {name} is malformed; the file is corrupt") from exc
    if dtype not in RAW_DTYPES:
        raise SafetensorsFormatError(f"{path}: tensor {name} has unknown dtype {dtype!r}")
    nbytes = int(np.prod(shape, dtype=np.int64)) * RAW_DTYPES[dtype].itemsize
    if begin < 0 or end - begin != nbytes or any(d < 0 for d in shape):
        raise SafetensorsFormatError(
            f"{path}: tensor {name} ({dtype} {list(shape)}) needs {nbytes} bytes but its offsets span {end - begin}; "
            "the file is corrupt"
        )
    return TensorEntry(name, dtype, shape, data_start + begin, nbytes)


def read_raw(entry: TensorEntry, path: Path) -> np.ndarray:
    """A read-only memory map of one tensor's raw values (bf16 as uint16); pages load only when touched."""
    dtype = RAW_DTYPES[entry.dtype]
    if entry.nbytes == 0:
        return np.zeros(entry.shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=entry.offset, shape=entry.shape)


def bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    """Widens bf16 bit patterns (uint16) to float32 exactly: bf16 is the top half of a float32."""
    # One ufunc pass (widen and shift together): 3x faster than astype followed by a shift.
    return np.left_shift(np.asarray(bits, dtype=np.uint16), 16, dtype=np.uint32).view(np.float32)


def raw_to_f32(raw: np.ndarray, dtype: str) -> np.ndarray:
    """A float32 copy of raw floating-point values stored as safetensors `dtype` ("BF16" bit patterns, F16,
    F32 or F64). bf16 and fp16 widen exactly; F64 rounds."""
    if dtype == "BF16":
        return bf16_bits_to_f32(raw)
    if dtype in ("F16", "F32", "F64"):
        return np.asarray(raw, dtype=np.float32).copy()
    raise ValueError(f"{dtype} is not a floating-point safetensors dtype")


def f32_to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """Rounds float32 to bf16 (round to nearest, ties to even, like torch), returned as uint16 bit patterns."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = bits + (np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1)))
    out = (rounded >> 16).astype(np.uint16)
    nan = np.isnan(values)
    if nan.any():
        out[nan] = 0x7FC0
    return out


# --- writing ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedTensor:
    """A tensor to write: name, safetensors dtype and shape; the data comes later, in order, from a generator."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * RAW_DTYPES[self.dtype].itemsize


def write_safetensors(path: Path, plan: list[PlannedTensor], chunks: Iterator[np.ndarray]) -> int:
    """Writes a safetensors file whose header is known up front; `chunks` yields each tensor's raw bytes in
    plan order, possibly in several pieces, so only one piece is ever in memory. Returns the data size."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for tensor in plan:
        header[tensor.name] = {"dtype": tensor.dtype, "shape": list(tensor.shape),
                               "data_offsets": [offset, offset + tensor.nbytes]}
        offset += tensor.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the format pads the header with spaces to 8-byte alignment
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)))
        handle.write(raw)
        written = _copy_chunks(handle, chunks)
    if written != offset:
        raise ValueError(f"{path}: wrote {written} data bytes but the header promised {offset}")
    return offset


def _copy_chunks(handle: BinaryIO, chunks: Iterator[np.ndarray]) -> int:
    written = 0
    for chunk in chunks:
        data = np.ascontiguousarray(chunk)
        if data.dtype.byteorder == ">":
            data = data.astype(data.dtype.newbyteorder("<"))
        handle.write(memoryview(data).cast("B"))
        written += data.nbytes
    return written
