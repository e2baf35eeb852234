"""What a compromised parser in the sandbox cannot do: run code from the working folder, see the app's secrets,
reach the network, write files, outlive the deadline through a grandchild, or hide memory in its children.
And which files are read at all: links only when picked and leading to a regular file, never special files.

Each hostile case of the issue, through the real sandbox process. Before the fix: an `app/` folder in the working
folder ran ("exit code 1: EVIL"), ENCLAVE_PASSPHRASE was visible, a loopback server received b"leak", a file was
written, a grandchild holding the pipes stretched a 3 s timeout to 40.1 s and survived, and four children of
300 MB each (977 MB resident under a 600 MB cap) were never stopped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from app.documents.extract import check_file, extract_in_process, read_checked
from app.documents.model import DocumentLimits, ErrorKind, ExtractionError
from app.documents.sandbox import extract_document, run_isolated

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="these layers exist on Linux only")
posix = pytest.mark.skipif(os.name != "posix", reason="fork and process groups are POSIX")


def _run(target: str, args: list, pids: list[int] | None = None, **limits) -> object:
    """Runs a stand-in parser; the pids it reports as progress(pid, 0) are appended to `pids`."""
    return run_isolated(f"tests.documents.doc_hostile:{target}", args, name="evil.pdf",
                        limits=DocumentLimits(**limits),
                        on_progress=lambda done, _total: pids.append(done) if pids is not None else None)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _refused(call, *args, **kwargs) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        call(*args, **kwargs)
    return info.value


def test_working_folder_code_is_not_imported(tmp_path: Path) -> None:
    evil = tmp_path / "x"
    (evil / "app").mkdir(parents=True)
    (evil / "app" / "__init__.py").write_text('raise SystemExit("EVIL")\n')
    (evil / "note.txt").write_text("The depot key is in the blue box.\n")
    enclave = Path(sys.executable).with_name("enclave")
    command = [str(enclave)] if enclave.exists() else [sys.executable, "-c",
                                                        "from app.cli.main import main; raise SystemExit(main())"]
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = subprocess.run([*command, "extract", "note.txt"], cwd=evil, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "blue box" in result.stdout and "EVIL" not in result.stdout + result.stderr


def test_child_is_isolated_and_sees_no_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENCLAVE_PASSPHRASE", "hunter2")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("PYTHONSTARTUP", str(tmp_path / "startup.py"))
    monkeypatch.chdir(tmp_path)
    environment = _run("environment", [], timeout_s=30)
    assert "hunter2" not in environment.values() and "hf_secret" not in environment.values()
    assert not {k for k in environment if k.startswith("PYTHON")}
    assert set(environment) <= {"HOME", "PATH", "LD_LIBRARY_PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT",
                                "WINDIR", "ORT_DISABLE_TELEMETRY", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY",
                                "HF_HUB_DISABLE_IMPLICIT_TOKEN", "DO_NOT_TRACK"}
    seen = _run("interpreter", [], timeout_s=30)
    assert seen["isolated"] == 1 and seen["no_user_site"] == 1 and seen["ignore_environment"] == 1
    assert "" not in seen["path"] and str(tmp_path) not in seen["path"]
    assert "enclave-reader-" in seen["cwd"]  # its own empty folder, not the app's working folder
    assert "enclave-reader-" in environment["HOME"] and environment["HOME"] != os.environ.get("HOME")


@linux
def test_no_network() -> None:
    import errno

    from app.netguard import network_allowed

    with network_allowed(["127.0.0.1"], reason="a test server the sandbox must not reach"):
        _no_network(errno.EACCES)


def _no_network(eacces: int) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        server.settimeout(10)
        try:
            conn, _ = server.accept()
            received.append(conn.recv(16))
        except OSError:
            pass

    watcher = threading.Thread(target=serve)
    watcher.start()
    layers: list[str] = []
    error = _refused(run_isolated, "tests.documents.doc_hostile:connect", [server.getsockname()[1]],
                     name="evil.pdf", limits=DocumentLimits(timeout_s=30), on_confined=layers.extend)
    assert error.kind is ErrorKind.CRASHED and "Error" in error.user_message
    lookup = _refused(_run, "lookup", ["example.com"], timeout_s=30)
    assert lookup.kind is ErrorKind.CRASHED
    server.close()
    watcher.join()
    assert received == []
    assert "seccomp (no sockets)" in layers
    # below any Python-level guard: the kernel itself refuses the socket
    assert _run("native_socket", [], timeout_s=30) == [-1, eacces]
    print("confinement layers here:", layers)


@posix
def test_no_file_written(tmp_path: Path) -> None:
    target = tmp_path / "dropped.txt"
    error = _refused(_run, "write_file", [str(target)], timeout_s=30)
    assert error.kind is ErrorKind.CRASHED
    assert not target.exists() or target.stat().st_size == 0


@posix
@pytest.mark.parametrize("finish", [False, True], ids=["child-spins", "child-replies"])
def test_grandchild_holding_the_pipes_is_killed_with_the_tree(finish: bool) -> None:
    pids: list[int] = []
    started = time.monotonic()
    if finish:
        assert _run("fork_holding_pipes", [60, True], pids, timeout_s=20) == "done"
    else:
        error = _refused(_run, "fork_holding_pipes", [60, False], pids, timeout_s=3)
        assert error.kind is ErrorKind.TIMEOUT
    elapsed = time.monotonic() - started
    assert elapsed < (8 if finish else 3 + 5), f"the call took {elapsed:.1f} s"
    assert len(pids) == 1 and not _alive(pids[0]), "the grandchild outlived the call"


@posix
def test_memory_of_the_whole_tree_is_counted() -> None:
    hogs: list[int] = []
    error = _refused(_run, "fork_hogs", [4, 150], hogs, memory_mb=400, timeout_s=60)
    assert error.kind is ErrorKind.MEMORY and "400 MB memory limit" in error.user_message
    assert hogs and not [p for p in hogs if _alive(p)], "a child outlived the call"


# --- which files are read ---------------------------------------------------------------------------------

@posix
def test_links_are_read_only_when_picked_and_leading_to_a_regular_file(tmp_path: Path) -> None:
    private = tmp_path / "elsewhere" / "shadow"
    private.parent.mkdir()
    private.write_text("root:$6$secret\n")
    link = tmp_path / "note.txt"
    link.symlink_to(private)
    refused = _refused(extract_document, link)  # a link the user did not pick as such
    assert refused.kind is ErrorKind.UNSUPPORTED and "symbolic link" in refused.user_message
    picked = extract_document(link, follow_picked_link=True)
    assert "secret" in picked.text and picked.name == "note.txt"
    assert any(str(private) in warning for warning in picked.warnings)  # the user is told what was read

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target, kind in ((Path("/dev/zero"), "a device"), (fifo, "a pipe"), (tmp_path, "a folder")):
        bad = tmp_path / f"to-{target.name or 'root'}.txt"
        bad.symlink_to(target)
        error = _refused(extract_document, bad, follow_picked_link=True)
        assert kind in error.user_message and error.user_message.startswith(bad.name)
    dangling = tmp_path / "gone.txt"
    dangling.symlink_to(tmp_path / "nothing-here")
    assert _refused(extract_document, dangling, follow_picked_link=True).kind is ErrorKind.MISSING


@posix
def test_special_files_are_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "stream.txt"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    started = time.monotonic()
    assert "a pipe" in _refused(extract_document, fifo).user_message
    assert "a device" in _refused(extract_document, Path("/dev/zero"), follow_picked_link=True).user_message
    assert time.monotonic() - started < 5


@posix
def test_file_swapped_after_the_check_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text("the report\n")
    checked = check_file(path, DocumentLimits())
    other = tmp_path / "other.txt"
    other.write_text("something else entirely\n")
    os.replace(other, path)  # same name, another file
    assert "changed after it was checked" in _refused(read_checked, checked, path.name).user_message
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere.txt")
    (tmp_path / "elsewhere.txt").write_text("x\n")
    assert "changed after it was checked" in _refused(read_checked, checked, path.name).user_message


def test_file_growing_after_the_check_is_read_to_its_checked_size(tmp_path: Path) -> None:
    path = tmp_path / "growing.log"
    path.write_text("line one\n")
    checked = check_file(path, DocumentLimits(max_file_bytes=1024))
    with path.open("a") as f:
        f.write("x" * 10_000_000)  # far past the size limit
    source, warnings = read_checked(checked, path.name)
    assert source.data == b"line one\n"
    assert any("grew while it was being read" in w for w in warnings)
    document = extract_in_process(tmp_path / "growing.log", DocumentLimits(max_file_bytes=100 * 2**20))
    assert document.metadata.size_bytes == path.stat().st_size  # a fresh check reads the whole (now larger) file
