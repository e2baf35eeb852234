"""Stand-ins for a parser gone wrong, run through sandbox.run_isolated as "doc_hostile:<function>".

They live in their own module because the sandbox child imports its target by name.
"""

from __future__ import annotations

import os


def spin(progress) -> None:
    """A parser stuck in an infinite loop (pypdf has had several)."""
    while True:
        pass


def hog(megabytes: int, progress) -> int:
    """A parser that keeps allocating, like a decompression bomb inflating in memory."""
    blocks = []
    for _ in range(megabytes):
        blocks.append(bytearray(1024 * 1024))
    return len(blocks)


def die(progress) -> None:
    """A parser crashing in native code: the process ends without a word."""
    os.abort()


def count_pages(pages: int, progress) -> int:
    for page in range(1, pages + 1):
        progress(page, pages)
    return pages


# --- escapes a compromised parser would try (tests/documents/test_doc_sandbox_isolation.py) -------------------

def environment(progress) -> dict:
    """What the child can see of the app's environment (secrets such as ENCLAVE_PASSPHRASE must be absent)."""
    return dict(os.environ)


def interpreter(progress) -> dict:
    import sys

    return {"path": sys.path, "cwd": os.getcwd(), "isolated": sys.flags.isolated,
            "no_user_site": sys.flags.no_user_site, "ignore_environment": sys.flags.ignore_environment}


def connect(port: int, progress) -> str:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"leak")
    return "connected"


def lookup(name: str, progress) -> str:
    import socket

    socket.getaddrinfo(name, 443)
    return "resolved"


def write_file(path: str, progress) -> str:
    with open(path, "w") as f:
        f.write("written by the sandbox")
    return "written"


def fork_holding_pipes(seconds: float, finish: bool, progress) -> str:
    """Leaves a detached grandchild that keeps stdout/stderr open; then spins (or returns at once).

    The grandchild's pid is reported as progress(pid, 0) (the sandbox forbids writing files)."""
    import time

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:  # double fork: the grandchild's parent is gone at once
            os.write(write_end, str(os.getpid()).encode())
            time.sleep(seconds)
        os._exit(0)
    os.waitpid(pid, 0)
    progress(int(os.read(read_end, 32)), 0)
    if finish:
        return "done"
    while True:
        pass


def fork_hogs(count: int, megabytes: int, progress) -> None:
    """Children that each stay under a per-process cap, while together they are far over it (pids as progress)."""
    import time

    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            blocks = [bytearray(1024 * 1024) for _ in range(megabytes)]
            for block in blocks:
                block[::4096] = b"x" * len(block[::4096])  # touch every page: resident, not just reserved
            while True:
                time.sleep(1)
        progress(pid, 0)
    while True:
        time.sleep(1)


def native_socket(progress) -> list[int]:
    """socket() from C, past any Python-level guard (as a parser's native code would): [fd, errno]."""
    import ctypes
    import socket

    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    return [fd, ctypes.get_errno()]
