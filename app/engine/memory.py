"""Process memory (current and peak RSS) and a measured memory-bandwidth ceiling.

Decode on CPU is memory-bound: every token streams the active weights from RAM once. The bandwidth probe
gives the ceiling that decode speed is compared with (bytes per token x tokens per second / ceiling). It
streams arrays far larger than any CPU cache with NumPy, whose reductions and copies release the GIL, so
running one chunk per thread measures what all cores together can pull from memory (the same thread count
ORT's intra-op pool uses by default: one per core).
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def current_rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes."""
    if sys.platform == "win32":
        import psutil

        return int(psutil.Process().memory_info().peak_wset)
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB, macOS bytes


def rss_breakdown() -> dict[str, int]:
    """Linux only: resident anonymous memory (copies) vs file-backed pages (memory-mapped weights), in bytes.

    Memory-mapped weights show up in RSS once touched but are page cache that the OS can drop and share;
    RssAnon is what the process really owns. Empty on other systems."""
    return {k: v for k, v in process_memory().items() if k in ("RssAnon", "RssFile", "VmHWM")}


def process_memory(pid: int | str = "self") -> dict[str, int]:
    """Linux only: VmRSS, RssAnon (private copies), RssFile (memory-mapped pages) and VmHWM (peak RSS) of a
    process, in bytes; empty where /proc is missing or the process has gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


class MemoryWatch:
    """Samples a process's resident memory on a background thread and keeps the peaks.

    Why sample: the kernel keeps a high-water mark for RSS (VmHWM) but none for private memory, and RSS alone
    mixes memory-mapped weights (page cache the OS can drop and share) with the copies a process really owns,
    which is what decides whether a 16 GB laptop starts swapping. Sampling every `interval_s` catches
    allocations that live longer than that (ORT's arenas and prepacked weights live for the whole session).
    """

    def __init__(self, pid: int | str = "self", interval_s: float = 0.02, *, since_start: bool = False) -> None:
        """`since_start`: the RSS peak is the largest VmRSS sampled from now on, not the process's lifetime
        high-water mark (VmHWM), for a peak over one part of a run."""
        self.pid = pid
        self.interval_s = interval_s
        self.since_start = since_start
        self.peak_anon = 0
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-watch", daemon=True)
        self._thread.start()

    def sample(self) -> None:
        now = process_memory(self.pid)
        self.peak_anon = max(self.peak_anon, now.get("RssAnon", 0))
        rss = now.get("VmRSS", 0) if self.since_start else now.get("VmHWM", now.get("VmRSS", 0))
        self.peak_rss = max(self.peak_rss, rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def stop(self) -> MemoryWatch:
        self._stop.set()
        self._thread.join()
        self.sample()
        return self


@dataclass(frozen=True)
class Bandwidth:
    read_bytes_per_s: float  # streaming read (OR-reduction over the array)
    copy_bytes_per_s: float  # bytes read + bytes written per second by a large copy
    threads: int
    array_bytes: int

    @property
    def ceiling(self) -> float:
        """What decode could reach if it did nothing but stream weights: the read-only probe. Decode only reads
        weights; a copy also writes (streaming stores need no line fills), so its read+write byte count is no
        bound on reads and is reported for information only."""
        return self.read_bytes_per_s


class BandwidthProbe:
    """Streaming read and copy bandwidth over arrays allocated once, so it can run next to every benchmark round.

    Why next to every round: on a shared machine the bandwidth left to us changes by 1.5x from minute to minute
    (neighbours' jobs), so a ceiling measured minutes apart from the decode it is compared with makes the share
    mean nothing. Why an integer OR: it is the cheapest reduction NumPy vectorises, so it reads at memory speed
    where a float max or sum is partly compute-bound (measured on the 2-core CI machine: OR 48-65 GB/s, float
    max 43-47 GB/s over the same 1 GiB).
    """

    def __init__(self, array_bytes: int = 512 * 2**20, threads: int | None = None, repeats: int = 5) -> None:
        import os

        self.threads = threads or os.cpu_count() or 1
        self.repeats = repeats
        per = array_bytes // self.threads // 8
        self._srcs = [np.ones(per, dtype=np.uint64) for _ in range(self.threads)]
        self._dsts = [np.empty_like(s) for s in self._srcs]
        self.array_bytes = per * 8 * self.threads
        self._pool = ThreadPoolExecutor(self.threads)
        self._timed(self._copy)  # first touch of the destination pages

    def _read(self, i: int) -> int:
        return int(np.bitwise_or.reduce(self._srcs[i]))

    def _copy(self, i: int) -> None:
        np.copyto(self._dsts[i], self._srcs[i])

    def _timed(self, fn: Callable[[int], object]) -> float:
        best = float("inf")
        for _ in range(self.repeats):
            t0 = time.perf_counter()
            list(self._pool.map(fn, range(self.threads)))
            best = min(best, time.perf_counter() - t0)
        return best

    @property
    def resident_bytes(self) -> int:
        """What the probe's own arrays (source and destination, both touched) add to the process's memory."""
        return 2 * self.array_bytes

    def measure(self) -> Bandwidth:
        """Best-of-`repeats` read and copy bandwidth, all threads at once."""
        read_s = self._timed(self._read)
        copy_s = self._timed(self._copy)
        return Bandwidth(self.array_bytes / read_s, 2 * self.array_bytes / copy_s, self.threads, self.array_bytes)

    def close(self) -> None:
        self._pool.shutdown()
        self._srcs, self._dsts = [], []


def measure_bandwidth(array_bytes: int = 512 * 2**20, threads: int | None = None, repeats: int = 5) -> Bandwidth:
    """One measurement with a throw-away probe (see BandwidthProbe)."""
    probe = BandwidthProbe(array_bytes, threads, repeats)
    try:
        return probe.measure()
    finally:
        probe.close()


def release_free_heap() -> None:
    """Returns the C heap's free pages to the system (glibc's malloc_trim; nothing elsewhere).

    Why: glibc keeps freed memory below its mmap threshold (up to 32 MB a block) in the process for reuse, and a
    load frees a lot of it: the tokenizer's JSON parse and, when a prepacked copy is loaded, ORT's own re-packing
    of each weight (it re-packs the originals to check the saved blobs, then drops its copy). On the tiny
    cpu-int4 package that was ~147 MB of free heap counted as the process's private memory after load_model."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)
