"""Runs one command under a memory limit the way a laptop with that much memory would: `python -m
app.bench.memory_limit --gb 14 -- COMMAND...`.

Why: the question for the real-size cpu-int4 model is whether it runs on a 16 GB laptop (14 GB left once the
system has its 2 GB, `RESERVE_BYTES`), not whether it runs on the 24 GB development machine. A memory cgroup is
the closest a shared machine gets to a smaller one: the kernel charges the group for the command's private
memory *and* for the page cache it reads (the memory-mapped prepacked copy lives there), reclaims the group's
cache at the limit as it would on the laptop, and OOM-kills the command where the laptop would. Swap is
switched off for the group (the development machine has none; a laptop that swaps a 13 GB model is not one
the model "fits").

Caveat, said once here: a page already in the page cache stays charged to the group that first read it, so a
file cached before the run is free for the command. `--drop-caches` (`sync; echo 3 > /proc/sys/vm/drop_caches`,
machine-wide) makes the command read it under its own limit.

The command runs in a child group of this process's own memory cgroup (cgroup v1 or v2, whichever holds the
memory controller), made for it and removed afterwards; it moves itself there before it starts, so every byte
it touches is charged. Creating a group needs root (or a delegated v2 group); without that it refuses.
Reported on stderr (and as JSON with `--json FILE`): the command's exit status, whether the OOM killer fired
in the group, the group's peak usage (page cache included), and the command's
max RSS, page faults and CPU time (from wait4, its waited-for children included). The exit status is the
command's (128 + N when signal N ended it); 125 when this tool refuses, 127 when the command is not found.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

GROUP_PREFIX = "enclave-memory-limit-"  # the child groups this tool makes (one per run, named by our pid)
REFUSED = 125  # our own failure, as env(1) and timeout(1) use it
NOT_FOUND = 127


class LimitError(Exception):
    """This tool cannot run the command under a limit here; the message is one sentence."""


class CommandNotFound(LimitError):
    """The command to run does not exist."""


@dataclass(frozen=True)
class Controller:
    """Where the memory controller is: the cgroup version and the group this process is in."""

    version: int  # 1 or 2
    group: Path  # this process's memory cgroup directory (child groups are made in it)


@dataclass(frozen=True)
class Outcome:
    """What happened to the command; None where the kernel does not say."""

    command: list[str]
    limit_bytes: int
    cgroup_version: int
    returncode: int  # as subprocess reports it: negative -N when signal N ended the command
    oom_kills: int | None  # the OOM killer's kills in the group
    peak_bytes: int | None  # the group's highest charge: private memory and page cache
    max_rss_bytes: int  # wait4's ru_maxrss: the largest RSS of the command or a waited-for child
    major_faults: int  # page faults that read from disk
    minor_faults: int
    user_s: float
    system_s: float
    wall_s: float
    dropped_caches: bool

    @property
    def exit_status(self) -> int:
        """The shell's view of the return code: 128 + N for signal N."""
        return 128 - self.returncode if self.returncode < 0 else self.returncode


def find_controller(proc_cgroup: str, mountinfo: str) -> Controller | None:
    """The memory controller from /proc/self/cgroup and /proc/self/mountinfo (v1 preferred where a hybrid
    machine has both: there v2's hierarchy holds no memory controller); None where there is none."""
    mounts: list[tuple[str, str, str, set[str]]] = []  # (root, mount point, fstype, super options)
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        after = line.split(" - ", 1)[1].split()
        if len(after) < 3:
            continue
        mounts.append((fields[3], _unescape(fields[4]), after[0], set(after[2].split(","))))
    v2_path = None
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "" and parts[0] == "0":
            v2_path = path
        elif "memory" in controllers.split(","):
            for root, point, fstype, options in mounts:
                if fstype == "cgroup" and "memory" in options:
                    return Controller(1, _inside(point, root, path))
    if v2_path is not None:
        for root, point, fstype, _ in mounts:
            if fstype == "cgroup2":
                group = _inside(point, root, v2_path)
                if "memory" in _read(group / "cgroup.controllers", "").split():
                    return Controller(2, group)
    return None


def _inside(point: str, root: str, path: str) -> Path:
    """The directory of cgroup `path` under a mount of hierarchy `root` at `point`."""
    relative = os.path.relpath(path, root) if path.startswith(root) else path.lstrip("/")
    return Path(point) if relative == "." else Path(point) / relative.lstrip("/")


def _unescape(text: str) -> str:
    """mountinfo writes a space, tab, newline or backslash in a path as three octal digits (\\040)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _read(path: Path, default: str | None = None) -> str:
    try:
        return path.read_text()
    except OSError:
        if default is None:
            raise
        return default


def system_controller() -> Controller | None:
    """This process's memory controller on this machine (None: no memory cgroup to limit with)."""
    try:
        return find_controller(Path("/proc/self/cgroup").read_text(), Path("/proc/self/mountinfo").read_text())
    except OSError:
        return None


class LimitedGroup:
    """A child memory cgroup with a hard limit and no swap, removed by `close`."""

    def __init__(self, controller: Controller, limit_bytes: int) -> None:
        self.controller = controller
        self.limit_bytes = limit_bytes
        self.path = controller.group / f"{GROUP_PREFIX}{os.getpid()}"
        if controller.version == 2:
            self._enable_v2_memory()
        try:
            self.path.mkdir()
        except PermissionError:
            raise LimitError(_needs_root(controller.group)) from None
        except FileExistsError:
            raise LimitError(f"{self.path} already exists (a run of this tool with the same pid did not "
                             "remove it); remove it with rmdir and try again") from None
        try:
            self._set_limits()
        except BaseException:
            self.close()
            raise

    def _enable_v2_memory(self) -> None:
        """cgroup v2 hands a controller to child groups only when the parent's subtree_control names it."""
        control = self.controller.group / "cgroup.subtree_control"
        if "memory" in _read(control, "").split():
            return
        try:
            control.write_text("+memory")
        except OSError as exc:
            raise LimitError(f"cannot enable the memory controller for child groups of {self.controller.group} "
                             f"({exc.strerror}; a cgroup v2 group that holds processes cannot hand it down): run "
                             "this from a group that can, e.g. under systemd-run --scope") from None

    def _set_limits(self) -> None:
        limit = str(self.limit_bytes)
        if self.controller.version == 1:
            (self.path / "memory.limit_in_bytes").write_text(limit)  # before memsw: memsw may not be below it
            memsw = self.path / "memory.memsw.limit_in_bytes"
            if memsw.exists():  # present where the kernel accounts swap: memory + swap = memory, so no swap
                memsw.write_text(limit)
            else:  # no swap accounting: keep the kernel from choosing swap for this group's pages
                (self.path / "memory.swappiness").write_text("0")
        else:
            (self.path / "memory.max").write_text(limit)
            swap = self.path / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")

    def join(self) -> None:
        """Moves the calling process into the group (the command calls this between fork and exec)."""
        with open(self.path / "cgroup.procs", "w") as procs:
            procs.write("0")  # "0": the writer itself, valid in v1 and v2

    def peak_bytes(self) -> int | None:
        name = "memory.max_usage_in_bytes" if self.controller.version == 1 else "memory.peak"
        text = _read(self.path / name, "").strip()
        return int(text) if text.isdigit() else None

    def oom_kills(self) -> int | None:
        name = "memory.oom_control" if self.controller.version == 1 else "memory.events"
        return _counter(_read(self.path / name, ""), "oom_kill")

    def close(self) -> None:
        """Removes the group; processes the command left behind in it are killed first (a group with
        processes cannot be removed, and they are the command's own)."""
        for _ in range(50):
            if not self.path.exists():
                return
            left = [int(p) for p in _read(self.path / "cgroup.procs", "").split() if p.isdigit()]
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)  # a killed process leaves its group a moment after the signal
        raise LimitError(f"could not remove the memory cgroup {self.path}; remove it with rmdir")


def _needs_root(group: Path) -> str:
    return (f"making a memory cgroup in {group} needs root (or a cgroup delegated to this user); run this as "
            "root")


def _counter(text: str, key: str) -> int | None:
    """`key N` from a flat-keyed cgroup file (memory.oom_control, memory.events)."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == key and parts[1].isdigit():
            return int(parts[1])
    return None


def drop_caches() -> None:
    """Writes dirty pages back and drops the clean page cache of the whole machine."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3")
    except OSError as exc:
        raise LimitError(f"cannot drop the page cache ({exc.strerror}); that needs root") from None


def run_limited(command: Sequence[str], limit_bytes: int, *, drop: bool = False,
                controller: Controller | None = None) -> Outcome:
    """Runs `command` in a fresh memory cgroup limited to `limit_bytes` and reports how it went."""
    if not command:
        raise LimitError("no command given: put it after --")
    if limit_bytes < 1 << 20:
        raise LimitError(f"a limit of {limit_bytes} bytes is below 1 MiB, too small to start any program")
    controller = controller or system_controller()
    if controller is None:
        raise LimitError("this machine has no cgroup memory controller (neither v1 nor v2) to limit with")
    if os.geteuid() != 0 and not os.access(controller.group, os.W_OK):
        raise LimitError(_needs_root(controller.group))
    group = LimitedGroup(controller, limit_bytes)
    try:
        if drop:
            drop_caches()
        start = time.perf_counter()
        try:
            # preexec_fn runs in the forked child before exec: the command is in the group from its first byte.
            child = subprocess.Popen(list(command), preexec_fn=group.join)  # noqa: PLW1509 - single-threaded
        except FileNotFoundError:
            raise CommandNotFound(f"{command[0]}: command not found") from None
        except subprocess.SubprocessError as exc:  # join() failed in the child: nothing ran
            raise LimitError(f"the command could not be moved into {group.path} ({exc})") from None
        # A SIGTERM to this tool (timeout(1), a job runner) is passed on, and the tool waits for the command to
        # end, so the group is still removed; the terminal's Ctrl-C reaches the command by itself.
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signal.SIGTERM))
        try:
            while True:
                try:
                    _, status, usage = os.wait4(child.pid, 0)
                    break
                except KeyboardInterrupt:
                    continue
        finally:
            signal.signal(signal.SIGTERM, previous)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        return Outcome(command=list(command), limit_bytes=limit_bytes, cgroup_version=controller.version,
                       returncode=child.returncode, oom_kills=group.oom_kills(), peak_bytes=group.peak_bytes(),
                       max_rss_bytes=usage.ru_maxrss * 1024,
                       major_faults=usage.ru_majflt, minor_faults=usage.ru_minflt, user_s=usage.ru_utime,
                       system_s=usage.ru_stime, wall_s=wall, dropped_caches=drop)
    finally:
        group.close()


def describe(outcome: Outcome) -> list[str]:
    """The report's lines."""
    def mb(n: int | None) -> str:
        return "unknown" if n is None else f"{n / 1e6:,.0f} MB"

    if outcome.returncode < 0:
        name = signal.Signals(-outcome.returncode).name if -outcome.returncode in signal.valid_signals() else "?"
        ended = f"killed by signal {-outcome.returncode} ({name}), exit status {outcome.exit_status}"
    else:
        ended = f"exit status {outcome.returncode}"
    oom = ("unknown (the kernel keeps no OOM count here)" if outcome.oom_kills is None
           else f"yes ({outcome.oom_kills} kill{'s' if outcome.oom_kills != 1 else ''})" if outcome.oom_kills
           else "no")
    return [f"limit {mb(outcome.limit_bytes)} (cgroup v{outcome.cgroup_version}, page cache charged, no swap"
            f"{', caches dropped first' if outcome.dropped_caches else ''}): {ended}",
            f"OOM killer: {oom}; the group's peak usage {mb(outcome.peak_bytes)} (page cache included)",
            f"the command: max RSS {mb(outcome.max_rss_bytes)}, {outcome.major_faults} major and "
            f"{outcome.minor_faults} minor page faults, CPU {outcome.user_s:.1f} s user + {outcome.system_s:.1f} s "
            f"system, wall {outcome.wall_s:.1f} s"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.bench.memory_limit",
        description="Run a command in a memory cgroup limited to --gb (page cache charged, no swap), as on a "
                    "computer with that much memory free; report its exit status, the OOM killer and the peak.")
    parser.add_argument("--gb", type=float, required=True, help="the limit in GB (10^9 bytes), e.g. 14 for a "
                        "16 GB laptop less the system's 2 GB")
    parser.add_argument("--drop-caches", action="store_true",
                        help="sync and drop the machine's page cache first, so files the command reads are "
                             "charged to its limit (machine-wide: other programs read theirs again)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the report as JSON")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- and the command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not args.gb > 0:
        parser.error("--gb must be a positive number")
    try:
        outcome = run_limited(command, int(args.gb * 1e9), drop=args.drop_caches)
    except LimitError as exc:
        print(f"memory_limit: {exc}", file=sys.stderr)
        return NOT_FOUND if isinstance(exc, CommandNotFound) else REFUSED
    for line in describe(outcome):
        print(f"memory_limit: {line}", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps({**asdict(outcome), "exit_status": outcome.exit_status}) + "\n")
    return outcome.exit_status


if __name__ == "__main__":
    raise SystemExit(main())
