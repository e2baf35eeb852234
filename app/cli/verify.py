"""`enclave verify PACKAGE [--against CHECKPOINT]`: prove a package on this computer (thin CLI over
app.reference.verify). Exit 0: passed; 1: the package computes something else than its checkpoint; 2: the
check could not be made (damaged package, no checkpoint)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="check a model package's files and its logits against its checkpoint",
        description="Checks every file of PACKAGE against its manifest's SHA-256, then runs it on the execution "
                    "provider it will use and compares its logits with Enclave's own NumPy forward pass of the "
                    "checkpoint it was exported from.",
    )
    parser.add_argument("package", type=Path, help="the package folder (manifest.json, model.onnx, ...)")
    parser.add_argument("--against", type=Path, default=None, metavar="CHECKPOINT",
                        help="the checkpoint folder (default: the folder this computer exported the package from)")
    parser.add_argument("--provider", default=None, help="cpu, cuda or dml (default: the one the app would use)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for ONNX Runtime (default: all)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.progress import LoadProgress
    from app.reference.verify import VerifyCancelled, VerifyError, verify_package

    def show(progress: LoadProgress) -> None:
        if not args.quiet:
            print(f"{progress.fraction * 100:5.1f}% {progress.message}", file=sys.stderr, flush=True)

    if args.threads is not None and args.threads < 1:
        print(f"enclave verify: --threads must be at least 1, got {args.threads}", file=sys.stderr)
        return 2
    try:
        result = verify_package(args.package, against=args.against, provider=args.provider, threads=args.threads,
                                on_progress=show)
    except VerifyError as exc:
        print(f"enclave verify: {exc}", file=sys.stderr)
        return 2
    except (VerifyCancelled, KeyboardInterrupt):
        print("enclave verify: cancelled", file=sys.stderr)
        return 130
    a = result.agreement
    print(f"package   {result.package} ({result.target}, {result.provider})")
    print(f"checkpoint {result.checkpoint} ({result.source_check})")
    print(f"logits    per position (σ of the reference): {' '.join(f'{e:.3f}' for e in a.errors)}")
    print(f"          worst {a.worst:.3f} σ, median {a.median:.3f} σ, top-1 {a.top1_agreement} of {a.positions}")
    print("time      " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.seconds.items()))
    print(("PASSED: " if result.passed else "FAILED: ") + result.sentence())
    return 0 if result.passed else 1
