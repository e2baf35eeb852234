"""Killing the app mid-reply loses at most the reply in flight: a real writer process is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.storage import HistoryStore, MessageStatus, Role

KILL_AFTER = 20  # committed updates seen before the kill; the child keeps writing while we react


def _kill(proc: subprocess.Popen[str]) -> None:
    if hasattr(signal, "SIGKILL"):
        os.kill(proc.pid, signal.SIGKILL)
    else:  # Windows: TerminateProcess, equally abrupt
        proc.kill()
    proc.wait(timeout=30)


@pytest.mark.timeout(120)
def test_killed_writer_keeps_partial_reply_marked_interrupted(db_path: Path, passphrase: str) -> None:
    writer = Path(__file__).with_name("crash_writer.py")
    repo_root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, str(writer), str(db_path)], cwd=repo_root, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=os.environ.copy())
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()
        if ready[:1] != ["ready"]:
            proc.wait(timeout=30)
            pytest.fail(f"writer failed to start: {proc.stderr.read() if proc.stderr else ''}")
        conv_id, reply_id = int(ready[1]), int(ready[2])
        for line in proc.stdout:
            if line.strip() == f"committed {KILL_AFTER}":
                break
        else:
            pytest.fail("writer exited before reaching the kill point")
        _kill(proc)  # lands anywhere: between commits or in the middle of one
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode != 0

    with HistoryStore.open(db_path) as store:
        assert store.recovered_message_ids == [reply_id]
        messages = store.get_messages(conv_id)
    assert [m.role for m in messages] == [Role.USER, Role.ASSISTANT]
    assert messages[0].content == "Tell me a long story." and messages[0].status is MessageStatus.COMPLETE
    reply = messages[1]
    assert reply.id == reply_id and reply.status is MessageStatus.INTERRUPTED
    # Content and reasoning were written in one transaction each time, so they must describe the same update n.
    n = int(reply.reasoning.removeprefix("thinking "))
    assert n >= KILL_AFTER
    assert reply.content == "".join(f"chunk{i} " for i in range(n + 1))

    with HistoryStore.open(db_path) as store:  # the interrupted mark was persisted, not re-applied
        assert store.recovered_message_ids == []
        assert store.get_message(reply_id).status is MessageStatus.INTERRUPTED
