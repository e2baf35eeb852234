"""Process memory (current and peak RSS) and a measured memory-bandwidth ceiling.

Decode on CPU is memory-bound: every token streams the active weights from RAM once. The bandwidth probe
gives the ceiling that decode speed is compared with (bytes per token x tokens per second / ceiling). It
streams arrays far larger than any CPU cache with NumPy, whose reductions and copies release the GIL, so
running one chunk per thread measures what all cores together can pull from memory.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
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
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


@dataclass(frozen=True)
class Bandwidth:
    read_bytes_per_s: float  # streaming read (max over the array)
    copy_bytes_per_s: float  # bytes read + bytes written per second by a large copy
    threads: int
    array_bytes: int

    @property
    def ceiling(self) -> float:
        """The best of the probes: what decode could reach if it did nothing but stream weights."""
        return max(self.read_bytes_per_s, self.copy_bytes_per_s)


def measure_bandwidth(array_bytes: int = 512 * 2**20, threads: int | None = None, repeats: int = 5) -> Bandwidth:
    """Best-of-`repeats` streaming read and copy bandwidth over `array_bytes` (split across `threads`)."""
    import os

    n_threads = threads or os.cpu_count() or 1
    per = array_bytes // n_threads // 4
    srcs = [np.ones(per, dtype=np.float32) for _ in range(n_threads)]
    dsts = [np.empty_like(s) for s in srcs]
    total = per * 4 * n_threads

    # max, not sum: NumPy's pairwise float sum is compute-bound below memory speed; max vectorises fully.
    def read(i: int) -> float:
        return float(np.maximum.reduce(srcs[i]))

    def copy(i: int) -> None:
        np.copyto(dsts[i], srcs[i])

    with ThreadPoolExecutor(n_threads) as pool:
        def timed(fn: object) -> float:
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                list(pool.map(fn, range(n_threads)))  # type: ignore[arg-type]
                best = min(best, time.perf_counter() - t0)
            return best

        timed(copy)  # warm-up: first touch of dst pages
        read_s = timed(read)
        copy_s = timed(copy)
    return Bandwidth(total / read_s, 2 * total / copy_s, n_threads, total)
