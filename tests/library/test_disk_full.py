"""A full disk: refused before the download starts, and a disk that fills up mid-file keeps what was fetched.

The library is put on a small tmpfs mounted in a private mount namespace (`unshare -m`), so the real disk is
never filled; the test reaches that tmpfs from outside through /proc/<pid>/root.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.library.conftest import TINY_REPO, Enclave
from tests.support.hub_server import HubServer


def _can_mount_tmpfs(tmp_path: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    target = tmp_path / "probe"
    target.mkdir()
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            f"mount -t tmpfs -o size=1m tmpfs {target}"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path):
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("needs `unshare -m` and tmpfs mounts (root or user namespaces)")

    def command(enclave: Enclave, size_mb: int, *args: str) -> list[str]:
        library = tmp_path / "small-disk"
        library.mkdir(exist_ok=True)
        enclave.env["ENCLAVE_LIBRARY"] = str(library)
        inner = " ".join(f"'{a}'" for a in enclave.command(*args))
        return ["unshare", "-m", "--propagation", "private", "sh", "-c",
                f"mount -t tmpfs -o size={size_mb}m tmpfs '{library}' && exec {inner}"]

    return command, tmp_path / "small-disk"


def test_not_enough_space_is_one_sentence_before_any_byte_is_fetched(hub: HubServer, enclave: Enclave,
                                                                     small_disk) -> None:
    command, _library = small_disk
    enclave.env["HF_ENDPOINT"] = hub.url
    result = subprocess.run(command(enclave, 60, "models", "download", TINY_REPO, "--target", "none"),
                            env=enclave.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    message = result.stderr.strip()
    assert message.startswith("enclave models: Not enough free space: this needs 116.5 MB for the rest of the "
                              "gpt-oss-tiny download in "), message
    assert "free at least" in message and "Traceback" not in message
    assert hub.sent == {}


def test_a_disk_that_fills_up_mid_file_keeps_the_partial_download(hub: HubServer, enclave: Enclave,
                                                                  small_disk, tiny_checkpoint: Path) -> None:
    command, library = small_disk
    enclave.env["HF_ENDPOINT"] = hub.url
    shard = max((p for p in tiny_checkpoint.glob("model-*.safetensors")), key=lambda p: p.stat().st_size).name
    hub.pause_after[shard] = 10_000_000
    process = subprocess.Popen(command(enclave, 200, "models", "download", TINY_REPO, "--target", "none"),
                               env=enclave.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert hub.paused.wait(120)
        inside = Path(f"/proc/{process.pid}/root") / library.relative_to("/")
        filler = inside / "filler"
        with open(filler, "wb") as handle:  # something else fills the disk while the download waits
            try:
                while True:
                    handle.write(b"\0" * (1024 * 1024))
                    handle.flush()
            except OSError:
                pass
        hub.release.set()
        _out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, err
    message = err.strip().splitlines()[-1]
    assert "the disk is full" in message and shard in message and "are kept" in message, message
    assert "Traceback" not in err
