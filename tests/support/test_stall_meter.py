"""The stall meter itself: the machine's load is not a stall, a blocked UI thread is, with or without load.

Each case runs the real meter in a child process (tests/support/stall_probe.py) whose UI thread is pinned to one
CPU; busy-loop processes pinned to the same CPU compete with it. The child lowers its UI thread's priority so the
busy loops really keep it waiting (tens of ms per gap), which the test's own threads never do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.stall_meter import ThreadClock, schedstat_path

ROOT = Path(__file__).resolve().parents[2]
BLOCK_MS = 100
IDLE_LIMIT_S = 0.025  # a 5 ms tick plus its own work: half the UI tests' 50 ms limit, far above what idle reads
CLOCKS_S = 0.001  # perf_counter and the scheduler's clock are read one after the other

pytestmark = pytest.mark.skipif(not os.path.exists(schedstat_path(threading.get_native_id())),
                                reason="the kernel accounts no per-thread run-queue wait here (not Linux)")


@contextmanager
def busy_loops(cpu: int, count: int) -> Iterator[None]:
    """`count` processes spinning on `cpu` at normal priority until the block ends."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        for proc in procs:
            os.sched_setaffinity(proc.pid, {cpu})
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def probe(cpu: int, nice: int) -> dict[str, dict]:
    """The meter's readings in a child: 700 ms of an idle event loop, then a slot that blocks for BLOCK_MS."""
    done = subprocess.run([sys.executable, "-m", "tests.support.stall_probe", "--cpu", str(cpu), "--nice", str(nice),
                           "--idle-ms", "700", "--block-ms", str(BLOCK_MS)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    readings = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"idle: {readings['idle']['text']}\nblocked: {readings['blocked']['text']}")
    assert readings["idle"]["accounted"] and readings["blocked"]["accounted"]
    return readings


def _cpu() -> int:
    return max(os.sched_getaffinity(0))


def test_busy_loops_keeping_an_idle_ui_thread_off_its_cpu_are_load_not_a_stall() -> None:
    with busy_loops(_cpu(), 3):
        readings = probe(_cpu(), nice=14)
    idle = readings["idle"]
    assert idle["adjusted_s"] < IDLE_LIMIT_S, idle["text"]
    if idle["raw_s"] > 0.05:  # the load showed on the wall clock (it does in most runs): the wait explains it
        assert idle["raw_s"] - idle["raw_waiting_s"] < IDLE_LIMIT_S, idle["text"]
    # a UI thread that blocks is still caught beside the same load, and none of its block is written off as load
    assert readings["blocked"]["adjusted_s"] >= BLOCK_MS / 1000 - CLOCKS_S, readings["blocked"]["text"]


def test_a_blocked_ui_thread_is_a_stall_on_a_quiet_cpu() -> None:
    readings = probe(_cpu(), nice=0)
    assert readings["blocked"]["adjusted_s"] >= BLOCK_MS / 1000 - CLOCKS_S, readings["blocked"]["text"]
    assert readings["idle"]["adjusted_s"] < IDLE_LIMIT_S, readings["idle"]["text"]


def test_a_thread_the_kernel_does_not_account_reads_as_wall_time_only() -> None:
    clock = ThreadClock(os.getppid())  # not a thread of this process: no schedstat, as on a system without one
    assert not clock.accounted
    assert clock.waiting_ns() == 0  # no run-queue wait is subtracted: every gap counts in full
    clock.close()
