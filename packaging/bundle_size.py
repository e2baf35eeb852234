"""Size budget of the frozen one-folder app: prints its biggest parts and fails when the total is over budget.

    python packaging/bundle_size.py dist/enclave [--budget-mib N] [--json]

Sizes are apparent sizes in MiB (what a download or an installer carries), the folder measured as it is. The
budget is per platform and only set where a build was measured: Linux 331 MiB before leaving out what the
app never loads (packaging/bundle_contents.py: BUNDLE_DROPS, STRIP_GLOBS), 249 MiB after; 273 MiB once
huggingface_hub 2's optional hf_xet and pydantic were swept in, 250 MiB after leaving them and other modules the
app never imports out. The budget leaves 6 MiB for growth, so a few hundred KiB of new code pass and a new large
dependency (or a hook sweeping one in) fails the build. Windows and macOS bundles are reported, not judged, until
a release run has measured them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BUDGET_MIB: dict[str, float] = {"linux": 256.0}
MIB = 1024 * 1024


def _size(path: Path) -> int:
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def parts(bundle: Path) -> list[tuple[str, int]]:
    """(name, bytes) for each launcher and each top-level entry of _internal (or Contents/ of a macOS .app)."""
    found = []
    for entry in sorted(bundle.iterdir()):
        children = sorted(entry.iterdir()) if entry.is_dir() and entry.name in {"_internal", "Contents"} else [entry]
        for child in children:
            name = str(child.relative_to(bundle))
            found.append((name, _size(child)))
    return sorted(found, key=lambda item: -item[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the one-folder build, e.g. dist/enclave")
    parser.add_argument("--budget-mib", type=float, help="override this platform's budget")
    parser.add_argument("--json", action="store_true", help="one JSON line instead of the table")
    args = parser.parse_args(argv)
    if not args.bundle.is_dir():
        print(f"{args.bundle} is not a folder: build the app first (pyinstaller packaging/enclave.spec).",
              file=sys.stderr)
        return 2
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    budget = args.budget_mib if args.budget_mib is not None else BUDGET_MIB.get(platform)
    listed = parts(args.bundle)
    total = sum(size for _, size in listed) / MIB
    if args.json:
        print(json.dumps({"bundle": str(args.bundle), "total_mib": round(total, 1), "budget_mib": budget,
                          "parts_mib": {name: round(size / MIB, 2) for name, size in listed[:20]}}))
    else:
        for name, size in listed[:15]:
            print(f"{size / MIB:8.1f} MiB  {name}")
        print(f"{total:8.1f} MiB  total ({platform}; budget {budget if budget is not None else 'not set'})")
    if budget is not None and total > budget:
        biggest = ", ".join(f"{name} {size / MIB:.1f}" for name, size in listed[:5])
        print(f"{args.bundle} is {total:.1f} MiB, over the {budget:g} MiB budget for {platform}; the biggest parts "
              f"(MiB): {biggest}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
