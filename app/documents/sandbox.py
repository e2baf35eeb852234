"""Runs parsers on untrusted files in a separate process with a wall-clock timeout and a memory cap.

Parser libraries have a long record of infinite loops and memory blow-ups on crafted files (pypdf alone has
dozens of advisories), and their own caps do not cover every path. So the app never parses in its own process:
each file is read by a fresh `python -m app.documents.sandbox` child, and the parent

* caps the child's address space with RLIMIT_AS on Linux (set by the child before any parser is imported), so
  a blow-up ends in MemoryError inside the child;
* watches the child's resident memory with psutil on every platform and kills it over the cap (the only cap on
  Windows and macOS, where RLIMIT_AS is not enforced; a Windows job object would be the stricter alternative);
* kills it at the deadline, or as soon as the caller's `cancel` event is set.

Why a plain subprocess rather than multiprocessing: a spawn-context child re-runs the caller's main module
(the GUI's, with Qt) and breaks when that module is not `__main__`-guarded. Why JSON rather than pickle: the
child handles hostile input, so the parent must not unpickle what it sends back.

Protocol: the parent writes one JSON request line to the child's stdin ({"target": "module:function",
"args": [...], "memory_mb": n, "sys_path": [...], "self_deadline_s": s}); the child answers with JSON lines on
its stdout: {"progress": [done, total]}*, then one of {"ok": value}, {"error": [kind, message]},
{"crash": text}. Library output is redirected to stderr so it cannot corrupt the protocol.

A frozen (PyInstaller) build has no `python -m`: its entry point must call `sandbox.main()` when it is started
with SANDBOX_FLAG as its first argument (see `sandbox_command`).

Cost: one Python start per file, about 0.1-0.3 s before parsing begins.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from app.documents.model import Document, DocumentLimits, ErrorKind, ExtractionError, ProgressFn, no_progress

SANDBOX_FLAG = "--enclave-document-sandbox"
POLL_S = 0.05  # how often the parent checks memory, cancellation and the deadline
PROGRESS_EVERY_S = 0.1
CHILD_GRACE_S = 10.0
EXIT_SELF_TIMEOUT = 3


# ----------------------------------------------------------------------------------------------- child side

def _limit_memory(memory_mb: int) -> None:
    if sys.platform.startswith("linux"):
        import resource

        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashing parser must not leave a core dump


def _resolve(target: str) -> Callable[..., Any]:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def main() -> None:
    """Entry point of the sandbox process: read one request, run it under the caps, write the reply."""
    from app.netguard import install

    install()  # parsers of hostile files get no network: no scope is ever opened in this process
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints from libraries go to stderr
    request = json.loads(sys.stdin.readline())
    for entry in reversed(request["sys_path"]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    last = [0.0]

    def send(message: dict) -> None:
        protocol.write(json.dumps(message) + "\n")
        protocol.flush()

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or done == total:
            last[0] = now
            send({"progress": [done, total]})

    # Backstop for an orphaned child (the app was killed mid-read): it ends itself a little after the deadline
    # the parent would have enforced.
    threading.Timer(request["self_deadline_s"], os._exit, (EXIT_SELF_TIMEOUT,)).start()
    try:
        _limit_memory(request["memory_mb"])
        reply: dict = {"ok": _resolve(request["target"])(*request["args"], progress)}
    except ExtractionError as exc:
        reply = {"error": [exc.kind.value, exc.user_message]}
    except MemoryError:
        reply = {"error": [ErrorKind.MEMORY.value, ""]}
    except Exception as exc:  # sent to the parent, which turns it into a message naming the file
        reply = {"crash": f"{type(exc).__name__}: {exc}"}
    try:
        send(reply)
    except MemoryError:
        send({"error": [ErrorKind.MEMORY.value, ""]})
    os._exit(0)  # do not wait for the backstop timer thread


def extract_job(path: str, limits: dict, progress: ProgressFn) -> dict:
    """The extraction request as the child runs it: plain values in, plain values out."""
    from app.documents.extract import extract_in_process

    return extract_in_process(path, DocumentLimits(**limits), progress).to_dict()


# ---------------------------------------------------------------------------------------------- parent side

def sandbox_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, SANDBOX_FLAG]
    return [sys.executable, "-m", "app.documents.sandbox"]


def _pump_lines(stream: BinaryIO, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)  # EOF: the child exited or closed its stdout


def _pump_tail(stream: BinaryIO, tail: list[bytes]) -> None:
    for chunk in iter(lambda: stream.read(1024), b""):
        tail.append(chunk)
        if len(tail) > 8:
            del tail[:-4]


def _memory_message(name: str, limits: DocumentLimits) -> str:
    return (f"{name} needs more than the {limits.memory_mb:,} MB memory limit to read; it may be malformed, or "
            "raise the limit in Settings.")


def _death_error(name: str, exitcode: int | None, stderr: str, limits: DocumentLimits) -> ExtractionError:
    """The child exited without replying: killed by the OOM killer, crashed in C code, or died of memory
    before it could even report MemoryError."""
    if exitcode == -9 or "MemoryError" in stderr:
        return ExtractionError(ErrorKind.MEMORY, _memory_message(name, limits))
    last = stderr.strip().splitlines()[-1:] or [""]
    return ExtractionError(ErrorKind.CRASHED, f"The reader for {name} stopped unexpectedly (exit code "
                                              f"{exitcode}{': ' + last[0][:200] if last[0] else ''}).")


def run_isolated(target: str, args: list, *, name: str, limits: DocumentLimits,
                 on_progress: ProgressFn = no_progress, cancel: threading.Event | None = None) -> Any:
    """Calls `module:function` as function(*args, progress) in a sandbox process and returns its JSON result.

    `name` is the file name used in error messages. Raises ExtractionError for every failure, including the
    child's death; never anything else.
    """
    import psutil  # parent-only: the child does not need it

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console window flashing up on Windows
    request = {"target": target, "args": args, "memory_mb": limits.memory_mb, "sys_path": sys.path,
               "self_deadline_s": limits.timeout_s + CHILD_GRACE_S}
    deadline = time.monotonic() + limits.timeout_s
    try:
        child = subprocess.Popen(sandbox_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env, creationflags=flags)
    except OSError as exc:
        raise ExtractionError(ErrorKind.CRASHED, f"The reader process for {name} could not start ({exc}).")
    lines: queue.Queue = queue.Queue()
    tail: list[bytes] = []
    pumps = [threading.Thread(target=_pump_lines, args=(child.stdout, lines), daemon=True),
             threading.Thread(target=_pump_tail, args=(child.stderr, tail), daemon=True)]
    for pump in pumps:
        pump.start()
    try:
        child.stdin.write((json.dumps(request) + "\n").encode())
        child.stdin.close()
        watched = psutil.Process(child.pid)
        cap = limits.memory_mb * 1024 * 1024
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ExtractionError(ErrorKind.TIMEOUT, f"Reading {name} took longer than the "
                                                         f"{limits.timeout_s:g} s limit and was stopped; the file "
                                                         "may be malformed, or raise the limit in Settings.")
            if cancel is not None and cancel.is_set():
                raise ExtractionError(ErrorKind.CANCELLED, f"Reading {name} was cancelled.")
            try:
                if watched.memory_info().rss > cap:
                    raise ExtractionError(ErrorKind.MEMORY, _memory_message(name, limits))
            except psutil.NoSuchProcess:
                pass  # it just exited; its reply (or EOF) is in the queue
            try:
                line = lines.get(timeout=min(remaining, POLL_S))
            except queue.Empty:
                continue
            if line is None:
                child.wait(timeout=10)
                pumps[1].join(timeout=2)
                raise _death_error(name, child.returncode, b"".join(tail).decode(errors="replace"), limits)
            message = json.loads(line)
            if "progress" in message:
                on_progress(*message["progress"])
            elif "ok" in message:
                return message["ok"]
            elif "error" in message:
                kind = ErrorKind(message["error"][0])
                text = message["error"][1] or _memory_message(name, limits)
                raise ExtractionError(kind, text)
            else:
                raise ExtractionError(ErrorKind.CRASHED, f"The reader for {name} failed ({message['crash']}).")
    except (BrokenPipeError, json.JSONDecodeError) as exc:
        raise ExtractionError(ErrorKind.CRASHED, f"The reader for {name} broke its protocol ({exc}).")
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
        for pump in pumps:  # they end at EOF, which the child's exit guarantees
            pump.join(timeout=5)
        for stream in (child.stdout, child.stderr):
            stream.close()


def extract_document(path: str | os.PathLike[str], limits: DocumentLimits = DocumentLimits(), *,
                     on_progress: ProgressFn = no_progress, cancel: threading.Event | None = None) -> Document:
    """Reads an untrusted file into a Document in a sandbox process. Raises only ExtractionError.

    Missing and oversized files are refused here from stat alone, without starting a process.
    """
    from dataclasses import asdict

    from app.documents.extract import check_file

    path = Path(path).absolute()
    check_file(path, limits)
    data = run_isolated("app.documents.sandbox:extract_job", [str(path), asdict(limits)], name=path.name, limits=limits,
                        on_progress=on_progress, cancel=cancel)
    return Document.from_dict(data)


if __name__ == "__main__":
    main()
