"""A deeper gpt-oss checkpoint made from a shallow one by repeating its layers: the real-size benchmark's model.

Why: the real-size benchmark (docs/benchmarks.md) needs gpt-oss-20b's 24 layers at its real widths.
`enclave make-test-model --preset 20b` generates and MXFP4-encodes all 13.8 GB of random weights (about 40 min
on the shared 2-core machine under load); repeating the layers of the 2-layer `20b-layers` model is a raw byte
copy of about a minute with the same geometry, the same realistic expert codes and the Hub's file layout.
Speed, memory and package size depend on the geometry, not on the values; fidelity is not measured on it (a
model of repeated layers is no better a reference than the random one it came from).

Layer i of the result is layer i mod n of the source (n its layer count; from the 2-layer model: even layers
are layer 0, sliding-window, odd ones layer 1, full attention), and config.json's `layer_types` says the same.
Everything else is the source's: embedding, final norm, lm_head, tokenizer and generation files byte for
byte, config.json with only `num_hidden_layers` and `layer_types` changed. The tensors are cut into shards as
`make-test-model --preset 20b` cuts them (app.checkpoint.random_checkpoint.hub_shards: three files of about
equal size named model-0000i-of-00002, with model.safetensors.index.json).

    python -m app.bench.repeat_layers SOURCE DEST --layers 24
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from app.checkpoint.names import expected_tensors
from app.checkpoint.random_checkpoint import PRESET_SHARDS, hub_shards, staged_folder, write_json
from app.checkpoint.safetensors_io import PlannedTensor, write_safetensors
from app.checkpoint.weights import CONFIG_FILE, INDEX_FILE, Checkpoint, CheckpointError

_CHUNK_BYTES = 64 << 20  # bytes copied per piece: an expert tensor never sits in memory whole
HUB_SHARDS = PRESET_SHARDS["20b"]


def source_name(name: str, source_layers: int) -> str:
    """The source tensor that result tensor `name` copies (`model.layers.i.` -> `model.layers.{i mod n}.`)."""
    parts = name.split(".")
    if len(parts) > 3 and parts[0] == "model" and parts[1] == "layers":
        parts[2] = str(int(parts[2]) % source_layers)
    return ".".join(parts)


def repeat_layers(source: Path, dest: Path, layers: int, *, shards: int = HUB_SHARDS) -> Path:
    """Writes into `dest` (empty or absent) the checkpoint `source` with its layers repeated up to `layers`."""
    if layers < 1:
        raise ValueError(f"the layer count must be at least 1, not {layers}")
    checkpoint = Checkpoint.open(Path(source))
    n = checkpoint.config.num_hidden_layers
    layer_types = tuple(checkpoint.config.layer_types[i % n] for i in range(layers))
    config = checkpoint.config.with_changes(num_hidden_layers=layers, layer_types=layer_types)
    specs = expected_tensors(config)
    dest = Path(dest)
    with staged_folder(dest) as staging:
        weight_map: dict[str, str] = {}
        total = 0
        for file_name, names in hub_shards(specs, shards):
            plan = [PlannedTensor(name, checkpoint.tensor_dtype(source_name(name, n)), specs[name].shape)
                    for name in names]
            chunks = (chunk for name in names for chunk in _raw_pieces(checkpoint, source_name(name, n)))
            total += write_safetensors(staging / file_name, plan, chunks)
            weight_map.update(dict.fromkeys(names, file_name))
        write_json(staging / INDEX_FILE, {"metadata": {"total_size": total}, "weight_map": weight_map})
        hf_config = json.loads((checkpoint.folder / CONFIG_FILE).read_text(encoding="utf-8"))
        hf_config["num_hidden_layers"] = layers
        hf_config["layer_types"] = list(layer_types)
        write_json(staging / CONFIG_FILE, hf_config)
        shard_names = {path.name for path in checkpoint.shard_files}
        for path in sorted(checkpoint.folder.iterdir()):
            if path.is_file() and path.name not in shard_names | {CONFIG_FILE, INDEX_FILE}:
                shutil.copyfile(path, staging / path.name)  # tokenizer, generation_config.json
    return dest


def _raw_pieces(checkpoint: Checkpoint, name: str) -> Iterator[np.ndarray]:
    raw = checkpoint.tensor_raw(name)
    if raw.ndim == 0 or raw.nbytes <= _CHUNK_BYTES:
        yield raw
        return
    step = max(1, _CHUNK_BYTES // max(raw[0].nbytes, 1))
    for row in range(0, raw.shape[0], step):
        yield raw[row:row + step]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench.repeat_layers", description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="a gpt-oss checkpoint folder (e.g. make-test-model --preset "
                                                  "20b-layers)")
    parser.add_argument("dest", type=Path, help="the folder to write (must be empty or absent)")
    parser.add_argument("--layers", type=int, default=24, help="layer count of the result (default 24)")
    parser.add_argument("--shards", type=int, default=HUB_SHARDS,
                        help=f"safetensors files to cut the tensors into (default {HUB_SHARDS}, the Hub's)")
    args = parser.parse_args(argv)
    try:
        repeat_layers(args.source, args.dest, args.layers, shards=args.shards)
    except (CheckpointError, FileExistsError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.layers}-layer checkpoint to {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
