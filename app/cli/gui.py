"""`enclave gui [MODEL]` opens the desktop app; `--smoke` drives it headlessly end to end for CI and packaging."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

# Qt platforms that draw into a window system, and the variable that says where that window system is.
# (offscreen, minimal, vnc, eglfs, linuxfb need none; Windows and macOS always have their own.)
_WINDOW_SYSTEMS = {"xcb": ("DISPLAY",), "wayland": ("WAYLAND_DISPLAY",), "": ("DISPLAY", "WAYLAND_DISPLAY")}


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
    parser.add_argument("--attach", type=Path, action="append", default=[], metavar="FILE",
                        help="for --smoke: attach FILE to the chat before sending (repeatable)")
    parser.set_defaults(func=_run)


def missing_display(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> str | None:
    """Why the window cannot open here, in one sentence, or None. Checked before Qt starts: without a display
    Qt's xcb plugin aborts the process (rc 134) with a message that blames its own libraries."""
    if not platform.startswith("linux"):
        return None
    requested = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    kind = "wayland" if requested.startswith("wayland") else requested
    if kind not in _WINDOW_SYSTEMS:
        return None
    names = _WINDOW_SYSTEMS[kind]
    if any(environ.get(name) for name in names):
        return None
    return (f"Enclave's window needs a graphical desktop, but {' and '.join(names)} "
            f"{'is' if len(names) == 1 else 'are'} not set: start it from a desktop session "
            "(for a check without a screen, set QT_QPA_PLATFORM=offscreen).")


def _run(args: argparse.Namespace) -> int:
    problem = missing_display()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if args.attach and not args.smoke:
        print("--attach is for --smoke runs; in the window, attach documents with the paper clip.", file=sys.stderr)
        return 2
    missing = next((path for path in args.attach if not path.is_file()), None)
    if missing is not None:
        print(f"Cannot attach {missing}: there is no such file.", file=sys.stderr)
        return 2
    from app.ui.application import run_gui, run_smoke  # Qt is imported only when the GUI is wanted

    if args.smoke:
        return run_smoke(args.smoke, args.prompt, args.screenshot, timeout_s=args.timeout,
                         reasoning=args.reasoning, max_tokens=args.max_tokens, attach=tuple(args.attach))
    return run_gui(args.model)
