"""The sandbox process: a hung parser is killed at the deadline, a memory hog at the cap, a crash is reported,
progress and results come back, and a cancelled read stops. The caller survives all of it."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from app.documents.model import DocumentLimits, ErrorKind, ExtractionError
from app.documents.sandbox import extract_document, run_isolated


def _run(target: str, args: list, **limits) -> object:
    return run_isolated(f"tests.documents.doc_hostile:{target}", args, name="evil.pdf", limits=DocumentLimits(**limits))


def test_hanging_parser_is_stopped_at_the_timeout() -> None:
    with pytest.raises(ExtractionError) as info:
        _run("spin", [], timeout_s=1.5)
    assert info.value.kind is ErrorKind.TIMEOUT
    assert info.value.user_message.startswith("Reading evil.pdf took longer than the 1.5 s limit")


def test_real_extraction_with_a_tiny_timeout(table_pdf: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract_document(table_pdf, DocumentLimits(timeout_s=0.01))
    assert info.value.kind is ErrorKind.TIMEOUT and "procurement.pdf" in info.value.user_message


def test_memory_hog_hits_the_cap() -> None:
    with pytest.raises(ExtractionError) as info:
        _run("hog", [4096], memory_mb=400, timeout_s=30)
    assert info.value.kind is ErrorKind.MEMORY
    assert "evil.pdf needs more than the 400 MB memory limit" in info.value.user_message


def test_hog_within_the_cap_returns_its_result() -> None:
    assert _run("hog", [50], memory_mb=400, timeout_s=30) == 50


@pytest.mark.skipif(sys.platform == "win32", reason="os.abort shows a dialog on Windows")
def test_native_crash_is_reported() -> None:
    with pytest.raises(ExtractionError) as info:
        _run("die", [], timeout_s=30)
    assert info.value.kind is ErrorKind.CRASHED and "stopped unexpectedly" in info.value.user_message


def test_progress_is_forwarded_and_last_step_always_arrives() -> None:
    seen: list[tuple[int, int]] = []
    result = run_isolated("tests.documents.doc_hostile:count_pages", [500], name="x", limits=DocumentLimits(),
                          on_progress=lambda done, total: seen.append((done, total)))
    assert result == 500 and seen and seen[-1] == (500, 500)


def test_cancel_stops_the_read() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ExtractionError) as info:
        run_isolated("tests.documents.doc_hostile:spin", [], name="big.docx", limits=DocumentLimits(timeout_s=30), cancel=cancel)
    assert info.value.kind is ErrorKind.CANCELLED


def test_document_comes_back_whole(table_pdf: Path) -> None:
    pages: list[int] = []
    doc = extract_document(table_pdf, on_progress=lambda done, total: pages.append(done))
    assert doc.name == "procurement.pdf" and doc.metadata.pages == 3 and pages[-1] == 3
    assert [s.number for s in doc.sections] == [1, 2, 3]


def test_orphaned_child_ends_itself() -> None:
    """If the app dies mid-read nobody kills the child; it exits on its own shortly after the deadline."""
    import json
    import subprocess

    from app.documents.sandbox import EXIT_SELF_TIMEOUT, sandbox_command

    request = {"target": "tests.documents.doc_hostile:spin", "args": [], "memory_mb": 512, "self_deadline_s": 0.5}
    result = subprocess.run(sandbox_command(), input=json.dumps(request) + "\n", capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == EXIT_SELF_TIMEOUT
    assert [list(json.loads(line)) for line in result.stdout.splitlines()] == [["confined"]]  # and no reply
