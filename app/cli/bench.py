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
    parser.add_argument("--prompt-tokens", type=_lengths, default=(512,), metavar="N[,N...]",
                        help="prompt lengths, each with its own rounds (e.g. 512,8192); the longest is also the "
                             "history of the second-turn TTFT (default: 512)")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vs-genai", action="store_true", help="also run onnxruntime-genai, alternating rounds")
    parser.add_argument("--genai-export", type=Path, default=None, metavar="FOLDER",
                        help="also run onnxruntime-genai on its own export of the same checkpoint (built with "
                             "python -m onnxruntime_genai.models.builder)")
    parser.add_argument("--llama-bench", type=Path, default=None, metavar="PROGRAM",
                        help="also run llama.cpp's llama-bench (built outside Enclave) on --gguf, alternating rounds")
    parser.add_argument("--gguf", type=Path, default=None, metavar="FILE",
                        help="the same checkpoint as a GGUF made by llama.cpp's convert_hf_to_gguf.py")
    parser.add_argument("--threads", type=int, default=None,
                        help="intra-op threads for ours and llama.cpp (default: one per core)")
    parser.add_argument("--no-prepack", action="store_true",
                        help="keep ORT from re-laying weights at load (they stay memory-mapped)")
    parser.add_argument("--no-prepacked-copy", action="store_true",
                        help="load the package itself even when this computer has its prepacked copy "
                             "(enclave prepare), whose prepacked weights are memory-mapped")
    parser.add_argument("--no-warmup", action="store_true",
                        help="one long prefill instead of three: no warm-up at the longest prompt, and the long "
                             "second turn continues the longest round (for 8k prompts at full size on a slow "
                             "machine); our peak memory is read after the rounds, so no peer may run")
    parser.add_argument("--provider", default=None, help="cpu, cuda or dml (default: the best available)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random prompt")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--budget", action="store_true",
                        help="only print the package's byte budget per component (stored, read per decoded token) "
                             "from its graph, without loading it")
    parser.add_argument("--layers", type=int, default=None, metavar="N",
                        help="with --budget: scale the per-layer tensors to N layers (a 2-layer package at 20b "
                             "widths gives the 24-layer model's budget)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.bench.run import NO_WARMUP_ALONE, BenchOptions, run_bench, to_json
    from app.engine.session import LoadError

    from app.bench.llama_cpp import LlamaCppError

    if args.budget:
        return _budget(args)
    if args.new_tokens < 2 or args.rounds < 1 or (args.threads is not None and args.threads < 1):
        print("enclave bench: --new-tokens >= 2, --rounds >= 1 and --threads >= 1 are required", file=sys.stderr)
        return 2
    if (args.llama_bench is None) != (args.gguf is None):
        print("enclave bench: --llama-bench and --gguf go together (the program and the model it runs)",
              file=sys.stderr)
        return 2
    opts = BenchOptions(package=args.package, prompt_tokens=args.prompt_tokens, new_tokens=args.new_tokens,
                        rounds=args.rounds, vs_genai=args.vs_genai, genai_export=args.genai_export,
                        llama_bench=args.llama_bench, gguf=args.gguf, provider=args.provider, threads=args.threads,
                        prepack=not args.no_prepack, use_copy=not args.no_prepacked_copy,
                        warmup=not args.no_warmup, seed=args.seed)
    if args.no_warmup and (args.vs_genai or args.genai_export is not None or args.llama_bench is not None):
        print(f"enclave bench: {NO_WARMUP_ALONE}", file=sys.stderr)
        return 2
    try:
        result = run_bench(opts, sys.stdout)
    except (LoadError, LlamaCppError) as exc:
        print(f"enclave bench: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(to_json(result))
    return 0


def _budget(args: argparse.Namespace) -> int:
    import json

    from app.bench.weights import component_budget, format_budget
    from app.package.manifest import PackageError
    from app.package.reader import read_package

    if args.layers is not None and args.layers < 1:
        print("enclave bench: --layers must be at least 1", file=sys.stderr)
        return 2
    try:
        package = read_package(args.package)
    except PackageError as exc:
        print(f"enclave bench: {exc}", file=sys.stderr)
        return 1
    config = package.config
    budget = component_budget(package.model_path, config.num_experts_per_tok, config.num_local_experts,
                              layers=args.layers)
    components = {name: {"stored": c.stored, "per_token": c.per_token} for name, c in budget.items()}
    layers = args.layers or config.num_hidden_layers
    print(f"{args.package} ({package.target}), {layers} layers:")
    for line in format_budget(components):
        print(line)
    if args.json:
        print(json.dumps({"package": str(args.package), "target": package.target, "layers": layers,
                          "components": components}))
    return 0


def _lengths(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive token counts separated by commas, got {text!r}")
    return values
