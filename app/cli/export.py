"""`enclave export SRC OUT --target cpu|cpu-int4|cuda|dml`: checkpoint folder -> model package (thin CLI)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.package.targets import TARGET_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="convert a gpt-oss checkpoint folder into an ONNX model package",
        description="Convert a Hugging Face gpt-oss checkpoint (MXFP4 experts) into an Enclave model package.",
    )
    parser.add_argument("src", type=Path, help="checkpoint folder (config.json, *.safetensors, tokenizer.json)")
    parser.add_argument("out", type=Path, help="package folder to create (must not exist yet)")
    parser.add_argument("--target", required=True, choices=TARGET_NAMES,
                        help="cpu: lossless int8 experts; cpu-int4: smaller int4 experts; cuda: MXFP4 on NVIDIA "
                             "GPUs; dml: DirectML (Windows GPUs)")
    parser.add_argument("--context-length", type=int, default=None,
                        help="longest context the package supports (default: the model's maximum)")
    parser.add_argument("--lm-head", choices=("full", "int8"), default=None,
                        help="lm_head precision (default: int8 on cpu-int4, full precision otherwise); "
                             "int8 is a quarter of the size and much faster per token on CPU, but its rounded activations "
                             "can make a greedy answer depend on what the prompt cache held")
    parser.add_argument("--projections", choices=("full", "int8"), default=None,
                        help="attention QKV/output projections (default: int8 on cpu-int4, full precision otherwise; int8 "
                             "costs the cpu target 0.015 -> 0.215 sigma at 20b widths)")
    parser.add_argument("--embedding", choices=("full", "int8", "int4"), default=None,
                        help="token embedding (default: int8 on the CPU targets, the checkpoint's bf16 "
                             "otherwise); int4 saves 0.3 GB at 20b but doubles cpu-int4's error")
    parser.add_argument("--kv-cache", choices=("float32", "float16"), default=None,
                        help="KV cache dtype on the CPU targets (default: float32; float16 halves its memory but "
                             "decodes slower at long contexts)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.checkpoint.weights import CheckpointError
    from app.export.context import ExportOptions
    from app.export.exporter import ExportError, export_model
    from app.export.graph import ExportCancelled
    from app.progress import LoadProgress

    def show(progress: LoadProgress) -> None:
        if not args.quiet:
            percent = f"{progress.fraction * 100:5.1f}% " if progress.fraction is not None else ""
            print(f"{percent}{progress.message}", file=sys.stderr, flush=True)

    try:
        bits = {"full": 0, "int8": 8, "int4": 4, None: None}
        options = ExportOptions(context_length=args.context_length, lm_head_bits=bits[args.lm_head],
                                projection_bits=bits[args.projections], embedding_bits=bits[args.embedding], kv_cache=args.kv_cache)
        result = export_model(args.src, args.out, args.target, options=options, on_progress=show)
    except (CheckpointError, ExportError) as exc:
        print(f"enclave export: {exc}", file=sys.stderr)
        return 1
    except (ExportCancelled, KeyboardInterrupt):
        print("enclave export: cancelled; nothing was written", file=sys.stderr)
        return 130
    size = sum(f.size for f in result.manifest.files)
    print(f"Exported {args.target} package to {result.folder} ({size / 1e9:.2f} GB) in {result.seconds:.1f} s")
    return 0
