"""Entry point of the `enclave` command.

Each subcommand lives in its own module in this package and exposes `register(subparsers)`, which adds
its parser and sets `func` (a callable taking the parsed namespace and returning an exit code). Modules are
imported lazily so that `enclave --help` stays fast and a broken optional dependency of one command
cannot take down the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SANDBOX_FLAG = "--enclave-document-sandbox"  # app.documents.sandbox.SANDBOX_FLAG (kept import-free here)

# Subcommand name -> module in app.cli that registers it.
SUBCOMMANDS: dict[str, str] = {
    "make-test-model": "app.cli.make_test_model",
    "export": "app.cli.export",
    "verify": "app.cli.verify",
    "prepare": "app.cli.prepare",
    "chat": "app.cli.chat",
    "serve": "app.cli.serve",
    "bench": "app.cli.bench",
    "bench-api": "app.cli.bench_api",
    "harmony": "app.cli.harmony",
    "extract": "app.cli.extract",
    "gui": "app.cli.gui",
    "policy": "app.cli.policy",
    "models": "app.cli.models",
    "doctor": "app.cli.doctor",
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """Builds the parser, importing only the subcommand that argv names (all of them for --help)."""
    parser = argparse.ArgumentParser(prog="enclave", description="Private, local chat with gpt-oss.")
    from app import __version__

    parser.add_argument("--version", action="version", version=f"enclave {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    names = [wanted] if wanted in SUBCOMMANDS else list(SUBCOMMANDS)
    for name in names:
        module = importlib.import_module(SUBCOMMANDS[name])
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the `enclave` command; with no arguments it opens the desktop app."""
    from app.netguard import install

    install()  # before any library can open a socket; only a download or server the user starts opens a scope
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == [SANDBOX_FLAG]:
        # A frozen build has no `python -m`: the document sandbox re-runs this executable with this flag.
        from app.documents.sandbox import main as sandbox_main

        sys.argv = [sys.argv[0], *args_list[1:]]
        sandbox_main()
        return 0
    from app.tempdirs import sweep_stale

    sweep_stale()  # temporary folders of an Enclave run that was killed (histories, parser scratch space)
    if not args_list:
        args_list = ["gui"]
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
