"""What the document sandbox child does to itself before it touches a file: no network, no writes, no escape.

The child parses hostile files with libraries that have had code-execution bugs, so it assumes a parser may be
compromised and takes away what such a parser would want, in this order (each step needs the ones before):

1. Linux: it becomes a *child subreaper* (prctl PR_SET_CHILD_SUBREAPER), so a process it forks that detaches
   itself (setsid, double fork) is re-parented to it instead of to init: the parent finds and kills the whole
   tree, and counts its memory.
2. Linux: it moves into an empty network namespace (unshare CLONE_NEWNET; as a normal user together with
   CLONE_NEWUSER, where the kernel allows unprivileged user namespaces): no interface but a downed loopback.
   Refused on some systems (containers, Ubuntu's AppArmor userns restriction); step 4 does not depend on it.
3. Linux >= 5.13: Landlock denies every write to the file system (create, write, truncate, remove, rename,
   link) and every exec; reading stays allowed, since reading the one file is the job.
4. Linux (x86-64, arm64): a seccomp filter makes socket(), socketpair() and io_uring_setup() fail with EACCES
   (all address families: a Unix socket could reach nscd or systemd-resolved, which resolve names for it).
   Needs no privilege; foreign-ABI system calls (i386, x32) are refused whole.
5. POSIX: RLIMIT_FSIZE 0 (no byte can be written to a regular file, also where Landlock is missing) and
   RLIMIT_CORE 0; RLIMIT_AS caps the address space (Linux enforces it; macOS does not).

What holds elsewhere: on macOS only step 5 (RLIMIT_FSIZE, no core files; the parent's memory watch replaces
RLIMIT_AS) plus the parent's process-group kill; network access is not blocked (sandbox-exec could, but it is
deprecated and untested here). On Windows none of these exist: the child runs with the minimal environment, its
own process group and the parent's tree kill and memory watch; a job object and an AppContainer (no network
capability) would be the equivalents, not built yet.

`confine()` returns what it applied, so the parent (and the tests) can see which layers this machine allows.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000

# seccomp: (audit arch, socket, socketpair, io_uring_setup, refuse numbers >= this (x32) or None)
_SECCOMP_ARCHES = {
    "x86_64": (0xC000003E, 41, 53, 425, 0x40000000),
    "aarch64": (0xC00000B7, 198, 199, 425, None),
}
_SECCOMP_ALLOW = 0x7FFF0000
_SECCOMP_ERRNO_EACCES = 0x00050000 | 13

_LANDLOCK_CREATE_RULESET, _LANDLOCK_RESTRICT_SELF = 444, 446  # the same numbers on every architecture
_LANDLOCK_VERSION_FLAG = 1
_LANDLOCK_EXECUTE = 1 << 0
_LANDLOCK_WRITES_V1 = (1 << 1) | sum(1 << bit for bit in range(4, 13))  # write, remove, make *
_LANDLOCK_REFER, _LANDLOCK_TRUNCATE = 1 << 13, 1 << 14


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _become_subreaper(libc: ctypes.CDLL) -> bool:
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _leave_network(libc: ctypes.CDLL) -> str | None:
    """Enters an empty network namespace; returns how, or None where the system refuses."""
    if libc.unshare(CLONE_NEWNET) == 0:
        return "network namespace"
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:  # a normal user, where user namespaces are allowed
        return "user + network namespace"
    return None


def _deny_writes(libc: ctypes.CDLL) -> int | None:
    """Landlock: no write and no exec anywhere; returns the Landlock ABI used, or None where unavailable."""
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    abi = syscall(_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_LANDLOCK_VERSION_FLAG))
    if abi < 1:
        return None
    handled = _LANDLOCK_EXECUTE | _LANDLOCK_WRITES_V1
    if abi >= 2:
        handled |= _LANDLOCK_REFER
    if abi >= 3:
        handled |= _LANDLOCK_TRUNCATE
    attr = ctypes.c_uint64(handled)  # struct landlock_ruleset_attr, first field only (handled_access_fs)
    ruleset = syscall(_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        return None
    try:
        if syscall(_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return None
    finally:
        os.close(ruleset)
    return int(abi)


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_program(machine: str) -> list[tuple[int, int, int, int]] | None:
    """The BPF program (code, jt, jf, k) that refuses sockets on `machine`, or None for an unknown one."""
    if machine not in _SECCOMP_ARCHES:
        return None
    arch, socket_nr, socketpair_nr, io_uring_nr, foreign_from = _SECCOMP_ARCHES[machine]
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    deny = (ret, 0, 0, _SECCOMP_ERRNO_EACCES)
    program = [(load, 0, 0, 4), (jeq, 1, 0, arch), deny, (load, 0, 0, 0)]  # arch check, then the number
    if foreign_from is not None:
        program += [(jge, 0, 1, foreign_from), deny]
    for number in (socket_nr, socketpair_nr, io_uring_nr):
        program += [(jeq, 0, 1, number), deny]
    return program + [(ret, 0, 0, _SECCOMP_ALLOW)]


def _refuse_sockets(libc: ctypes.CDLL) -> bool:
    program = seccomp_program(platform.machine())
    if program is None:
        return False
    filters = (_SockFilter * len(program))(*(_SockFilter(*instruction) for instruction in program))
    fprog = _SockFprog(len(program), filters)
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0


def _set_limits(memory_mb: int) -> list[str]:
    import resource

    applied = []
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashing parser must not leave a core dump
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # and cannot write a byte to any file
    applied += ["no core files", "no file writes (RLIMIT_FSIZE)"]
    if sys.platform.startswith("linux"):  # macOS accepts RLIMIT_AS but does not enforce it
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        applied.append(f"address space {memory_mb} MB")
    return applied


def confine(memory_mb: int) -> list[str]:
    """Applies every layer this OS allows to the calling process (single-threaded, before any parser import);
    returns their names. Never raises for a layer the system refuses: the others still apply."""
    applied: list[str] = []
    if sys.platform.startswith("linux"):
        libc = _libc()
        if _become_subreaper(libc):
            applied.append("child subreaper")
        how = _leave_network(libc)
        if how:
            applied.append(how)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
            abi = _deny_writes(libc)
            if abi:
                applied.append(f"landlock v{abi} (no writes, no exec)")
            if _refuse_sockets(libc):
                applied.append("seccomp (no sockets)")
    if os.name == "posix":
        applied += _set_limits(memory_mb)
    return applied
