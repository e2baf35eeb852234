"""`enclave serve` as a separate process, as a user or an IT department starts it: its output read line by line
(a reader thread; waiting on a line never sleeps), stopped with SIGTERM as a service manager would."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

STARTED = "Only programs on this computer can connect"


class ServeProcess:
    def __init__(self, args: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        # SIGINT as a terminal gives it, even if this test process was started with SIGINT ignored (inherited).
        self.process = subprocess.Popen([sys.executable, "-m", "app.cli.main", "serve", *args], env=env, cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = ""

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 120.0) -> re.Match[str]:
        """The first line (from here on) matching `pattern`; fails with all the output if none comes."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n" + "\n".join(self.lines))
            if line is None:
                self._queue.put(None)
                raise AssertionError(f"enclave serve ended (exit {self.process.wait()}) before {pattern!r}:\n"
                                     + "\n".join(self.lines))
            self.lines.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    def started(self) -> str:
        """Waits until the server listens; returns its base URL."""
        self.url = self.wait_for(r" at (https?://127\.0\.0\.1:\d+/v1)").group(1)
        self.wait_for(STARTED)
        return self.url

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stops it as a service manager does (SIGTERM), or as Ctrl+C in a terminal does (SIGINT)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._reader.join(10)
        while (line := self._queue.get_nowait() if not self._queue.empty() else None) is not None:
            self.lines.append(line)
        return code
