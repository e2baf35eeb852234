"""`enclave bench PACKAGE`: prefill/decode speed, TTFT, second-turn TTFT, memory, and (--vs-genai) the same
package on onnxruntime-genai in the same run (thin CLI; the work is in app.bench)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="benchmark a model package",
                                   description="Measure prefill and decode speed of a model package.")
    parser.add_argument("package", type=Path, help="exported model package folder")
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vs-genai", action="store_true", help="also run onnxruntime-genai, alternating rounds")
    parser.add_argument("--genai-export", type=Path, default=None, metavar="FOLDER",
                        help="also run onnxruntime-genai on its own export of the same checkpoint (built with "
                             "python -m onnxruntime_genai.models.builder)")
    parser.add_argument("--provider", default=None, help="cpu, cuda or dml (default: the best available)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random prompt")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.bench.run import BenchOptions, run_bench, to_json
    from app.engine.session import LoadError

    if args.prompt_tokens < 1 or args.new_tokens < 2 or args.rounds < 1:
        print("enclave bench: --prompt-tokens >= 1, --new-tokens >= 2 and --rounds >= 1 are required",
              file=sys.stderr)
        return 2
    opts = BenchOptions(package=args.package, prompt_tokens=args.prompt_tokens, new_tokens=args.new_tokens,
                        rounds=args.rounds, vs_genai=args.vs_genai, genai_export=args.genai_export, provider=args.provider, seed=args.seed)
    try:
        result = run_bench(opts, sys.stdout)
    except LoadError as exc:
        print(f"enclave bench: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(to_json(result))
    return 0
