"""How long the UI thread's event loop went without a turn, less the time the machine's load kept it off a CPU.

A 5 ms QTimer notes when it actually fires; the longest gap between two firings is the longest stall. On a loaded
machine (CI's 2 cores beside other jobs, a whole-suite run beside a heavy job) part of a gap can be the UI thread
runnable but not running, preempted by other processes: that is the machine, not the app. Linux accounts it per
thread in /proc/self/task/<tid>/schedstat ("time on CPU ns, time waiting on a run queue ns, timeslices"), so each
gap is also measured as wall time minus the growth of the UI thread's run-queue wait over the gap. What remains is
the thread running (the app's work) or sleeping (blocked: a lock, the GIL, file I/O, a synchronous engine call),
which a test must still catch. Where the file is missing (not Linux), the adjusted gap is the wall gap: stricter,
never more lenient.

What the adjustment cannot see: the UI thread waiting for the GIL while the Python thread holding it is itself
kept off a CPU. That wait is the load's too, but to the kernel it is a sleep like any lock wait, file read or
time.sleep, and excusing it would excuse those as well; so it counts as the app's. Each gap reports how long the
process's other Python threads waited for a CPU in it (the longest of them, by name), so a failure beside a busy
peer can be read for what it is.

The test process holds what the app never imports (torch, transformers, every earlier test's objects): a full
garbage collection over that heap took 0.26-1.05 s in a whole-suite run (gc.callbacks timings), and one landing
inside the window failed the streaming test at 1,128 ms. The app keeps its own started heap out of the collector
(application.keep_long_lived_objects_out_of_gc, checked by the smoke test); the meter does the same for the test
process's heap while it measures, so what it measures is the app's work.
"""

from __future__ import annotations

import ctypes
import gc
import os
import threading
import time
from dataclasses import dataclass

from PySide6.QtCore import QTimer

TICK_MS = 5
_READ = 128


def schedstat_path(tid: int) -> str:
    """The kernel's scheduler accounting for one thread of this process."""
    return f"/proc/self/task/{tid}/schedstat"


def _pread_holding_the_gil() -> ctypes._CFuncPtr | None:
    """libc's pread called through PyDLL, which keeps the GIL: os.pread lets go of it, and taking it back can wait
    for another Python thread, which would stretch the very gaps the meter measures."""
    try:
        pread = ctypes.PyDLL(None).pread
    except (OSError, AttributeError):
        return None
    pread.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_long]
    pread.restype = ctypes.c_ssize_t
    return pread


_PREAD = _pread_holding_the_gil() if os.path.exists("/proc/self/task") else None


class ThreadClock:
    """Reads one thread's run-queue wait (ns) from schedstat; it reads 0 where there is no file.

    The file stays open and is re-read in place, so a reading costs one system call. (Its first field, time on
    CPU, is only brought up to date at scheduler ticks, so the meter takes the UI thread's CPU time from
    time.thread_time_ns instead; the wait is brought up to date whenever the thread gets a CPU, so it is exact when
    the thread reads its own.)"""

    def __init__(self, tid: int) -> None:
        self._buffer = ctypes.create_string_buffer(_READ)
        try:
            self._fd: int | None = os.open(schedstat_path(tid), os.O_RDONLY) if _PREAD is not None else None
        except OSError:
            self._fd = None

    @property
    def accounted(self) -> bool:
        """Whether the kernel accounts this thread's run-queue wait (else gaps are wall time only)."""
        return self._fd is not None

    def waiting_ns(self) -> int:
        """Time the thread has spent runnable but waiting for a CPU since it started (0 once it has ended)."""
        if self._fd is None:
            return 0
        assert _PREAD is not None
        size = _PREAD(self._fd, self._buffer, _READ, 0)
        return int(self._buffer.raw[:size].split()[1]) if size > 0 else 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class PeerClocks:
    """The run-queue waits of the process's other Python threads (any of them may hold the GIL the UI needs)."""

    def __init__(self, own_tid: int) -> None:
        self._own = own_tid
        self._clocks: dict[int, tuple[str, ThreadClock]] = {}

    def read(self) -> dict[int, tuple[str, int]]:
        """tid -> (thread name, its run-queue wait so far), for the Python threads alive now."""
        alive = {t.native_id: t.name for t in threading.enumerate() if t.native_id not in (None, self._own)}
        for tid in set(self._clocks) - set(alive):
            self._clocks.pop(tid)[1].close()
        for tid, name in alive.items():
            if tid not in self._clocks:
                self._clocks[tid] = (name, ThreadClock(tid))
        return {tid: (name, clock.waiting_ns()) for tid, (name, clock) in self._clocks.items()}

    def close(self) -> None:
        for _name, clock in self._clocks.values():
            clock.close()
        self._clocks.clear()


@dataclass(frozen=True)
class Gap:
    """One interval between two event-loop turns, split by what the UI thread was doing."""

    wall_s: float
    on_cpu_s: float
    waiting_s: float  # runnable, but another process had the CPU: the machine's load
    peer_waiting_s: float = 0.0  # the longest any other Python thread of ours waited for a CPU in the gap
    peer: str = ""

    @property
    def adjusted_s(self) -> float:
        """The part of the gap that is the app's: the thread running or blocked."""
        return self.wall_s - self.waiting_s

    def __str__(self) -> str:
        blocked = max(0.0, self.wall_s - self.on_cpu_s - self.waiting_s)
        text = (f"{self.wall_s * 1000:.1f} ms wall = {self.on_cpu_s * 1000:.1f} on CPU + {blocked * 1000:.1f} "
                f"blocked or asleep + {self.waiting_s * 1000:.1f} waiting for a CPU")
        if self.peer_waiting_s >= 0.0005:
            text += f"; thread {self.peer!r} waited {self.peer_waiting_s * 1000:.1f} ms for a CPU meanwhile"
        return text


@dataclass(frozen=True)
class Stalls:
    """The worst gaps of one measurement."""

    worst: Gap  # the gap with the largest adjusted time: what the tests hold under their limit
    raw: Gap  # the gap with the largest wall time (often another gap): what a wall-clock meter would report
    accounted: bool

    @property
    def adjusted_s(self) -> float:
        return self.worst.adjusted_s

    @property
    def raw_s(self) -> float:
        return self.raw.wall_s

    def __str__(self) -> str:
        if not self.accounted:
            return f"worst stall {self.raw_s * 1000:.1f} ms wall (no schedstat: run-queue wait not subtracted)"
        return (f"worst stall {self.adjusted_s * 1000:.1f} ms less run-queue wait ({self.worst}); "
                f"worst raw gap {self.raw_s * 1000:.1f} ms ({self.raw})")


@dataclass(frozen=True)
class _Reading:
    wall_s: float
    on_cpu_ns: int
    waiting_ns: int
    peers: dict[int, tuple[str, int]]


class StallMeter:
    """Measures the UI event loop's worst gap, raw and less run-queue wait. Create and start it on the UI thread."""

    def __init__(self) -> None:
        self._worst = self._raw = Gap(0.0, 0.0, 0.0)
        self._clock: ThreadClock | None = None
        self._peers: PeerClocks | None = None
        self._last: _Reading | None = None
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        tid = threading.get_native_id()  # the thread the timer lives on and fires in
        self._clock, self._peers = ThreadClock(tid), PeerClocks(tid)
        self._last = self._now()
        self.timer.start()

    def _now(self) -> _Reading:
        """The clocks read as of one instant: were the thread preempted between reading the wall clock and its
        wait, that wait would be taken off the wrong gap, so the wait is read on both sides until it agrees."""
        assert self._clock is not None and self._peers is not None
        waiting = self._clock.waiting_ns()
        for _ in range(8):  # a preemption per try is rare; eight in a row would mean a broken reading
            wall, on_cpu = time.perf_counter(), time.thread_time_ns()
            again = self._clock.waiting_ns()
            if again == waiting:
                break
            waiting = again
        return _Reading(wall, on_cpu, waiting, self._peers.read())

    def _tick(self) -> None:
        now, last = self._now(), self._last
        assert last is not None
        peer_waits = {name: (wait - last.peers[tid][1] if tid in last.peers else wait)  # a new thread: all of it
                      for tid, (name, wait) in now.peers.items()}
        peer = max(peer_waits, key=peer_waits.__getitem__, default="")
        gap = Gap(now.wall_s - last.wall_s, (now.on_cpu_ns - last.on_cpu_ns) / 1e9,
                  (now.waiting_ns - last.waiting_ns) / 1e9, peer_waits.get(peer, 0) / 1e9, peer)
        self._last = now
        if gap.wall_s > self._raw.wall_s:
            self._raw = gap
        if gap.adjusted_s > self._worst.adjusted_s:
            self._worst = gap

    def stop(self) -> Stalls:
        self.timer.stop()
        gc.unfreeze()
        accounted = self._clock is not None and self._clock.accounted
        for clock in (self._clock, self._peers):
            if clock is not None:
                clock.close()
        return Stalls(worst=self._worst, raw=self._raw, accounted=accounted)
