"""Runs a frozen Enclave build as a user would: the same checks on Linux (CI), Windows and macOS (release).

    python packaging/smoke_frozen.py CLI GUI [--trace-execve]

CLI is the console launcher (enclave-cli, enclave-cli.exe, or Enclave.app/Contents/MacOS/enclave), GUI the
windowed one. Steps: `--version`; `make-test-model` and `export` of a tiny random-weight model; `chat` with an
attached document, which the document sandbox reads in a child process that re-executes the frozen program
(a frozen build has no `python -m`); `gui --smoke` on the real window (offscreen). With --trace-execve (Linux,
needs strace) the chat runs under strace and the child's command line is checked to be the frozen program
with the sandbox flag. Where the checkout's test support imports (CI), `models download` of that model from a Hub
on 127.0.0.1 runs too. HOME and the XDG folders point into a scratch folder (on Windows the known folders
cannot be moved this way; CI runners there are throwaway). Prints one line per step; exit 1 with one
sentence at the first failure. Standard library only (plus the checkout's tests/support/hub_server.py when present).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SANDBOX_FLAG = "--enclave-document-sandbox"  # app.documents.sandbox.SANDBOX_FLAG
NOTE = "Inventory note.\nThe depot key is in the blue box under the stairs.\n"


class SmokeFailure(Exception):
    """One step of the smoke run failed; the message is the sentence to print."""


def _run(command: list[str], env: dict[str, str], what: str, timeout: float = 900) -> subprocess.CompletedProcess:
    started = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        raise SmokeFailure(f"{what} exited {result.returncode}: " + " | ".join(tail))
    print(f"ok  {what} ({time.monotonic() - started:.1f} s)", flush=True)
    return result


def _sandbox_reexecuted(trace: Path, frozen: Path) -> bool:
    """True when strace saw an execve of the frozen program whose first argument is the sandbox flag."""
    pattern = re.compile(r'execve\("([^"]+)", \["[^"]*", "' + re.escape(SANDBOX_FLAG) + '"')
    for line in trace.read_text(encoding="utf-8", errors="replace").splitlines():
        match = pattern.search(line)
        if match and Path(match.group(1)).resolve() == frozen.resolve():
            return True
    return False


def _download_from_loopback_hub(cli: Path, env: dict[str, str], checkpoint: Path) -> None:
    """`models download` from the test suite's Hub on 127.0.0.1 (tests/support/hub_server.py), serving the
    checkpoint just written: the frozen app's whole download path (huggingface_hub and everything it imports at
    start, which import analysis cannot judge). Skipped with a line where the checkout's test support is not
    importable (a release runner's build Python without the app installed)."""
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    try:
        from tests.support.hub_server import HubServer, repo_from_folder
    except ImportError as exc:
        print(f"skip models download (the test Hub cannot be imported here: {exc})", flush=True)
        return
    finally:
        sys.path.remove(str(root))
    repo_id, commit = "enclave-smoke/tiny-gpt-oss", "5" * 40
    with HubServer([repo_from_folder(repo_id, checkpoint, commit)]) as hub:
        _run([str(cli), "models", "download", repo_id, "--endpoint", hub.url, "--revision", commit,
              "--target", "none", "--quiet"], env, "models download (loopback Hub)")
    listed = _run([str(cli), "models", "list"], env, "models list").stdout
    if repo_id not in listed:
        raise SmokeFailure(f"models list does not show the downloaded {repo_id}: {listed[-300:]!r}")


def smoke(cli: Path, gui: Path, version: str, trace_execve: bool, work: Path) -> None:
    env = dict(os.environ)
    home = work / "home"
    home.mkdir()
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), QT_QPA_PLATFORM="offscreen")
    out = _run([str(cli), "--version"], env, "--version").stdout.strip()
    if out != f"enclave {version}":
        raise SmokeFailure(f"--version printed {out!r}, not 'enclave {version}'")
    checkpoint, package = work / "checkpoint", work / "package"
    _run([str(cli), "make-test-model", str(checkpoint), "--preset", "tiny"], env, "make-test-model")
    _download_from_loopback_hub(cli, env, checkpoint)
    _run([str(cli), "export", str(checkpoint), str(package), "--target", "cpu"], env, "export --target cpu")
    shutil.rmtree(checkpoint)
    note = work / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    chat = [str(cli), "chat", str(package), "--prompt", "Where is the depot key?", "--attach", str(note),
            "--max-tokens", "8"]
    trace = work / "execve.log"
    if trace_execve:
        if shutil.which("strace") is None:
            raise SmokeFailure("--trace-execve needs strace (apt-get install strace)")
        chat = ["strace", "-f", "-qq", "-s", "4096", "-e", "trace=execve", "-o", str(trace), *chat]
    result = _run(chat, env, "chat --attach note.txt")
    if "note.txt" not in result.stdout:
        raise SmokeFailure(f"chat did not name the attached note.txt among its sources: {result.stdout[-300:]!r}")
    if trace_execve:
        frozen = Path(os.path.realpath(gui))
        if not _sandbox_reexecuted(trace, frozen):
            raise SmokeFailure(f"the document sandbox was not started as {frozen} {SANDBOX_FLAG}")
        print(f"ok  the document sandbox re-executed {frozen} {SANDBOX_FLAG}", flush=True)
    shot = work / "smoke.png"
    result = _run([str(gui), "gui", "--smoke", str(package), "--max-tokens", "8", "--screenshot", str(shot)],
                  env, "gui --smoke")
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SmokeFailure(f"gui --smoke printed no JSON result: {result.stdout[-300:]!r}")
    report = json.loads(lines[-1])
    if not report.get("ok") or report.get("state") != "complete" or not shot.is_file():
        raise SmokeFailure(f"gui --smoke did not complete a reply: {report}")
    print(f"ok  window after {report['window_visible_s']} s, model loaded in {report['load_s']} s, "
          f"reply {report['state']}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cli", type=Path)
    parser.add_argument("gui", type=Path)
    parser.add_argument("--trace-execve", action="store_true")
    parser.add_argument("--version", dest="expected_version", help="version --version must print "
                        "(default: app/__init__.py of this checkout)")
    args = parser.parse_args(argv)
    version = args.expected_version
    if version is None:
        init = Path(__file__).resolve().parents[1] / "app" / "__init__.py"
        found = re.search(r'^__version__ = "([^"]+)"', init.read_text(encoding="utf-8"), re.M)
        version = found.group(1) if found else "?"
    for launcher in (args.cli, args.gui):
        if not launcher.is_file():
            print(f"{launcher} does not exist: build the app first (pyinstaller packaging/enclave.spec).",
                  file=sys.stderr)
            return 1
    work = Path(tempfile.mkdtemp(prefix="enclave-frozen-smoke-"))
    try:
        smoke(args.cli, args.gui, version, args.trace_execve, work)
    except (SmokeFailure, subprocess.TimeoutExpired) as exc:
        print(f"frozen app: {exc}.", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
