"""`python -m app.bench.memory_limit`: real commands in a real memory cgroup (the kernel's own limit and OOM
killer; nothing mocked). The sizes are fixed here: the limit 64 MB, what the commands allocate or write far
enough on either side of it that the Python interpreter's own ~10-20 MB do not decide the outcome."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.bench.memory_limit import (GROUP_PREFIX, NOT_FOUND, REFUSED, Controller, find_controller,
                                    system_controller)

CONTROLLER = system_controller()
needs_cgroup = pytest.mark.skipif(
    CONTROLLER is None or (os.geteuid() != 0 and not os.access(CONTROLLER.group, os.W_OK)),
    reason="needs a cgroup memory controller and root to make a group in it")
LIMIT_GB = 0.064
LIMIT = 64_000_000
ROOT = Path(__file__).resolve().parents[2]


def _our_groups() -> set[str]:
    assert CONTROLLER is not None
    return {p.name for p in CONTROLLER.group.iterdir() if p.name.startswith(GROUP_PREFIX)}


def _limited(tmp_path: Path, code: str, *extra: str, user: list[str] | None = None) -> tuple[
        subprocess.CompletedProcess[str], dict]:
    """Runs `python -c code` under the 64 MB limit through the tool's command line; its result and JSON report."""
    report = tmp_path / "report.json"
    before = _our_groups()
    done = subprocess.run([*(user or []), sys.executable, "-m", "app.bench.memory_limit", "--gb", str(LIMIT_GB),
                           "--json", str(report), *extra, "--", sys.executable, "-I", "-c", code],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert _our_groups() == before, "the tool left its cgroup behind"
    return done, json.loads(report.read_text()) if report.exists() else {}


@needs_cgroup
def test_a_command_that_allocates_more_than_the_limit_is_oom_killed_and_reported(tmp_path: Path) -> None:
    done, report = _limited(tmp_path, "b = b'\\x01' * (256 << 20)")  # 256 MiB, every page written
    assert done.returncode == 137, done.stderr
    assert report["returncode"] == -9 and report["exit_status"] == 137
    assert report["oom_kills"] >= 1
    assert report["limit_bytes"] == LIMIT
    assert 0.9 * LIMIT <= report["peak_bytes"] <= LIMIT  # it met the limit and never passed it
    assert "OOM killer: yes" in done.stderr and "killed by signal 9 (SIGKILL)" in done.stderr


@needs_cgroup
def test_a_command_under_the_limit_runs_and_its_peak_is_the_groups(tmp_path: Path) -> None:
    done, report = _limited(tmp_path, "b = b'\\x01' * (32 << 20); print('done')")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"  # the command's own output is left alone
    assert report["returncode"] == 0 and report["oom_kills"] == 0
    assert 32 << 20 <= report["peak_bytes"] <= LIMIT
    assert report["max_rss_bytes"] >= 32 << 20 and report["minor_faults"] >= (32 << 20) // 4096
    assert "OOM killer: no" in done.stderr


@needs_cgroup
def test_page_cache_the_command_fills_is_charged_to_its_limit(tmp_path: Path) -> None:
    # Writes 48 MiB to a file, 1 MiB at a time: its private memory stays small, its page cache does not.
    code = (f"import os\nf = os.open({str(tmp_path / 'data')!r}, os.O_WRONLY | os.O_CREAT)\n"
            "for _ in range(48):\n    os.write(f, b'\\x02' * (1 << 20))\nos.close(f)")
    done, report = _limited(tmp_path, code)
    assert done.returncode == 0, done.stderr
    assert report["max_rss_bytes"] < 40 << 20
    assert report["peak_bytes"] >= 48 << 20


@needs_cgroup
def test_the_commands_exit_status_is_passed_on(tmp_path: Path) -> None:
    done, report = _limited(tmp_path, "raise SystemExit(3)")
    assert done.returncode == 3 and report["returncode"] == 3 and report["oom_kills"] == 0


@needs_cgroup
def test_processes_the_command_leaves_in_the_group_are_ended_so_it_can_be_removed(tmp_path: Path) -> None:
    code = "import subprocess\np = subprocess.Popen(['sleep', '600'])\nprint(p.pid)"
    done, report = _limited(tmp_path, code)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    assert state in ("gone", "Z", "X")  # killed: reaped, or a zombie of an init that does not reap


@needs_cgroup
def test_a_sigterm_to_the_tool_ends_the_command_and_still_removes_the_group() -> None:
    before = _our_groups()
    tool = subprocess.Popen([sys.executable, "-m", "app.bench.memory_limit", "--gb", str(LIMIT_GB), "--",
                             sys.executable, "-I", "-c", "import time; print('ready', flush=True); time.sleep(600)"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert tool.stdout is not None and tool.stdout.readline() == "ready\n"  # the command is running
        tool.terminate()
        assert tool.wait(timeout=60) == 128 + 15
    finally:
        tool.kill()
    assert "killed by signal 15 (SIGTERM)" in tool.stderr.read()
    assert _our_groups() == before


@needs_cgroup
def test_a_missing_command_is_one_sentence_and_127(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "app.bench.memory_limit", "--gb", "1", "--",
                           str(tmp_path / "no-such-program")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == NOT_FOUND
    assert done.stderr.count("\n") == 1 and "command not found" in done.stderr


@needs_cgroup
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="running the tool as another user needs root and setpriv")
def test_without_root_it_refuses_in_one_sentence_and_runs_nothing(tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    marker = tmp_path / "ran"
    done, report = _limited(tmp_path, f"open({str(marker)!r}, 'w')",
                            user=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    assert done.returncode == REFUSED, done.stderr
    assert done.stderr.count("\n") == 1 and "needs root" in done.stderr
    assert not marker.exists() and report == {}


# Where the controller is, from /proc/self/cgroup and /proc/self/mountinfo as the kernel writes them (the first
# case is this development machine's: cgroup v1 for memory beside an empty v2 hierarchy; the others a
# v2-only machine such as current Ubuntu or Fedora), with a real cgroup.controllers file under tmp_path.
HYBRID_CGROUP = "4:memory:/process_api/abc\n1:cpu:/\n0::/\n"
V2_CGROUP = "0::/user.slice/user-1000.slice/session-2.scope\n"


def _mountinfo(*mounts: tuple[str, str, str]) -> str:
    return "".join(f"{30 + i} 23 0:{28 + i} / {point} rw,relatime - {fstype} {fstype} {options}\n"
                   for i, (point, fstype, options) in enumerate(mounts))


def test_the_v1_memory_hierarchy_is_taken_where_a_hybrid_machine_has_both(tmp_path: Path) -> None:
    unified = tmp_path / "unified"
    unified.mkdir()
    (unified / "cgroup.controllers").write_text("\n")  # v2 is there but holds no controller
    info = _mountinfo((str(tmp_path / "my\\040mem"), "cgroup", "rw,memory"), (str(unified), "cgroup2", "rw"),
                      (str(tmp_path / "cpu"), "cgroup", "rw,cpu"))
    assert find_controller(HYBRID_CGROUP, info) == Controller(1, tmp_path / "my mem" / "process_api" / "abc")


def test_a_v2_group_is_taken_only_where_its_controllers_include_memory(tmp_path: Path) -> None:
    group = tmp_path / "user.slice" / "user-1000.slice" / "session-2.scope"
    group.mkdir(parents=True)
    info = _mountinfo((str(tmp_path), "cgroup2", "rw,nsdelegate"))
    (group / "cgroup.controllers").write_text("cpuset cpu io pids\n")
    assert find_controller(V2_CGROUP, info) is None
    (group / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    assert find_controller(V2_CGROUP, info) == Controller(2, group)
    assert find_controller(V2_CGROUP, "") is None  # no cgroup file system mounted
