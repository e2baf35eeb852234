"""`enclave prepare PACKAGE`: make this computer's prepacked copy of a CPU package, so that loading it maps the
prepacked weights from disk instead of copying them into private memory (thin CLI over app.engine.prepacked).
Exit 0: the copy is ready (or was already); 2: it could not be made (not a CPU package, no room, damaged)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare", help="make this computer's memory-mapped copy of a CPU package's prepacked weights",
        description="ONNX Runtime copies a CPU package's matrix weights into private memory when it loads them "
                    "(prepacking: about 1.1x a cpu-int4 package, which the system can never page out). This saves "
                    "PACKAGE's prepacked weights, a few layers at a time, into a copy made for this computer and "
                    "its ONNX Runtime, checks that ONNX Runtime maps them and that the copy computes the package's "
                    "logits, and from then on loading PACKAGE maps "
                    "them from that copy. The copy lives in PACKAGE/prepacked (or the user's cache folder when "
                    "PACKAGE is read-only) and takes about twice the package's disk space (ONNX Runtime needs the "
                    "original weights beside the prepacked ones: 1.96x for the 24-layer cpu-int4 package); the "
                    "command states the amount before it starts.",
    )
    parser.add_argument("package", type=Path, help="the package folder (cpu or cpu-int4 target)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for ONNX Runtime (default: all)")
    parser.add_argument("--in-cache", action="store_true",
                        help="put the copy in the user's cache folder even when the package folder is writable")
    parser.add_argument("--force", action="store_true", help="make the copy again even if a valid one exists")
    parser.add_argument("--remove", action="store_true", help="delete this package's copies instead")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.engine.prepacked import (
        PrepackedError,
        applies_to,
        copy_bytes_estimate,
        copy_folder_for,
        derive_copy,
        find_copy,
        remove_copies,
    )
    from app.engine.session import LoadError, read_package_facts
    from app.library.progress import format_bytes
    from app.progress import LoadProgress

    def fail(sentence: str) -> int:
        print(f"enclave prepare: {sentence}", file=sys.stderr)
        return 2

    shown = [-1.0]

    def show(progress: LoadProgress) -> None:
        fraction = progress.fraction or 0.0
        if not args.quiet and (fraction - shown[0] >= 0.05 or fraction >= 1.0):
            shown[0] = fraction
            print(f"{fraction * 100:5.1f}% {progress.message}", file=sys.stderr, flush=True)

    if args.threads is not None and args.threads < 1:
        return fail(f"--threads must be at least 1, got {args.threads}")
    try:
        facts = read_package_facts(args.package)
        if args.remove:
            removed = remove_copies(facts.folder)
            print("Removed " + (", ".join(str(f) for f in removed) if removed else "nothing: no prepacked copy exists"))
            return 0
        if not applies_to(facts):
            return fail(f"{args.package} is not an Enclave package for a CPU target; only cpu and cpu-int4 packages "
                        "have prepacked copies.")
        existing = find_copy(facts)
        if existing.folder is not None and not args.force:
            print(f"Already prepared: {existing.folder} (use --force to make it again)")
            return 0
        if existing.refusal:
            print(f"Replacing a copy that cannot be used: {existing.refusal}", file=sys.stderr)
        folder, size = copy_folder_for(facts.folder, in_cache=args.in_cache), copy_bytes_estimate(facts)
        print(f"The prepacked copy takes about {format_bytes(size)} in {folder}.", flush=True)
        result = derive_copy(facts.folder, threads=args.threads, destination=folder, progress=show)
    except (LoadError, PrepackedError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        print("enclave prepare: cancelled; no copy was kept", file=sys.stderr)
        return 130
    took = sum(result.seconds.values())
    print(f"Prepared {result.folder} ({format_bytes(result.bytes)}) in {took:.0f} s: loading {facts.folder} on "
          "this computer now maps its prepacked weights from it.")
    return 0
