"""`enclave chat PACKAGE --prompt TEXT`: one chat turn on a package, streamed to stdout (thin CLI).

`enclave chat --remote URL --prompt TEXT` asks a remote engine instead (app.remote): documents are read here
and only the passages for the question are sent, to that endpoint only, which the organisation's policy must
list. Its token comes from `--token-file` (then kept in the OS keyring for that URL) or from the keyring.

The answer (harmony `final` channel) streams to stdout; `--show-reasoning` also streams the `analysis`
channel, under a header. `--json` ends the output with one JSON line of results and timings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("chat", help="chat with a model package from the command line",
                                   description="Send one message to a model package and stream the answer.")
    parser.add_argument("package", type=Path, nargs="?", default=None,
                        help="exported model package folder (or --remote URL)")
    remote = parser.add_argument_group("remote engine (a gpt-oss model served elsewhere)")
    remote.add_argument("--remote", metavar="URL", default=None,
                        help="https URL of an OpenAI-compatible API, e.g. https://gpt-oss.example.com/v1")
    remote.add_argument("--model", default=None, help="model id on the remote engine (default: the one it serves)")
    remote.add_argument("--ca-bundle", type=Path, default=None, metavar="PEM",
                        help="trust only these CA certificates for the remote engine (default: the system's)")
    remote.add_argument("--token-file", type=Path, default=None, metavar="FILE",
                        help="file holding the remote engine's token (it is then kept in the OS keyring)")
    remote.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds to wait for the remote engine (default: 300)")
    parser.add_argument("--prompt", required=True, help="the user's message")
    parser.add_argument("--attach", nargs="+", type=Path, default=[], metavar="FILE",
                        help="documents to answer from (PDF, DOCX, XLSX, PPTX, ODT, text, HTML, CSV, JSON, code, .eml)")
    parser.add_argument("--system", default=None, help="instructions for the assistant (developer message)")
    parser.add_argument("--reasoning", choices=("low", "medium", "high"), default="medium",
                        help="reasoning effort (default: medium)")
    parser.add_argument("--max-tokens", type=int, default=1024, help="most tokens to generate (default: 1024)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--min-p", type=float, default=0.0)
    parser.add_argument("--repetition-penalty", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None, help="sampling seed: same seed, same text")
    parser.add_argument("--show-reasoning", action="store_true", help="also print the model's reasoning")
    parser.add_argument("--ignore-eos", action="store_true", help="generate until --max-tokens (for timing)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of results")
    parser.add_argument("--provider", default=None, help="cpu, cuda or dml (default: the best available)")
    parser.add_argument("--context", type=int, default=None, help="KV cache length in tokens (default: 8192)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.engine.chat_request import ChatRequest, ChatSettings
    from app.engine.events import Channel
    from app.engine.sampling import SamplingParams

    if (args.package is None) == (args.remote is None):
        print("enclave chat: name a model package or give --remote URL (one of them).", file=sys.stderr)
        return 2
    try:
        settings = ChatSettings(
            system_prompt=args.system or "", reasoning_effort=args.reasoning, max_new_tokens=args.max_tokens,
            sampling=SamplingParams(temperature=args.temperature, top_p=args.top_p, top_k=args.top_k,
                                    min_p=args.min_p, repetition_penalty=args.repetition_penalty, seed=args.seed))
    except ValueError as exc:
        print(f"enclave chat: {exc}", file=sys.stderr)
        return 2
    assistant = _open_remote(args) if args.remote else _open_package(args)
    if assistant is None:
        return 1
    request = ChatRequest(history=(), user_text=args.prompt, settings=settings,
                          documents=tuple(_read_attachments(args.attach)), ignore_eos=args.ignore_eos)
    shown = {Channel.FINAL, Channel.COMMENTARY} | ({Channel.ANALYSIS} if args.show_reasoning else set())
    current = None
    last = None
    citations: tuple = ()
    answer_parts: list[str] = []
    reasoning_parts: list[str] = []
    for event in assistant.reply(request):
        last = event
        citations = event.citations or citations
        if event.text:
            (reasoning_parts if event.channel is Channel.ANALYSIS else answer_parts).append(event.text)
        if event.text and event.channel in shown:
            if args.show_reasoning and event.channel is not current:
                sys.stdout.write(f"\n[{event.channel.value}]\n")
                current = event.channel
            sys.stdout.write(event.text)
            sys.stdout.flush()
    sys.stdout.write("\n")
    if last is not None and last.error:
        print(f"enclave chat: {last.error}", file=sys.stderr)
    answer, reasoning = "".join(answer_parts), "".join(reasoning_parts)
    assistant.close()
    cited = _print_sources(answer, citations) if request.documents else []
    if args.json:
        print(json.dumps({
            "text": answer,
            "reasoning": reasoning,
            "prompt_tokens": last.prompt_tokens if last else 0,
            "new_tokens": last.new_tokens if last else 0,
            "ttft_s": last.ttft_s if last else None,
            "decode_tok_s": last.decode_tok_s if last else None,
            "stop_reason": last.finish_reason.value if last and last.finish_reason else None,
            "provider": assistant.info.provider,
            "citations": [c.label for c in citations],
            "cited": [c.label for c in cited],
        }, ensure_ascii=False))
    return 1 if last is None or last.error else 0


def _open_package(args: argparse.Namespace):  # noqa: ANN202 - an Assistant, imported lazily
    from app.engine.assistant import Assistant
    from app.engine.session import LoadError, load_model
    from app.library.errors import LibraryError
    from app.library.opening import checkpoint_sentence, prepare_open

    try:  # opening is verifying: hashes on first open, sizes and times after that
        decision = prepare_open(args.package, hash_checkpoints=False)
    except LibraryError as exc:
        print(f"enclave chat: {exc}", file=sys.stderr)
        return None
    if decision.needs_conversion:
        print(f"enclave chat: {checkpoint_sentence(decision.folder)}", file=sys.stderr)
        return None
    from app.library.library import Library

    try:
        Library().mark_used(decision.loadable)  # "last used" in `enclave models list`
    except LibraryError:
        pass  # an unreadable registry never stops a chat; `enclave models list` names the problem
    if decision.package_for_checkpoint is not None:
        print(f"enclave chat: note: using {decision.package_for_checkpoint}, converted from this checkpoint.",
              file=sys.stderr)
    try:
        model = load_model(decision.loadable, provider=args.provider, max_length=args.context)
    except LoadError as exc:
        print(f"enclave chat: {exc}", file=sys.stderr)
        return None
    if model.provider.note:
        print(f"enclave chat: note: {model.provider.note}.", file=sys.stderr)
    return Assistant(model)


def _open_remote(args: argparse.Namespace):  # noqa: ANN202 - a RemoteAssistant, imported lazily
    from app.remote.assistant import RemoteAssistant
    from app.remote.endpoint import DEFAULT_TIMEOUT_S, RemoteEndpoint, RemoteError
    from app.storage.secrets import SecretStoreError

    try:
        endpoint = RemoteEndpoint.parse(args.remote, model=args.model, ca_bundle=args.ca_bundle,
                                        timeout_s=args.timeout if args.timeout is not None else DEFAULT_TIMEOUT_S)
        endpoint.check_allowed(_policy())
        token = _remote_token(endpoint, args.token_file)
        assistant = RemoteAssistant.connect(endpoint, token, policy=_policy())
    except (RemoteError, SecretStoreError, OSError) as exc:
        print(f"enclave chat: {exc}", file=sys.stderr)
        return None
    print(f"enclave chat: {assistant.info.provider_reason}", file=sys.stderr)
    return assistant


def _policy():  # noqa: ANN202
    from app.policy import current_policy

    return current_policy()


def _remote_token(endpoint, token_file: Path | None) -> str | None:  # noqa: ANN001 - a RemoteEndpoint
    """The token from --token-file (kept in the keyring from then on), else the keyring's, else none."""
    if token_file is None:
        return endpoint.stored_token()
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise OSError(f"could not read the token file {token_file} ({getattr(exc, 'strerror', None) or exc}).") from exc
    if not token or any(ch.isspace() or ord(ch) < 32 for ch in token):
        raise OSError(f"the token file {token_file} must hold one token on one line.")
    if endpoint.store_token(token):
        print(f"enclave chat: the token for {endpoint.url} is now kept in the OS keyring.", file=sys.stderr)
    return token


def _read_attachments(paths: list[Path]) -> list:
    """Reads each file in the sandbox; a file that can't be read is reported and left out, the chat goes on."""
    from app.documents.model import ExtractionError
    from app.documents.sandbox import extract_document
    from app.policy import current_policy
    from app.storage.settings import AppSettings, document_limits_in_force

    # the limits the user set in the app, with the organisation's largest document where its policy sets one
    limits = document_limits_in_force(AppSettings.load(), current_policy()) if paths else None
    documents = []
    for path in paths:
        try:
            document = extract_document(path, limits, follow_picked_link=True)  # typed by the user
        except ExtractionError as exc:
            print(f"enclave chat: {exc.user_message}", file=sys.stderr)
            continue
        for warning in document.warnings:  # e.g. cut at the text limit, or a link and the file it led to
            print(f"enclave chat: {document.name}: {warning}", file=sys.stderr)
        documents.append(document)
    return documents


def _print_sources(answer: str, citations: tuple) -> list:
    """Prints the passages the answer cites ([n] markers), or, if it cites none, those it was given."""
    from app.documents.grounding import citations_used

    cited = citations_used(answer, citations)
    shown = cited or list(citations)
    if shown:
        print("Sources cited:" if cited else "Sources given to the model (none cited):")
        for c in shown:
            print(f"  [{c.marker}] {c.label}")
    return cited
