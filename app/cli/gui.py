"""`enclave gui [MODEL]` opens the desktop app; `--smoke` drives it headlessly end to end for CI and packaging."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gui", help="open the desktop app (the default with no command)")
    parser.add_argument("model", nargs="?", help="model folder to open at start (default: the last one)")
    parser.add_argument("--smoke", metavar="PACKAGE",
                        help="headless check: open PACKAGE, send --prompt, wait for the reply, save --screenshot")
    parser.add_argument("--prompt", default="Say hello.", help="prompt for --smoke")
    parser.add_argument("--screenshot", type=Path, default=Path("enclave-smoke.png"), help="PNG path for --smoke")
    parser.add_argument("--reasoning", choices=("low", "medium", "high"), default="low")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds --smoke waits for the reply")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.ui.application import run_gui, run_smoke  # Qt is imported only when the GUI is wanted

    if args.smoke:
        return run_smoke(args.smoke, args.prompt, args.screenshot, timeout_s=args.timeout,
                         reasoning=args.reasoning, max_tokens=args.max_tokens)
    return run_gui(args.model)
