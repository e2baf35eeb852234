"""Progress of a long library job (download, copy, hashing): bytes, speed and time left, for the CLI and the window."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.library.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """One report. `done`/`total` are bytes of the whole job; speed and ETA are None until they mean something."""

    phase: str  # what is happening, for people: "Downloading model-00001-of-00002.safetensors"
    done: int
    total: int
    speed_bps: float | None = None
    eta_s: float | None = None

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total > 0 else None

    def describe(self) -> str:
        """`Downloading x: 1.2 of 13.8 GB, 45.0 MB/s, 4 min 40 s left`."""
        parts = [f"{self.phase}: {format_bytes(self.done)} of {format_bytes(self.total)}"]
        if self.speed_bps:
            parts.append(f"{format_bytes(self.speed_bps)}/s")
        if self.eta_s is not None:
            parts.append(f"{format_duration(self.eta_s)} left")
        return ", ".join(parts)


ProgressCallback = Callable[[Progress], None]


def no_progress(_progress: Progress) -> None:
    return None


def format_bytes(count: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(count) >= size:
            return f"{count / size:.1f} {unit}"
    return f"{int(count)} bytes"


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds} s"


class Meter:
    """Turns byte counts into Progress reports: speed over a sliding window of a few seconds, at most ~10 reports/s.

    Bytes that were already on disk (a resumed download) count towards `done` but not towards the speed.
    """

    WINDOW_S = 5.0
    MIN_INTERVAL_S = 0.1

    def __init__(self, total: int, report: ProgressCallback, cancel: threading.Event | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.done = 0
        self._report = report
        self._cancel = cancel
        self._clock = clock
        self._samples: list[tuple[float, int]] = []
        self._transferred = 0
        self._last_report = float("-inf")
        self.phase = ""

    def check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled("cancelled")

    def skip(self, count: int) -> None:
        """Bytes that need no transfer (already downloaded and checked)."""
        self.done += count
        self.emit(force=True)

    def add(self, count: int) -> None:
        """Bytes just transferred; raises Cancelled when the user asked to stop."""
        self.done += count
        self._transferred += count
        now = self._clock()
        self._samples.append((now, self._transferred))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.WINDOW_S:
            self._samples.pop(0)
        self.emit()
        self.check_cancel()

    def speed(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else None

    def emit(self, *, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._last_report < self.MIN_INTERVAL_S and self.done < self.total:
            return
        self._last_report = now
        speed = self.speed()
        eta = (self.total - self.done) / speed if speed else None
        self._report(Progress(self.phase, self.done, self.total, speed, eta))
