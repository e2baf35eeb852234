"""Makes every layer of a repeated-layer package hold different bytes: the 24-layer memory benchmark's package.

Why: the 24-layer benchmark package comes from `python -m app.bench.repeat_layers`, whose layers repeat the
2-layer checkpoint's two (a real 24-layer checkpoint takes about an hour to write here and its plain export
about 30 min more). ONNX Runtime 1.32 shares prepacked buffers whose contents are identical within a session,
so on repeated layers the private memory of a load is understated: 4.31 GB for the cpu-int4 package where 24
distinct layers hold 13.45 GB (docs/benchmarks.md, "24 distinct layers"). This tool changes a few low bits of
each layer's weights so that no two layers are equal and ORT shares nothing, while shapes, dtypes, operators
and sizes stay the package's.

Layer L's weight tensors (every initializer named `layers.L.*` in the package's external data file) get
k = L + 1 (L < 255) XORed into the lowest (little-endian) byte of EDITS evenly spaced elements. The model then computes
slightly different values (a handful of int4 codes and float16 scales per tensor), so the result serves memory
and speed measurements, never fidelity. The package's manifest is rewritten with the data file's new size and
SHA-256 and a note saying what was done, so `enclave verify` still holds it to its files.

    python -m app.bench.distinct_layers PACKAGE
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
from pathlib import Path

import onnx

from app.package.integrity import sha256_file
from app.package.manifest import MANIFEST_FILE, FileEntry, Manifest, PackageError, write_manifest

EDITS = 16  # elements changed per tensor: enough that no hash over part of a buffer could still match
NOTE = ("Benchmark package: every layer's weights were made byte-distinct by app.bench.distinct_layers "
        "(a few low bits per tensor changed); for memory and speed measurements only.")
_ELEMENT_BYTES = {onnx.TensorProto.UINT8: 1, onnx.TensorProto.FLOAT16: 2, onnx.TensorProto.FLOAT: 4}
_LAYER = re.compile(r"layers\.(\d+)\.")


class DistinctError(ValueError):
    """The folder is not a package this tool can edit; the message is one sentence."""


@dataclasses.dataclass(frozen=True)
class Edit:
    """One byte of the data file: where, and the value XORed into it."""

    offset: int
    xor: int


def planned_edits(model: onnx.ModelProto, data_file: str, data_size: int) -> list[Edit]:
    """The bytes to change, read from the graph's external-data records (checked against the data file)."""
    edits: list[Edit] = []
    for tensor in model.graph.initializer:
        match = _LAYER.match(tensor.name)
        if not match or not tensor.external_data:
            continue
        record = {entry.key: entry.value for entry in tensor.external_data}
        if record.get("location") != data_file:
            raise DistinctError(f"{tensor.name} is stored in {record.get('location')!r}, not {data_file}")
        width = _ELEMENT_BYTES.get(tensor.data_type)
        if width is None:
            raise DistinctError(f"{tensor.name} has ONNX data type {tensor.data_type}, which this tool does not edit")
        try:
            offset, length = int(record["offset"]), int(record["length"])
        except (KeyError, ValueError):
            raise DistinctError(f"{tensor.name}'s external-data record has no valid offset and length") from None
        if offset < 0 or length < width or offset + length > data_size or length % width:
            raise DistinctError(f"{tensor.name}'s bytes {offset}..{offset + length} do not fit {data_file} "
                                f"({data_size} bytes)")
        count = length // width
        xor = int(match.group(1)) % 255 + 1  # 1..255: distinct for every layer of a gpt-oss model (24 or 36)
        positions = sorted({count * j // EDITS for j in range(EDITS)})
        edits += [Edit(offset + p * width, xor) for p in positions]
    if not edits:
        raise DistinctError("the graph has no layer weights in its external data file")
    return edits


def make_distinct(package: Path) -> int:
    """Edits `package` in place; returns the number of bytes changed."""
    manifest_path = package / MANIFEST_FILE
    try:
        manifest = Manifest.from_dict(json.loads(manifest_path.read_text(encoding="utf-8")), manifest_path)
    except (OSError, ValueError) as exc:  # PackageError and JSONDecodeError are ValueErrors
        raise DistinctError(f"{package} has no readable Enclave manifest ({exc})") from exc
    if NOTE in manifest.notes:
        raise DistinctError(f"{package} was already made distinct")
    model_file = package / "model.onnx"
    model = onnx.load(str(model_file), load_external_data=False)
    data_names = {entry.value for t in model.graph.initializer for entry in t.external_data if entry.key == "location"}
    if len(data_names) != 1:
        raise DistinctError(f"{model_file} keeps its weights in {len(data_names)} files; expected one")
    data_name = data_names.pop()
    entry = manifest.file(data_name)
    if entry is None:
        raise DistinctError(f"the manifest does not list {data_name}")
    data_path = package / data_name
    if data_path.stat().st_size != entry.size:
        raise DistinctError(f"{data_path} has {data_path.stat().st_size} bytes but the manifest records {entry.size}")
    edits = planned_edits(model, data_name, entry.size)
    fd = os.open(data_path, os.O_RDWR)
    try:
        for edit in edits:
            (byte,) = os.pread(fd, 1, edit.offset)
            os.pwrite(fd, bytes([byte ^ edit.xor]), edit.offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    files = tuple(FileEntry(f.path, f.size, sha256_file(data_path)) if f.path == data_name else f
                  for f in manifest.files)
    write_manifest(package, dataclasses.replace(manifest, files=files, notes=(*manifest.notes, NOTE)))
    return len(edits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench.distinct_layers", description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="an exported package (edited in place)")
    args = parser.parse_args(argv)
    try:
        changed = make_distinct(args.package)
    except (DistinctError, PackageError, OSError) as exc:
        parser.error(str(exc))  # one sentence after the usage line, exit status 2
    print(f"changed {changed} bytes of {args.package}'s layer weights; every layer now differs from every other")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
