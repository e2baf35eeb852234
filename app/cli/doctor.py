"""`enclave doctor [--json]`: what a security officer asks, answered from this computer.

Versions; where each kind of data lives and whether it is encrypted; the keyring backend; the encryption and key
derivation in force (with the time one derivation takes here); the network guard's state and what it cannot see;
the telemetry switches; the organisation's policy. Nothing is unlocked: the history file is only inspected
read-only (its key settings, never its contents), and onnxruntime is not imported.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sqlite3
import tempfile
import time
from pathlib import Path

PACKAGES = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "PySide6-Essentials", "cryptography",
            "keyring", "tokenizers", "huggingface_hub", "pypdf")
GUARD_BLIND_SPOT = ("native code that opens sockets without Python (ONNX Runtime's own telemetry, Rust HTTP "
                    "clients, Qt networking) is not seen by the guard; Enclave switches those off where they start "
                    "and tests the app under strace")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("doctor", help="versions, data locations, encryption, network guard, policy",
                                   description="Print what a security officer needs to check this installation.")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    parser.set_defaults(func=_run)


def report() -> dict[str, object]:
    from app import __version__

    return {
        "enclave": __version__,
        "python": platform.python_version(),
        "os": platform.platform(),
        "packages": _versions(),
        "data": _data_locations(),
        "encryption": _encryption(),
        "network": _network(),
        "policy": _policy(),
    }


def _versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    found["sqlite"] = sqlite3.sqlite_version
    return found


def _data_locations() -> dict[str, object]:
    import platformdirs

    from app.storage import default_database_path
    from app.storage.settings import default_settings_path

    history = default_database_path()
    temp = Path(tempfile.gettempdir())
    return {
        "history": {"path": str(history), **_history_file(history)},
        "settings": {"path": str(default_settings_path()),
                     "holds": "theme, last model folder, defaults for new chats, document limits (plain JSON, no "
                              "conversation text)"},
        # app.ui.backend.packages_folder (not imported here: it loads the engine)
        "models": {"path": str(Path(platformdirs.user_data_dir("Enclave", "Enclave")) / "models"),
                   "holds": "converted model packages (not encrypted: public weights)"},
        "temporary": {"path": str(temp), "enclave_folders_now": sorted(
            p.name for p in temp.glob("enclave-*") if p.is_dir()),
            "holds": "throwaway histories and document-reader scratch space, removed at exit and at the next start"},
    }


def _history_file(path: Path) -> dict[str, object]:
    from app.storage import StorageError, schema
    from app.storage.keys import describe_key

    if not path.exists():
        return {"exists": False}
    try:
        meta = schema.inspect_database(path)  # read-only; nothing is decrypted
    except StorageError as exc:
        return {"exists": True, "problem": str(exc)}
    if meta is None:
        return {"exists": True, "empty": True}
    files = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
    return {"exists": True, "bytes": sum(p.stat().st_size for p in files), "schema": meta.get("schema_version"),
            "key": describe_key(meta)}


def _encryption() -> dict[str, object]:
    from app.storage import kdf
    from app.storage.keys import keyring_backend_name

    started = time.perf_counter()
    kdf.derive("doctor measures one derivation", os.urandom(kdf.SALT_BYTES), kdf.CURRENT)
    seconds = time.perf_counter() - started
    return {
        "values": "AES-256-GCM, a random 96-bit nonce per value, bound to its table, column and row",
        "history_key": "random 256-bit key in the OS keyring; where there is none, wrapped by a passphrase",
        "keyring_backend": keyring_backend_name(),
        "passphrase_kdf": {"name": "argon2id", "memory_kib": kdf.CURRENT.memory_kib,
                           "iterations": kdf.CURRENT.iterations, "lanes": kdf.CURRENT.lanes,
                           "seconds_here": round(seconds, 3),
                           "standard": "RFC 9106 second recommended setting; OWASP asks at least 19 MiB, 2 passes"},
        "passphrase_minimum": "12 characters, not mostly a common word, repetition or keyboard run",
    }


def _network() -> dict[str, object]:
    from app import netguard
    from app.offline_env import OFFLINE_ENVIRONMENT

    state = netguard.state()
    return {"guard": state.describe(), "installed": state.installed, "scopes": list(state.scopes),
            "refused": state.blocked, "recent_refusals": list(state.recent_blocked),
            "telemetry_switches": {name: os.environ.get(name) for name in OFFLINE_ENVIRONMENT},
            "not_seen_by_the_guard": GUARD_BLIND_SPOT}


def _policy() -> dict[str, object]:
    from app.cli.policy import policy_report
    from app.policy import current_policy

    return policy_report(current_policy())


def lines(data: dict[str, object]) -> list[str]:
    out = [f"Enclave {data['enclave']} on {data['os']} (Python {data['python']})",
           "Versions: " + ", ".join(f"{k} {v}" for k, v in data["packages"].items()), "", "Data"]
    for kind, info in data["data"].items():
        extra = ""
        if kind == "history":
            extra = _history_summary(info)
        elif "holds" in info:
            extra = info["holds"]
        out.append(f"  {kind:<10} {info['path']}" + (f"  ({extra})" if extra else ""))
    enc = data["encryption"]
    kdf = enc["passphrase_kdf"]
    out += ["", "Encryption",
            f"  values     {enc['values']}",
            f"  key        {enc['history_key']}",
            f"  keyring    {enc['keyring_backend']}",
            f"  passphrase Argon2id {kdf['memory_kib'] // 1024} MiB, {kdf['iterations']} passes, {kdf['lanes']} "
            f"lanes: {kdf['seconds_here']:.2f} s per unlock here ({kdf['standard']}); minimum "
            f"{enc['passphrase_minimum']}"]
    net = data["network"]
    switches = ", ".join(f"{k}={v if v is not None else '(unset)'}" for k, v in net["telemetry_switches"].items())
    out += ["", "Network",
            f"  guard      {net['guard']} ({net['refused']} operations refused in this process)",
            f"  telemetry  {switches}",
            f"  blind spot {net['not_seen_by_the_guard']}", "", "Policy"]
    from app.policy import current_policy
    from app.cli.policy import policy_lines

    out += ["  " + line for line in policy_lines(current_policy())]
    return out


def _history_summary(info: dict[str, object]) -> str:
    if not info.get("exists"):
        return "not created yet"
    if "problem" in info:
        return str(info["problem"])
    if info.get("empty"):
        return "empty file"
    key = info["key"]
    where = (f"key in the OS keyring as {key['entry']}" if key.get("mode") == "keyring" else
             "key wrapped by a passphrase, " + ", ".join(f"{k} {v}" for k, v in key.items() if k != "mode"))
    return f"{info['bytes']:,} bytes, schema {info['schema']}, encrypted; {where}"


def _run(args: argparse.Namespace) -> int:
    data = report()
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print("\n".join(lines(data)))
    return 0
