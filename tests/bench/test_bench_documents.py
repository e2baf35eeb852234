"""`python -m app.bench.documents`: the extraction benchmark beside the engine's, on two generated pages."""

from __future__ import annotations

import subprocess
import sys


def test_document_benchmark_runs_and_reports_pages_per_second() -> None:
    done = subprocess.run([sys.executable, "-m", "app.bench.documents", "--pages", "2", "--runs", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "2 pages per file, best of 1 runs"
    assert [line.split()[0] for line in lines[1:]] == ["PDF", "DOCX"]
    assert all("pages/s | sandboxed" in line for line in lines[1:])
