"""Enclave's temporary folders: private, removed when the process exits, and swept at the next start if it was
killed. No Qt.

A temporary folder may hold a throwaway history (with its model settings), or whatever a document parser wrote
while reading a file, so none may outlive the run that made it. Each is named
`<temp>/enclave-<kind>-<pid>-<random>` and holds an `.owner` file with the creating process's id and start time;
`sweep_stale()` removes every such folder of this user whose owner is no longer running (a reused pid has another
start time). Folders from Enclave 0.1 (`enclave-session-*`, `enclave-smoke-*`, no owner file) are removed once
nothing in them has changed for an hour, since they cannot say whether their process still runs.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

PREFIX = "enclave-"
OWNER_FILE = ".owner"
LEGACY_QUIET_S = 3600.0
_NAME = re.compile(r"enclave-[a-z]+-(\d+)-")
_LEGACY = re.compile(r"enclave-(session|smoke)-[^-]+$")

_lock = threading.Lock()
_ours: list[Path] = []


def private_temp_dir(kind: str) -> Path:
    """A new folder only this user can read (0700), removed at exit; `kind` says what it is for ("session")."""
    if not re.fullmatch(r"[a-z]+", kind):
        raise ValueError(f"temporary folder kind must be lower-case letters, not {kind!r}")
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-"))
    (folder / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "started": _start_time(os.getpid())}),
                                     encoding="utf-8")
    with _lock:
        if not _ours:
            atexit.register(remove_all)
        _ours.append(folder)
    return folder


def remove_temp_dir(folder: Path) -> None:
    """Removes one of our folders now (e.g. the sandbox's, once the child has exited)."""
    with _lock:
        if folder in _ours:
            _ours.remove(folder)
    shutil.rmtree(folder, ignore_errors=True)


def remove_all() -> None:
    """Every folder this process made (runs at exit)."""
    with _lock:
        folders, _ours[:] = list(_ours), []
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def sweep_stale(root: Path | None = None, *, now: float | None = None) -> list[Path]:
    """Removes this user's Enclave temporary folders whose process is gone; returns what it removed."""
    root = Path(tempfile.gettempdir()) if root is None else root
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(PREFIX) or not _is_own_folder(entry):
            continue
        folder = Path(entry.path)
        if _owner_gone(folder) or _legacy_and_quiet(folder, now):
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(folder)
    return removed


def _is_own_folder(entry: os.DirEntry) -> bool:
    try:
        if not entry.is_dir(follow_symlinks=False):
            return False
        return not hasattr(os, "getuid") or entry.stat(follow_symlinks=False).st_uid == os.getuid()
    except OSError:
        return False


def _owner_gone(folder: Path) -> bool:
    match = _NAME.match(folder.name)
    if match is None:
        return False
    pid = int(match.group(1))
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        started = float(owner["started"]) if int(owner["pid"]) == pid else None
    except (OSError, ValueError, KeyError, TypeError):
        started = None  # no readable owner file (being created this instant, or damaged): judge by the pid alone
    current = _start_time(pid)
    if current is None:
        return True
    if current == 0.0 or started is None:
        return False
    return abs(current - started) > 1.0  # the pid now belongs to another process


def _legacy_and_quiet(folder: Path, now: float) -> bool:
    if _LEGACY.match(folder.name) is None:
        return False
    try:
        newest = max([folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.rglob("*"))])
    except OSError:
        return False
    return now - newest > LEGACY_QUIET_S


def _start_time(pid: int) -> float | None:
    """When process `pid` started, or None when no such process runs (0.0 when the OS won't say: alive)."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return None
    except (psutil.AccessDenied, psutil.ZombieProcess):
        return 0.0
