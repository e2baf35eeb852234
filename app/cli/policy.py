"""`enclave policy show | check FILE | templates OUT`: the organisation's policy, as a security officer checks it.

`show` prints every key with the value in force, whether the organisation set it, and where the policy was read
from; `check` reads a policy file the way Enclave would and exits 1 if anything in it is not applied as written;
`templates` writes the ADMX/ADML and the example .mobileconfig generated from the schema.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("policy", help="the enterprise policy in force, and its templates",
                                   description="Show or check the machine policy, or write its admin templates.")
    actions = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the policy in force and where it comes from")
    show.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    show.set_defaults(func=_show)
    check = actions.add_parser("check", help="read a policy file as Enclave would; exit 1 on any problem")
    check.add_argument("file", type=Path, help="a policy.json (Linux) or managed-preferences .plist (macOS)")
    check.set_defaults(func=_check)
    templates = actions.add_parser("templates", help="write enclave.admx, en-US/enclave.adml, enclave.mobileconfig")
    templates.add_argument("out", type=Path, help="folder to write them into")
    templates.set_defaults(func=_templates)


def policy_report(policy) -> dict[str, object]:  # noqa: ANN001 - app.policy.Policy
    """The policy as JSON-ready data (also used by `enclave doctor`)."""
    from app.policy.policy import format_value

    return {
        "source": policy.source,
        "keys": {key.name: {"value": _json_value(value), "managed": managed, "shown": format_value(key, value)}
                 for key, value, managed in policy.key_values()},
        "problems": list(policy.problems),
    }


def policy_lines(policy) -> list[str]:  # noqa: ANN001
    from app.policy.policy import format_value

    lines = [f"Policy source: {policy.source}"]
    width = max(len(key.name) for key, _, _ in policy.key_values())
    for key, value, managed in policy.key_values():
        mark = "managed" if managed else "default"
        lines.append(f"  {key.name:<{width}}  {mark:<7}  {format_value(key, value)}")
    lines += [f"Problem: {problem}" for problem in policy.problems]
    return lines


def _json_value(value: object) -> object:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _show(args: argparse.Namespace) -> int:
    from app.policy import current_policy

    policy = current_policy()
    if args.json:
        print(json.dumps(policy_report(policy), indent=2, ensure_ascii=False))
    else:
        print("\n".join(policy_lines(policy)))
    return 0


def _check(args: argparse.Namespace) -> int:
    from app.policy.policy import build_policy
    from app.policy.sources import read_policy_file

    if not args.file.is_file():
        print(f"enclave policy: {args.file} is not a file.", file=sys.stderr)
        return 2
    policy = build_policy(read_policy_file(args.file, check_owner=False))
    print("\n".join(policy_lines(policy)))
    return 1 if policy.problems else 0


def _templates(args: argparse.Namespace) -> int:
    from app.policy.templates import write_templates

    try:
        for path in write_templates(args.out):
            print(path)
    except OSError as exc:
        print(f"enclave policy: could not write the templates to {args.out} ({exc.strerror or exc}).",
              file=sys.stderr)
        return 1
    return 0
