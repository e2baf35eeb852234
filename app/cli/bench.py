"""`enclave bench`: not implemented yet (placeholder so the command table stays stable)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="(not implemented yet)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    print("enclave bench: not implemented yet")
    return 2
