"""Heavy measurement, not part of the suite: `enclave verify` at gpt-oss-20b widths on this machine.

    .venv/bin/python -m tests.reference.measure_verify --preset 20b-layers --work /tmp/verify-20b
    .venv/bin/python -m tests.reference.measure_verify --preset 20b --targets cpu-int4 --no-sabotage
    .venv/bin/python -m tests.reference.measure_verify --preset tiny --layers 24 --no-sabotage
    .venv/bin/python -m tests.reference.measure_verify --layers 4 --targets cpu --sabotage "window 129"

Writes the random checkpoint (make-test-model's preset), exports each target, verifies the good package and
(unless --no-sabotage) cpu packages sabotaged with matching checksums, and prints per case the median / worst
error in σ, top-1 agreement, pass/fail and where the time went, with the machine's load. Deletes what it wrote
unless --keep, each package once its cases are done (a 20b checkpoint is 13.8 GB, its packages 16-28 GB: check
`df -h` first).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

SABOTAGE = ("window 127", "window 129", "sinks dropped", "plain rope", "experts 0 and 1 swapped")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="20b-layers")
    parser.add_argument("--layers", type=int, default=None, help="the preset with this many layers")
    parser.add_argument("--work", type=Path, default=Path("/tmp/enclave-measure-verify"))
    parser.add_argument("--targets", default="cpu,cpu-int4,dml")
    parser.add_argument("--no-sabotage", action="store_true")
    parser.add_argument("--sabotage", default=",".join(SABOTAGE), help="which sabotaged packages, comma-separated")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    unknown = sorted(set(args.sabotage.split(",")) - set(SABOTAGE))
    if unknown:
        parser.error(f"--sabotage {unknown[0]!r} is not one of: {', '.join(SABOTAGE)}")
    os.environ.setdefault("XDG_DATA_HOME", str(args.work / "data"))  # the export's record stays in the work folder

    from app.checkpoint.random_checkpoint import PRESET_SHARDS, PRESETS, write_test_model
    from app.export.context import ExportOptions
    from app.export.exporter import export_model
    from app.reference.verify import verify_package
    from tests.reference.test_verify import SABOTAGE as EDITS
    from tests.support import sabotage

    args.work.mkdir(parents=True, exist_ok=True)
    config = PRESETS[args.preset]
    if args.layers is not None:
        config = config.with_changes(num_hidden_layers=args.layers)
    name = f"{args.preset}-{config.num_hidden_layers}"
    checkpoint = args.work / f"checkpoint-{name}"
    made = []
    try:
        if not checkpoint.exists():
            start = time.perf_counter()
            write_test_model(checkpoint, config, shards=PRESET_SHARDS.get(args.preset))
            made.append(checkpoint)
            print(f"checkpoint {args.preset}: {time.perf_counter() - start:.0f} s", flush=True)
        for target in args.targets.split(","):
            package = args.work / f"{name}-{target}"
            if not package.exists():
                start = time.perf_counter()
                export_model(checkpoint, package, target, options=ExportOptions(context_length=1024))
                made.append(package)
                print(f"export {target}: {time.perf_counter() - start:.0f} s", flush=True)
            # a dml package runs on ORT's CPU provider only when asked (there is no DirectML here)
            provider = "cpu" if target == "dml" else None
            _report(f"{target} good", verify_package(package, against=checkpoint, provider=provider))
            if target not in ("cpu", "cpu-int4") or args.no_sabotage:
                continue
            for edit in args.sabotage.split(","):
                broken = sabotage.copy_package(package, args.work / "sabotaged")
                try:
                    EDITS[edit](broken)
                    _report(f"{target} {edit}", verify_package(broken, against=checkpoint))
                finally:
                    shutil.rmtree(broken, ignore_errors=True)
            if not args.keep and package in made:  # one package on disk at a time (the disk is shared)
                shutil.rmtree(package, ignore_errors=True)
    finally:
        if not args.keep:
            for path in made:
                shutil.rmtree(path, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on "
          f"{os.cpu_count()} cores")
    return 0


def _report(case: str, result) -> None:  # noqa: ANN001 - a VerifyResult
    a = result.agreement
    times = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    weights = "" if result.weights_error is None else f"  weights {result.weights_error:.1%}"
    print(f"{case:28s} median {a.median:.3f} σ  worst {a.worst:.3f} σ  top-1 {a.top1_agreement}/{a.positions}{weights}  "
          f"{'PASS' if result.passed else 'FAIL'}  ({times}; load {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
