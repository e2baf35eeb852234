"""Runs a real Enclave command under strace in a private home and counts what it tried to reach.

Shared by the privacy tests (and meant to be extended by them): `run_traced` starts the command with HOME and
every XDG folder inside the test's temporary folder, inside an empty network namespace where this machine
allows one (so even a regression cannot send anything anywhere), and parses strace's log into a `Trace`.
A connect() attempt is counted whether or not it succeeded: an attempt is the defect.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

STRACE = shutil.which("strace") or "/usr/bin/strace"
# Network syscalls, and the file syscalls that name a path (to prove a path was never touched).
TRACED = "trace=%network,open,openat,openat2,stat,lstat,newfstatat,statx,access,faccessat,faccessat2,readlink," \
         "readlinkat"
_CONNECT = re.compile(r"\bconnect\(\d+, \{sa_family=(AF_\w+)(.*)")
_SEND = re.compile(r"\b(?:sendto|sendmsg|sendmmsg)\(")
_SOCKET = re.compile(r"\bsocket\((AF_\w+)")
_PORT_53 = re.compile(r"htons\(53\)")
# glibc asks these local services before it sends a DNS query itself.
_RESOLVER_SOCKETS = ("/var/run/nscd/socket", "/run/nscd/socket", "/run/systemd/resolve/io.systemd.Resolve")


@dataclass
class Trace:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    lines: list[str] = field(repr=False)
    home: Path = Path()

    def inet_connects(self) -> list[str]:
        """connect() calls to an IPv4 or IPv6 address (DNS lookups included)."""
        return [line for line in self.lines if (m := _CONNECT.search(line)) and m.group(1) in ("AF_INET", "AF_INET6")]

    def inet_sockets(self) -> list[str]:
        return [line for line in self.lines if (m := _SOCKET.search(line)) and m.group(1) in ("AF_INET", "AF_INET6")]

    def dns_lookups(self) -> list[str]:
        """Anything that is a name lookup: a packet to port 53, or asking nscd / systemd-resolved."""
        return [line for line in self.lines
                if ((_CONNECT.search(line) or _SEND.search(line)) and _PORT_53.search(line))
                or (_CONNECT.search(line) and any(s in line for s in _RESOLVER_SOCKETS))]

    def touching(self, path: str) -> list[str]:
        """Syscalls that named `path` (opened, stat-ed, checked)."""
        quoted = f'"{path}"'
        return [line for line in self.lines if quoted in line]

    def ort_telemetry_folders(self) -> list[Path]:
        return [p for p in self.home.rglob("DeveloperTools") if p.parent.name == "Microsoft"]


def strace_available() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("strace exists on Linux only")
    if not Path(STRACE).exists():
        pytest.fail("strace is not installed; tests/run.sh installs it (apt-get install strace)")


def _empty_network_namespace() -> list[str]:
    """`unshare --net` where this machine allows it (root, or unprivileged user namespaces), else nothing."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    for prefix in ([unshare, "--net"], [unshare, "--user", "--map-root-user", "--net"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return []


def private_environment(home: Path) -> dict[str, str]:
    """The caller's environment with HOME, the XDG folders and the temp folder inside `home`."""
    env = dict(os.environ)
    folders = {"HOME": home, "XDG_CACHE_HOME": home / ".cache", "XDG_CONFIG_HOME": home / ".config",
               "XDG_DATA_HOME": home / ".local" / "share", "XDG_STATE_HOME": home / ".local" / "state",
               "XDG_RUNTIME_DIR": home / "runtime", "TMPDIR": home / "tmp"}
    for name, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    (home / "runtime").chmod(0o700)
    env.update(QT_QPA_PLATFORM="offscreen", ENCLAVE_PASSPHRASE="privacy-test-passphrase")
    # The variables app/offline_env.py sets must come from the app itself, not from the test runner.
    for name in ("ORT_DISABLE_TELEMETRY", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "DO_NOT_TRACK",
                 "HF_HUB_DISABLE_IMPLICIT_TOKEN"):
        env.pop(name, None)
    return env


def run_traced(command: list[str], home: Path, *, cwd: Path | None = None, timeout: float = 300,
               env: dict[str, str] | None = None) -> Trace:
    strace_available()
    log = home.parent / f"{home.name}-strace.log"
    env = env or private_environment(home)
    full = [*_empty_network_namespace(), STRACE, "-f", "-qq", "-e", TRACED, "-o", str(log), *command]
    started = time.monotonic()
    result = subprocess.run(full, env=env, cwd=cwd or home, capture_output=True, text=True, timeout=timeout)
    seconds = time.monotonic() - started
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return Trace(result.returncode, result.stdout, result.stderr, seconds, lines, home)
