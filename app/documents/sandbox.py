"""Runs parsers on untrusted files in a separate, confined process with a wall-clock timeout and a memory cap.

Parser libraries have a long record of infinite loops and memory blow-ups on crafted files (pypdf alone has
dozens of advisories), and their own caps do not cover every path. So the app never parses in its own process:
each file is read by a fresh child process, and

* the child starts isolated: `python -I` (no working directory or user site on sys.path, no PYTHON*
  variables) with sys.path extended only by the folder holding this very `app` package, in an empty working
  folder of its own, with a minimal environment (no ENCLAVE_PASSPHRASE or any other secret of the app's);
  a frozen build re-runs its own executable with SANDBOX_FLAG instead, under the same environment;
* before it reads anything the child confines itself (app/documents/confinement.py): on Linux no network
  (empty network namespace where allowed, and a seccomp filter refusing sockets everywhere), no file writes or
  exec (Landlock), a child subreaper so nothing it forks escapes the tree, and an address-space cap;
* the parent watches the resident memory of the child *and everything it started*, and kills the whole tree
  over the cap, at the deadline, when the caller's `cancel` event is set, and whenever the call ends: the child
  runs in its own process group, and its descendants are stopped, then killed, so a grandchild holding the
  pipes can neither stretch the timeout nor outlive the call.

Why a plain subprocess rather than multiprocessing: a spawn-context child re-runs the caller's main module
(the GUI's, with Qt) and breaks when that module is not `__main__`-guarded. Why JSON rather than pickle: the
child handles hostile input, so the parent must not unpickle what it sends back.

Protocol: the parent writes one JSON request line to the child's stdin ({"target": "module:function",
"args": [...], "memory_mb": n, "self_deadline_s": s}); the child answers with JSON lines on its stdout:
{"confined": [layers]}, {"progress": [done, total]}*, then one of {"ok": value}, {"error": [kind, message]},
{"crash": text}. Library output is redirected to stderr so it cannot corrupt the protocol.

A frozen (PyInstaller) build has no `python -m`: its entry point calls `sandbox.main()` when it is started
with SANDBOX_FLAG as its first argument (see `sandbox_command`).

Cost: one Python start per file, about 0.1-0.3 s before parsing begins.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import signal
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
EXIT_GRACE_S = 1.0  # after the child exits, how long its last lines may take to come through the pump
EXIT_SELF_TIMEOUT = 3


# Environment variables the child keeps: what an interpreter needs to start and decode text, nothing the app
# holds (ENCLAVE_PASSPHRASE, tokens, proxies, PYTHON*, LD_PRELOAD). LD_LIBRARY_PATH stays because a Python built
# with a shared libpython may need it to start at all. PyInstaller's own variables are kept for frozen builds.
_KEPT_VARIABLES = ("PATH", "SYSTEMROOT", "WINDIR", "TEMP", "TMP", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE",
                   "LD_LIBRARY_PATH")
_FROZEN_PREFIXES = ("_PYI_", "_MEIPASS")
# Started with `python -I -B -c`: the folder holding the parent's `app` package is the only addition to sys.path.
_BOOTSTRAP = "import sys; sys.path.insert(0, sys.argv[1]); from app.documents.sandbox import main; main()"


# ----------------------------------------------------------------------------------------------- child side

def _resolve(target: str) -> Callable[..., Any]:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def main() -> None:
    """Entry point of the sandbox process: read one request, confine itself, run it, write the reply."""
    from app.documents.confinement import confine
    from app.netguard import install

    install()  # parsers of hostile files get no network: no scope is ever opened in this process
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints from libraries go to stderr
    request = json.loads(sys.stdin.readline())
    last = [0.0]

    def send(message: dict) -> None:
        protocol.write(json.dumps(message) + "\n")
        protocol.flush()

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or done == total:
            last[0] = now
            send({"progress": [done, total]})

    # Before any thread starts (entering a user namespace needs a single-threaded process) and before any
    # parser module is imported.
    send({"confined": confine(request["memory_mb"])})
    # Backstop for an orphaned child (the app was killed mid-read): it ends itself a little after the deadline
    # the parent would have enforced.
    threading.Timer(request["self_deadline_s"], os._exit, (EXIT_SELF_TIMEOUT,)).start()
    try:
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
    # Stay alive until the parent has ended the tree (it closes stdin afterwards, or kills us): while this
    # process lives, whatever the parser forked is still its descendant and so still found and killed.
    try:
        sys.stdin.buffer.read()
    finally:
        os._exit(0)  # do not wait for the backstop timer thread


def extract_job(path: str, limits: dict, follow_picked_link: bool, progress: ProgressFn) -> dict:
    """The extraction request as the child runs it: plain values in, plain values out."""
    from app.documents.extract import extract_in_process

    return extract_in_process(path, DocumentLimits(**limits), progress,
                              follow_picked_link=follow_picked_link).to_dict()


# ---------------------------------------------------------------------------------------------- parent side

def app_root() -> str:
    """The folder that holds the `app` package this process runs (the child imports the same code)."""
    return str(Path(__file__).resolve().parents[2])


def sandbox_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, SANDBOX_FLAG]
    return [sys.executable, "-I", "-B", "-c", _BOOTSTRAP, app_root()]


def sandbox_environment(home: str, environ: dict[str, str] | None = None, *,
                        temp: str | None = None) -> dict[str, str]:
    """The child's whole environment: the few variables an interpreter needs, taken from `environ`, and HOME
    set to `home` (its own empty folder: no library finds the user's dotfiles, and none looks the user up).
    `temp`: the temporary folder the child's libraries write to (removed with the folder after the call)."""
    from app.offline_env import OFFLINE_ENVIRONMENT

    environ = dict(os.environ if environ is None else environ)
    kept = {k: v for k, v in environ.items()
            if k.upper() in _KEPT_VARIABLES or (getattr(sys, "frozen", False) and k.startswith(_FROZEN_PREFIXES))}
    scratch = {"TMPDIR": temp, "TEMP": temp, "TMP": temp} if temp else {}
    return {**kept, "HOME": home, **scratch, **OFFLINE_ENVIRONMENT}


def _pump_lines(stream: BinaryIO, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)  # EOF: every process holding the pipe has exited or closed it


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


class _Tree:
    """The child and everything it started. The child is a subreaper (Linux) and leads its own process group,
    so detached descendants are still found; `kill` stops them all first, so none can fork while it works."""

    def __init__(self, child: subprocess.Popen) -> None:
        import psutil

        self.child = child
        self._psutil = psutil
        self._root = psutil.Process(child.pid)

    def processes(self) -> list:
        try:
            return [self._root, *self._root.children(recursive=True)]
        except self._psutil.NoSuchProcess:
            return []

    def rss(self) -> int:
        total = 0
        for process in self.processes():
            try:
                total += process.memory_info().rss
            except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                pass
        return total

    def kill(self) -> None:
        posix = os.name == "posix"
        seen: dict[int, Any] = {}
        for _ in range(20):  # until no new process shows up (each round stops what it finds)
            found = [p for p in self.processes() if p.pid not in seen]
            if not found:
                break
            for process in found:
                seen[process.pid] = process
                try:
                    process.send_signal(signal.SIGSTOP) if posix else process.kill()
                except self._psutil.Error:
                    pass
        if posix:
            try:
                os.killpg(self.child.pid, signal.SIGKILL)  # the group leader is the child: its pid is the group
            except OSError:
                pass
        for process in seen.values():
            try:
                process.kill()
            except self._psutil.Error:
                pass
        if self.child.poll() is None:
            self.child.kill()


def run_isolated(target: str, args: list, *, name: str, limits: DocumentLimits,
                 on_progress: ProgressFn = no_progress, cancel: threading.Event | None = None,
                 on_confined: Callable[[list[str]], None] | None = None) -> Any:
    """Calls `module:function` as function(*args, progress) in a sandbox process and returns its JSON result.

    `name` is the file name used in error messages; `on_confined` receives the confinement layers the child
    applied. Raises ExtractionError for every failure, including the child's death; never anything else.
    """
    request = {"target": target, "args": args, "memory_mb": limits.memory_mb,
               "self_deadline_s": limits.timeout_s + CHILD_GRACE_S}
    deadline = time.monotonic() + limits.timeout_s
    from app.tempdirs import private_temp_dir, remove_temp_dir

    # an empty working folder, also the child's HOME and temp folder: removed afterwards, at exit, or (if the app
    # was killed) at the next start
    workdir = str(private_temp_dir("reader"))
    posix = os.name == "posix"
    flags = 0 if posix else subprocess.CREATE_NO_WINDOW | subprocess.CREATE_NEW_PROCESS_GROUP
    try:
        child = subprocess.Popen(sandbox_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=sandbox_environment(workdir, temp=workdir), cwd=workdir,
                                 creationflags=flags, start_new_session=posix)
    except OSError as exc:
        remove_temp_dir(Path(workdir))
        raise ExtractionError(ErrorKind.CRASHED, f"The reader process for {name} could not start ({exc}).")
    tree = _Tree(child)
    lines: queue.Queue = queue.Queue()
    tail: list[bytes] = []
    pumps = [threading.Thread(target=_pump_lines, args=(child.stdout, lines), daemon=True),
             threading.Thread(target=_pump_tail, args=(child.stderr, tail), daemon=True)]
    for pump in pumps:
        pump.start()
    try:
        child.stdin.write((json.dumps(request) + "\n").encode())
        child.stdin.flush()  # kept open: the child waits for its EOF after replying (see main)
        cap = limits.memory_mb * 1024 * 1024
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ExtractionError(ErrorKind.TIMEOUT, f"Reading {name} took longer than the "
                                                         f"{limits.timeout_s:g} s limit and was stopped; the file "
                                                         "may be malformed, or raise the limit in Settings.")
            if cancel is not None and cancel.is_set():
                raise ExtractionError(ErrorKind.CANCELLED, f"Reading {name} was cancelled.")
            if tree.rss() > cap:  # the child and everything it started
                raise ExtractionError(ErrorKind.MEMORY, _memory_message(name, limits))
            exited = child.poll() is not None  # a descendant may still hold the pipe open: no EOF then
            try:
                line = lines.get(timeout=EXIT_GRACE_S if exited else min(remaining, POLL_S))
            except queue.Empty:
                if exited:  # gone, and nothing it wrote is still on its way
                    raise _death_error(name, child.returncode, b"".join(tail).decode(errors="replace"), limits)
                continue
            if line is None:
                child.wait(timeout=10)
                pumps[1].join(timeout=2)
                raise _death_error(name, child.returncode, b"".join(tail).decode(errors="replace"), limits)
            message = json.loads(line)
            if "confined" in message:
                if on_confined is not None:
                    on_confined(list(message["confined"]))
            elif "progress" in message:
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
        tree.kill()  # also when it replied: nothing it started may outlive the call
        child.wait(timeout=10)
        for pump, stream in zip(pumps, (child.stdout, child.stderr)):
            pump.join(timeout=1)  # EOF comes at once when the whole tree is dead
            if not pump.is_alive():  # else a process that escaped the tree holds the pipe: closing would block
                stream.close()
        try:
            child.stdin.close()
        except OSError:
            pass
        remove_temp_dir(Path(workdir))


def extract_document(path: str | os.PathLike[str], limits: DocumentLimits = DocumentLimits(), *,
                     on_progress: ProgressFn = no_progress, cancel: threading.Event | None = None,
                     follow_picked_link: bool = False) -> Document:
    """Reads an untrusted file into a Document in a sandbox process. Raises only ExtractionError.

    Missing, linked, special and oversized files are refused here from stat alone, without starting a process
    (the child checks again, then reads; see app/documents/extract.py). `follow_picked_link=True` says that
    `path` is exactly what the user picked, so a symbolic link there may be followed to a regular file.
    """
    from dataclasses import asdict

    from app.documents.extract import check_file

    path = Path(path).absolute()
    check_file(path, limits, follow_picked_link=follow_picked_link)
    data = run_isolated("app.documents.sandbox:extract_job", [str(path), asdict(limits), follow_picked_link],
                        name=path.name, limits=limits, on_progress=on_progress, cancel=cancel)
    return Document.from_dict(data)


if __name__ == "__main__":
    main()
