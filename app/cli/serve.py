"""`enclave serve [PACKAGE] [--port P]`: the OpenAI-compatible API on 127.0.0.1 (thin CLI; the work is in app.serve).

Prints where it listens and the token (or where it wrote it), then one line per finished request; Ctrl+C stops.
Without PACKAGE it serves the model the desktop app opened last.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from app.serve.server import DEFAULT_PORT

    parser = subparsers.add_parser(
        "serve", help="serve a model with an OpenAI-compatible API on 127.0.0.1",
        description="Serve a model package to programs on this computer: an OpenAI-compatible API "
                    "(/v1/models, /v1/chat/completions) on 127.0.0.1 only, with a bearer token.")
    parser.add_argument("package", type=Path, nargs="?", default=None,
                        help="model package folder (default: the model the app opened last)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port on 127.0.0.1 (default: {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--token-file", type=Path, default=None, metavar="FILE",
                        help="write the API token to FILE (readable by you only) instead of printing it")
    parser.add_argument("--new-token", action="store_true",
                        help="make a new token (the old one stops working) and keep it in the OS keyring")
    parser.add_argument("--tls-cert", type=Path, default=None, metavar="PEM",
                        help="serve https with this certificate chain (needs --tls-key)")
    parser.add_argument("--tls-key", type=Path, default=None, metavar="PEM", help="the certificate's private key")
    parser.add_argument("--provider", default=None, help="cpu, cuda or dml (default: the best available)")
    parser.add_argument("--context", type=int, default=None, help="KV cache length in tokens (default: 8192)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.policy import current_policy
    from app.serve.api import ChatApi
    from app.serve.engine_queue import EngineThread
    from app.serve.server import LocalServer, ServerError, TlsFiles
    from app.serve.token import TokenFileError, server_token, write_token_file
    from app.storage.secrets import SecretStoreError

    def fail(message: str, code: int = 1) -> int:
        print(f"enclave serve: {message}", file=sys.stderr)
        return code

    policy = current_policy()
    if not policy.server_allowed:
        return fail(f"your organisation's policy ({policy.source}) does not allow the local API server "
                    "(ServerAllowed is off).")
    if (args.tls_cert is None) != (args.tls_key is None):
        return fail("--tls-cert and --tls-key go together.", 2)
    if not 0 <= args.port <= 65535:
        return fail(f"--port must be between 0 and 65535, not {args.port}.", 2)
    package = args.package or _last_model()
    if package is None:
        return fail("name a model package to serve (no model was opened in the app yet).", 2)
    try:
        token = server_token(renew=args.new_token)
        if args.token_file is not None:
            write_token_file(args.token_file, token)
    except (SecretStoreError, TokenFileError) as exc:
        return fail(str(exc))

    from app.engine.assistant import Assistant
    from app.engine.session import LoadError, load_model

    try:
        model = load_model(package, provider=args.provider, max_length=args.context)
    except LoadError as exc:
        return fail(str(exc))
    if model.provider.note:
        print(f"enclave serve: note: {model.provider.note}.", file=sys.stderr)
    engine = EngineThread(Assistant(model))
    api = ChatApi(engine, token, on_request=lambda record: print(record.describe(), flush=True))
    tls = TlsFiles(args.tls_cert, args.tls_key) if args.tls_cert else None
    server = LocalServer(api, args.port, tls=tls)
    try:
        server.start()
    except ServerError as exc:
        engine.close()
        return fail(str(exc))
    info = model.info

    def announce() -> None:
        print(f"Serving {info.name} ({info.provider.removesuffix('ExecutionProvider')}, {info.context_length} "
              f"tokens of context) at {server.url}", flush=True)
        if args.token_file is not None:
            print(f"API token ({token.describe()}) written to {args.token_file}", flush=True)
        else:
            print(f"API token ({token.describe()}): {token.value}", flush=True)
        print("Only programs on this computer can connect. Press Ctrl+C to stop.", flush=True)

    server.serve_forever(on_ready=announce)
    engine.close()
    print("Stopped.", flush=True)
    return 0


def _last_model() -> Path | None:
    from app.storage.settings import AppSettings

    last = AppSettings.load().last_model
    return Path(last) if last else None
