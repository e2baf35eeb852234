"""`enclave make-test-model OUT --preset tiny|20b-layers|20b [--layers N] [--seed S]`: a random gpt-oss checkpoint.

The logic lives in app.checkpoint.random_checkpoint; this module only parses arguments and reports.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from app.checkpoint.random_checkpoint import PRESETS

    parser = subparsers.add_parser(
        "make-test-model",
        help="write a random-weight gpt-oss checkpoint (Hugging Face layout) for tests and benchmarks",
        description="Writes config.json, generation_config.json, sharded safetensors with MXFP4 experts, the index "
        "and the real o200k_harmony tokenizer into OUT (which must be empty or absent).",
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="folder to create")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny",
                        help="tiny: small widths, 3 layers; 20b-layers: gpt-oss-20b widths, 2 layers; 20b: all of "
                             "gpt-oss-20b (24 layers, 13.8 GB, the Hub's three shards) (default: tiny)")
    parser.add_argument("--layers", type=int, default=None, metavar="N", help="number of layers (overrides the preset)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import shutil

    from app.checkpoint.config import ConfigError
    from app.checkpoint.random_checkpoint import PRESET_SHARDS, PRESETS, checkpoint_bytes, write_test_model

    config = PRESETS[args.preset]
    if args.layers is not None:
        if args.layers < 1:
            print(f"enclave make-test-model: --layers must be at least 1, got {args.layers}", file=sys.stderr)
            return 2
        try:
            config = config.with_changes(num_hidden_layers=args.layers)
        except ConfigError as exc:
            print(f"enclave make-test-model: {exc}", file=sys.stderr)
            return 2
    if args.seed < 0:
        print(f"enclave make-test-model: --seed must be non-negative, got {args.seed}", file=sys.stderr)
        return 2
    needed = checkpoint_bytes(config)
    existing = next((p for p in (args.out, *args.out.parents) if p.exists()), None)
    free = shutil.disk_usage(existing).free if existing is not None else None
    if free is not None and free < needed * 1.02:
        print(f"enclave make-test-model: {args.out} needs {needed / 1e9:.1f} GB but only {free / 1e9:.1f} GB is free "
              "there; nothing was written", file=sys.stderr)
        return 1
    start = time.perf_counter()
    try:
        folder = write_test_model(args.out, config, seed=args.seed, shards=PRESET_SHARDS.get(args.preset))
    except (FileExistsError, OSError) as exc:
        print(f"enclave make-test-model: {exc}", file=sys.stderr)
        return 1
    size = sum(path.stat().st_size for path in folder.iterdir() if path.is_file())
    print(f"wrote {args.preset} test model ({config.num_hidden_layers} layers, {size / 1e6:.1f} MB) to {folder} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0
