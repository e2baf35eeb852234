"""Temporary folders: private, removed at exit, and swept at the next start when the process was killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import tempdirs

MAKE_AND_WAIT = ("import sys\n"
                 "from app.tempdirs import private_temp_dir\n"
                 "folder = private_temp_dir(sys.argv[1])\n"
                 "(folder / 'history.db').write_bytes(b'sealed')\n"
                 "print(folder, flush=True)\n"
                 "sys.stdin.read()\n")  # waits for the parent: killed, or told to exit normally


def _child(tmp: Path, kind: str = "session") -> tuple[subprocess.Popen, Path]:
    env = dict(os.environ, TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp))
    child = subprocess.Popen([sys.executable, "-c", MAKE_AND_WAIT, kind], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
    return child, Path(child.stdout.readline().strip())


def test_a_folder_is_private_and_removed_at_normal_exit(tmp_path: Path) -> None:
    child, folder = _child(tmp_path)
    assert folder.parent == tmp_path and folder.name.startswith(f"enclave-session-{child.pid}-")
    if os.name == "posix":
        assert folder.stat().st_mode & 0o777 == 0o700
    owner = json.loads((folder / ".owner").read_text())
    assert owner["pid"] == child.pid
    child.communicate("")  # stdin closed: the child returns from main and atexit runs
    assert not folder.exists()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_runs_folders_are_removed_by_the_next_start(tmp_path: Path) -> None:
    killed, folder = _child(tmp_path)
    running, kept = _child(tmp_path, "smoke")
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert folder.exists()  # nothing ran at exit
    env = dict(os.environ, TMPDIR=str(tmp_path), TEMP=str(tmp_path), TMP=str(tmp_path))
    subprocess.run([sys.executable, "-m", "app", "policy", "show"], env=env, check=True, capture_output=True,
                   timeout=120)
    assert not folder.exists()
    assert kept.exists()  # its process still runs
    running.communicate("")
    assert not kept.exists()


def test_sweep_keeps_live_owners_and_removes_reused_pids_and_quiet_legacy_folders(tmp_path: Path) -> None:
    live = tmp_path / f"enclave-session-{os.getpid()}-live"
    live.mkdir()
    (live / ".owner").write_text(json.dumps({"pid": os.getpid(), "started": tempdirs._start_time(os.getpid())}))
    reused = tmp_path / f"enclave-session-{os.getpid()}-reused"  # our pid, but someone else's start time
    reused.mkdir()
    (reused / ".owner").write_text(json.dumps({"pid": os.getpid(), "started": 12345.0}))
    legacy_old = tmp_path / "enclave-session-k2j4h1"  # Enclave 0.1 names, no owner file
    legacy_old.mkdir()
    (legacy_old / "settings.json").write_text('{"last_model": "/models/secret-project"}')
    legacy_new = tmp_path / "enclave-smoke-a8d7f0"
    legacy_new.mkdir()
    unrelated = tmp_path / "enclave-notes"
    unrelated.mkdir()
    hour_ago = time.time() - 2 * tempdirs.LEGACY_QUIET_S
    for path in (legacy_old, legacy_old / "settings.json"):
        os.utime(path, (hour_ago, hour_ago))
    removed = tempdirs.sweep_stale(tmp_path)
    assert sorted(removed) == sorted([reused, legacy_old])
    assert live.exists() and legacy_new.exists() and unrelated.exists()


def test_the_document_sandbox_scratch_folder_is_removed() -> None:
    """The reader child's HOME and temp folder is one of ours: whatever a parser managed to write there (on Linux
    the child's Landlock and RLIMIT_FSIZE refuse every write) is gone when the call returns."""
    import tempfile

    from app.documents.model import DocumentLimits, ExtractionError
    from app.documents.sandbox import run_isolated

    try:
        written = Path(run_isolated("tests.tempdirs.scratch_probe:write_scratch", [], name="probe.txt",
                                    limits=DocumentLimits()))
    except ExtractionError as exc:
        assert f"enclave-reader-{os.getpid()}-" in str(exc)  # refused inside the reader's own folder
    else:
        assert written.parent.name.startswith(f"enclave-reader-{os.getpid()}-")
        assert not written.parent.exists()
    assert list(Path(tempfile.gettempdir()).glob(f"enclave-reader-{os.getpid()}-*")) == []
