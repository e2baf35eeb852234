"""`enclave bench-api PACKAGE`: the OpenAI-compatible API's cost per token beside the engine called directly (thin
CLI; the work is in app.bench.api)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench-api", help="measure the local API server's overhead per token",
                                   description="Alternate rounds of the engine called directly and through the "
                                               "OpenAI-compatible API on 127.0.0.1 (same package, same prompt, "
                                               "greedy) and report the overhead per token.")
    parser.add_argument("package", type=Path, help="exported model package folder")
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--provider", default=None, help="cpu, cuda or dml (default: the best available)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.bench.api import ApiBenchOptions, run_api_bench
    from app.engine.session import LoadError

    if args.new_tokens < 2 or args.rounds < 1:
        print("enclave bench-api: --new-tokens >= 2 and --rounds >= 1 are required", file=sys.stderr)
        return 2
    try:
        result = run_api_bench(ApiBenchOptions(args.package, args.new_tokens, args.rounds, args.provider), sys.stdout)
    except LoadError as exc:
        print(f"enclave bench-api: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
    return 0
