"""Nothing leaves the machine: the real window (`enclave gui --smoke --attach`) and `enclave chat --attach`, each
with a document read in the sandbox, under strace make no IPv4/IPv6 connection and no name lookup, and ONNX Runtime
leaves no Microsoft/DeveloperTools folder behind.

Without ORT_DISABLE_TELEMETRY (app/offline_env.py) both runs resolve mobile.events.data.microsoft.com about
5 s after the first InferenceSession and ORT writes a device id under ~/.cache/Microsoft/DeveloperTools; the runs
here last longer than that, and the test checks that they did, so a regression cannot slip through a short run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.privacy.tracing import Trace, run_traced

# ORT's uploader first fires ~5 s after the session starts; a run must outlast it to prove anything.
MIN_TRACED_SECONDS = 8.0


def enclave_command() -> list[str]:
    script = Path(sys.executable).with_name("enclave")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def assert_offline(trace: Trace, what: str) -> None:
    assert trace.returncode == 0, f"{what} failed:\n{trace.stderr[-2000:]}"
    assert trace.inet_connects() == [], f"{what} connected out:\n" + "\n".join(trace.inet_connects()[:10])
    assert trace.dns_lookups() == [], f"{what} looked names up:\n" + "\n".join(trace.dns_lookups()[:10])
    assert trace.inet_sockets() == [], f"{what} opened network sockets:\n" + "\n".join(trace.inet_sockets()[:10])
    assert trace.ort_telemetry_folders() == [], f"{what} let ONNX Runtime write {trace.ort_telemetry_folders()}"


@pytest.mark.slow
def test_window_with_a_document_makes_no_connection_and_no_lookup(long_cpu_package: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    doc = tmp_path / "harbour-log.md"
    doc.write_text("# Harbour log\n\nThe crane at pier 4 was inspected by Solberg Lifting on Tuesday.\n",
                   encoding="utf-8")
    trace = run_traced([*enclave_command(), "gui", "--smoke", str(long_cpu_package), "--prompt", "Who inspected it?",
                        "--attach", str(doc), "--max-tokens", "900", "--screenshot", str(tmp_path / "smoke.png")],
                       home)
    assert_offline(trace, "enclave gui --smoke --attach")
    result = json.loads(trace.stdout.strip().splitlines()[-1])
    assert result["ok"] and result["new_tokens"] > 0, result
    assert result["attached"] == ["harbour-log.md"]
    assert result["citations"] == ["harbour-log.md › Harbour log"], trace.stderr  # read in the (traced) sandbox
    assert trace.seconds >= MIN_TRACED_SECONDS, f"the run took {trace.seconds:.1f} s, too short to show telemetry"


@pytest.mark.slow
def test_cli_chat_with_a_document_makes_no_connection_and_no_lookup(long_cpu_package: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    doc = tmp_path / "depot-notes.txt"
    doc.write_text("Maintenance notes.\n\nThe generator at the Kirkenes depot is serviced by Halvorsen Marine.\n",
                   encoding="utf-8")
    trace = run_traced([*enclave_command(), "chat", str(long_cpu_package), "--prompt", "Who services it?",
                        "--attach", str(doc), "--ignore-eos", "--max-tokens", "3000", "--json"], home)
    assert_offline(trace, "enclave chat --attach")
    result = json.loads(trace.stdout.strip().splitlines()[-1])
    assert result["citations"] == ["depot-notes.txt lines 1-3"], trace.stderr  # read in the (traced) sandbox
    assert trace.seconds >= MIN_TRACED_SECONDS, f"the run took {trace.seconds:.1f} s, too short to show telemetry"
