"""`enclave models list | download | import | verify | remove | login | logout`: the model library (thin CLI).

Progress goes to stderr (bytes, speed, time left); `--json` prints one JSON document on stdout. Ctrl+C cancels
a download or an import and keeps what was fetched: the same command resumes it.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

TARGET_CHOICES = ("auto", "cpu", "cpu-int4", "cuda", "dml", "none")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="download, import, verify and remove models",
                                   description="The model library: the models installed on this computer.")
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="installed models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)

    p = sub.add_parser("download", help="download a model once (the only time Enclave goes online)")
    p.add_argument("model", metavar="ID_OR_REPO", help="a catalog id (gpt-oss-20b, gpt-oss-120b) or a Hub repo org/name")
    p.add_argument("--revision", default=None, help="branch, tag or commit (default: the catalog's pinned commit, "
                   "else main)")
    p.add_argument("--target", choices=TARGET_CHOICES, default="auto",
                   help="convert after downloading (default: auto = the best target for this computer; none = keep "
                        "the checkpoint only)")
    p.add_argument("--endpoint", default=None, help="Hub mirror URL (default: settings, then HF_ENDPOINT)")
    p.add_argument("--proxy", default=None, help="proxy URL (default: settings, then HTTPS_PROXY)")
    _common(p)
    p.set_defaults(func=_download)

    p = sub.add_parser("import", help="add a model folder from a USB drive or a network share")
    p.add_argument("folder", type=Path)
    p.add_argument("--in-place", action="store_true", help="use the folder where it is instead of copying it")
    p.add_argument("--target", choices=TARGET_CHOICES, default="auto",
                   help="convert a checkpoint after checking it (default: auto; none = keep the checkpoint only)")
    _common(p)
    p.set_defaults(func=_import)

    p = sub.add_parser("verify", help="read every byte of installed models again and check their hashes")
    p.add_argument("name", nargs="?", help="one model (default: all)")
    _common(p)
    p.set_defaults(func=_verify)

    p = sub.add_parser("remove", help="remove a model from the library (and its files, unless used in place)")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_remove)

    p = sub.add_parser("login", help="save a Hugging Face access token in the OS keyring (read from stdin)")
    p.set_defaults(func=_login)
    p = sub.add_parser("logout", help="delete the saved access token")
    p.set_defaults(func=_logout)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


class _Printer:
    """Progress lines on stderr, at most one a second (and the last one)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._last = 0.0

    def __call__(self, progress) -> None:
        now = time.monotonic()
        if self.quiet or (now - self._last < 1.0 and progress.done < progress.total):
            return
        self._last = now
        print(progress.describe(), file=sys.stderr, flush=True)


def _entry_json(entry) -> dict:
    return {"name": entry.name, "kind": entry.kind, "folder": entry.folder, "in_place": entry.in_place,
            "source": entry.source, "revision": entry.revision, "target": entry.target,
            "size_bytes": entry.size_bytes, "verified": entry.verified, "verified_against": entry.verified_against,
            "verified_utc": entry.verified_utc, "problem": entry.problem, "added_utc": entry.added_utc,
            "last_used_utc": entry.last_used_utc}


def _fail(args: argparse.Namespace, message: str, code: int = 1) -> int:
    print(f"enclave models: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "error": message}))
    return code


def _library():
    from app.library.library import Library

    return Library()


def _target(choice: str, checkpoint_bytes: int) -> str | None:
    if choice == "none":
        return None
    if choice != "auto":
        return choice
    import onnxruntime as ort
    import psutil

    from app.model_folder import recommend_target

    return recommend_target(ort.get_available_providers(), psutil.virtual_memory().total, checkpoint_bytes)


def _run_job(args: argparse.Namespace, job) -> int:
    """Runs `job(progress, cancel)`; Ctrl+C sets the cancel event (the job stops at the next piece)."""
    from app.library.errors import Cancelled, LibraryError

    cancel = threading.Event()
    try:
        result = job(_Printer(args.quiet), cancel)
    except KeyboardInterrupt:
        return _fail(args, "cancelled; what was already fetched is kept, run the same command to resume.", 130)
    except Cancelled:
        return _fail(args, "cancelled; what was already fetched is kept, run the same command to resume.", 130)
    except LibraryError as exc:
        return _fail(args, str(exc))
    if args.json:
        print(json.dumps({"ok": True, **_entry_json(result)}, indent=2))
    else:
        print(f"{result.name}: {result.kind} in {result.folder} ({result.size_bytes / 1e9:.2f} GB), verified "
              f"against {result.verified_against}.")
    return 0


def _list(args: argparse.Namespace) -> int:
    from app.library.errors import LibraryError

    try:
        entries = _library().entries()
    except LibraryError as exc:
        return _fail(args, str(exc))
    if args.json:
        print(json.dumps([_entry_json(e) for e in entries], indent=2))
        return 0
    if not entries:
        print("No models yet: `enclave models download gpt-oss-20b`, or `enclave models import FOLDER`.")
        return 0
    for e in entries:
        where = "in place" if e.in_place else "in the library"
        target = f" {e.target}" if e.target else ""
        revision = f"@{e.revision[:12]}" if e.revision else ""
        print(f"{e.name}\t{e.kind}{target}\t{e.size_bytes / 1e9:.2f} GB\t{e.verified}\t{e.source}{revision}\t"
              f"{where}\tlast used {e.last_used_utc or 'never'}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from app.library.credentials import load_token
    from app.library.hub import resolve_access
    from app.library.errors import LibraryError
    from app.model_catalog import find_by_repo
    from app.library.download import parse_model_ref
    from app.storage.settings import AppSettings

    settings = AppSettings.load()
    try:
        access = resolve_access(args.endpoint or settings.hub_endpoint, args.proxy or settings.hub_proxy,
                                load_token())
        repo, model = parse_model_ref(args.model)
    except LibraryError as exc:
        return _fail(args, str(exc))
    estimate = model.checkpoint_bytes if model else (find_by_repo(repo).checkpoint_bytes if find_by_repo(repo) else 0)
    target = _target(args.target, estimate)
    return _run_job(args, lambda progress, cancel: _library().download(
        args.model, access, revision=args.revision, convert_to=target, progress=progress, cancel=cancel))


def _import(args: argparse.Namespace) -> int:
    from app.model_folder import NotAModelFolder, classify_model_folder

    try:
        needs_target = classify_model_folder(args.folder).needs_export
    except NotAModelFolder as exc:
        return _fail(args, str(exc))
    size = sum(p.stat().st_size for p in Path(args.folder).glob("*.safetensors")) if needs_target else 0
    target = _target(args.target, size) if needs_target else None
    return _run_job(args, lambda progress, cancel: _library().import_folder(
        args.folder, copy=not args.in_place, convert_to=target, progress=progress, cancel=cancel))


def _verify(args: argparse.Namespace) -> int:
    from app.library.errors import Cancelled, LibraryError

    try:
        library = _library()
        names = [args.name] if args.name else [e.name for e in library.entries()]
        if args.name:
            library.get(args.name)
    except LibraryError as exc:
        return _fail(args, str(exc))
    results, failed = [], 0
    for name in names:
        try:
            entry = library.verify(name, progress=_Printer(args.quiet))
            results.append({"name": name, "ok": True, "verified_against": entry.verified_against})
            if not args.json:
                print(f"{name}: OK (checked against {entry.verified_against}).")
        except (LibraryError, Cancelled, KeyboardInterrupt) as exc:
            failed += 1
            message = str(exc) if isinstance(exc, LibraryError) else "cancelled"
            results.append({"name": name, "ok": False, "error": message})
            print(f"enclave models: {name}: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0


def _remove(args: argparse.Namespace) -> int:
    from app.library.errors import LibraryError

    try:
        removed = _library().remove(args.name)
    except LibraryError as exc:
        return _fail(args, str(exc))
    except OSError as exc:
        return _fail(args, f"{args.name} could not be deleted completely ({exc.strerror or exc}).")
    if args.json:
        print(json.dumps({"ok": True, "name": args.name, "freed_bytes": removed.freed_bytes,
                          "folder": removed.entry.folder, "deleted": not removed.entry.in_place}))
    elif removed.entry.in_place:
        print(f"Removed {args.name} from the library; its folder {removed.entry.folder} was left as it is.")
    else:
        print(f"Removed {args.name}: {removed.freed_bytes / 1e9:.2f} GB freed.")
    return 0


def _login(args: argparse.Namespace) -> int:
    import getpass

    from app.library.credentials import save_token
    from app.library.errors import LibraryError

    token = getpass.getpass("Hugging Face access token: ") if sys.stdin.isatty() else sys.stdin.readline()
    try:
        save_token(token)
    except LibraryError as exc:
        return _fail(args, str(exc))
    print("Saved the access token in the OS keyring.")
    return 0


def _logout(args: argparse.Namespace) -> int:
    from app.library.credentials import forget_token
    from app.library.errors import LibraryError

    try:
        removed = forget_token()
    except LibraryError as exc:
        return _fail(args, str(exc))
    print("Deleted the saved access token." if removed else "No access token was saved.")
    return 0
