"""`enclave harmony render|parse`: check our harmony renderer and parser against openai-harmony by hand.

`render CONVERSATION.json` reads a conversation in openai-harmony's JSON form (`Conversation.to_json()`) and
prints its token ids as one JSON array; `parse --tokens IDS.json` prints the messages those ids hold, in the
same JSON form. Problems the parser recovered from go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("harmony", help="render or parse the harmony chat format (token ids as JSON)")
    actions = parser.add_subparsers(dest="harmony_action", metavar="ACTION", required=True)

    render = actions.add_parser("render", help="conversation JSON -> token ids")
    render.add_argument("conversation", type=Path, help="conversation in openai-harmony's JSON form")
    render.add_argument("--for-completion", action="store_true", help="append <|start|>assistant")
    render.add_argument("--keep-analysis", action="store_true", help="turn off openai-harmony's auto_drop_analysis")
    _add_tokenizer_option(render)
    render.set_defaults(func=_render)

    parse = actions.add_parser("parse", help="token ids JSON -> messages JSON")
    parse.add_argument("--tokens", type=Path, required=True, help="file with a JSON array of token ids")
    parse.add_argument("--role", choices=["none", "assistant", "user", "system", "developer", "tool"],
                       default="none", help="role of a message whose <|start|>role was not in the ids")
    _add_tokenizer_option(parse)
    parse.set_defaults(func=_parse)


def _add_tokenizer_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokenizer", type=Path, default=None,
                        help="tokenizer.json or package folder (default: the rebuilt o200k_harmony tokenizer)")


def _read_json(path: Path, what: str) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"Cannot read {what} {path}: {exc.strerror}.") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what.capitalize()} {path} is not valid JSON: {exc}.") from exc


def _render(args: argparse.Namespace) -> int:
    from app.engine.harmony import Conversation, render_conversation, render_conversation_for_completion
    from app.engine.harmony.codec import load_codec

    try:
        raw = _read_json(args.conversation, "conversation")
        conversation = Conversation.from_dict(raw)  # type: ignore[arg-type]
        codec = load_codec(args.tokenizer)
        auto_drop = not args.keep_analysis
        if args.for_completion:
            ids = render_conversation_for_completion(codec, conversation.messages, auto_drop_analysis=auto_drop)
        else:
            ids = render_conversation(codec, conversation.messages, auto_drop_analysis=auto_drop)
    except (ValueError, FileNotFoundError) as exc:
        print(f"enclave harmony render: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(ids))
    return 0


def _parse(args: argparse.Namespace) -> int:
    from app.engine.harmony import Role, parse_parsed_messages
    from app.engine.harmony.codec import load_codec

    try:
        ids = _read_json(args.tokens, "token file")
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ValueError(f"Token file {args.tokens} must hold one JSON array of integers.")
        codec = load_codec(args.tokenizer)
    except (ValueError, FileNotFoundError) as exc:
        print(f"enclave harmony parse: {exc}", file=sys.stderr)
        return 1
    role = None if args.role == "none" else Role(args.role)
    parsed = parse_parsed_messages(codec, ids, role=role)
    for index, item in enumerate(parsed):
        for problem in item.problems:
            print(f"enclave harmony parse: message {index}: {problem}", file=sys.stderr)
    print(json.dumps([p.message.to_dict() for p in parsed], ensure_ascii=False))
    return 0
