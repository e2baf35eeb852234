"""A child process for the stall meter's own tests: an idle Qt event loop, measured, then one that blocks once.

Run as `python -m tests.support.stall_probe --cpu N --nice K --idle-ms T --block-ms B`. It pins its UI (main)
thread to one CPU and lowers that thread's priority (raising niceness needs no privilege, and lives and dies with
this process, so the test process's own threads are never changed), so that busy loops pinned beside it really keep
it off the CPU. It prints one JSON line: for each phase the meter's adjusted and raw worst gaps and the parts of
the worst adjusted gap, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from PySide6.QtCore import QCoreApplication, QTimer

from tests.support.stall_meter import Stalls, StallMeter


def as_json(stalls: Stalls) -> dict[str, float | bool]:
    return {"adjusted_s": stalls.adjusted_s, "raw_s": stalls.raw_s, "raw_waiting_s": stalls.raw.waiting_s,
            "accounted": stalls.accounted, "text": str(stalls)}


def measure(app: QCoreApplication, seconds: float, block_s: float | None) -> Stalls:
    """Runs the event loop under a meter for `seconds`, or with `block_s` until `seconds` after one slot that
    sleeps that long (the UI thread blocked, as by file I/O or a synchronous call) has run."""
    meter = StallMeter()
    meter.start()
    if block_s is None:
        QTimer.singleShot(int(seconds * 1000), app.quit)
    else:
        def block() -> None:
            time.sleep(block_s)
            QTimer.singleShot(int(seconds * 1000), app.quit)

        QTimer.singleShot(int(seconds * 1000), block)
    app.exec()
    return meter.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cpu", type=int, required=True)
    parser.add_argument("--nice", type=int, default=0)
    parser.add_argument("--idle-ms", type=int, required=True)
    parser.add_argument("--block-ms", type=int, required=True)
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {args.cpu})
    os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # on Linux: this thread only
    app = QCoreApplication([])
    idle = measure(app, args.idle_ms / 1000, None)
    blocked = measure(app, 0.1, args.block_ms / 1000)
    print(json.dumps({"idle": as_json(idle), "blocked": as_json(blocked)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
