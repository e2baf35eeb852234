"""`enclave models download` against a loopback Hub: the real huggingface_hub client, real HTTP, real files."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.library.conftest import TINY_COMMIT, TINY_REPO, Enclave
from tests.support.hub_server import HubServer, repo_from_folder

EXPORTER_FILES = {"config.json", "generation_config.json", "model.safetensors.index.json", "tokenizer.json",
                  "tokenizer_config.json"}


def _shards(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("model-*.safetensors")}


def _wait_for(condition, timeout: float = 60.0) -> None:
    """Waits for a condition another process brings about (bounded; not a timing assumption)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def test_download_fetches_exactly_the_exporter_files_once_and_records_them(hub: HubServer, enclave: Enclave,
                                                                             tiny_checkpoint: Path) -> None:
    enclave.env["HF_ENDPOINT"] = hub.url  # a mirror, as IT departments set it
    result = enclave.run("models", "download", TINY_REPO, "--target", "none", "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    folder = Path(record["folder"])
    assert folder.parent == enclave.library / "models"
    assert record["revision"] == TINY_COMMIT and record["verified"] == "verified"
    wanted = EXPORTER_FILES | _shards(tiny_checkpoint)
    assert {p.name for p in folder.iterdir()} == wanted | {"enclave-download.json"}
    for name in wanted:
        assert (folder / name).read_bytes() == (tiny_checkpoint / name).read_bytes()
    # nothing else was ever asked for: not original/, metal/, README.md, special_tokens_map.json
    fetched = {p.split("/resolve/")[-1].split("/", 1)[-1] for m, p, _ in hub.requests if "/resolve/" in p}
    fetched |= {p.split("/cdn/")[-1].split("/", 3)[-1] for m, p, _ in hub.requests if p.startswith("/cdn/")}
    assert fetched == wanted
    # every byte exactly once
    assert hub.sent == {name: (tiny_checkpoint / name).stat().st_size for name in wanted}
    listed = enclave.run("models", "list", "--json")
    assert [e["name"] for e in json.loads(listed.stdout)] == [record["name"]]
    # the window and telemetry stayed off: no request carried anything but the download
    assert all(not p.startswith("/api/telemetry") for _, p, _ in hub.requests)


def test_sigkill_mid_file_then_resume_fetches_no_byte_twice(hub: HubServer, enclave: Enclave,
                                                           tiny_checkpoint: Path) -> None:
    enclave.env["HF_ENDPOINT"] = hub.url
    shard = max(_shards(tiny_checkpoint), key=lambda n: (tiny_checkpoint / n).stat().st_size)
    size = (tiny_checkpoint / shard).stat().st_size
    stop = 20 * 1024 * 1024 + 12345
    hub.pause_after[shard] = stop
    process = enclave.start("models", "download", TINY_REPO, "--target", "none", "--quiet")
    part = enclave.library / ".downloads" / f"{TINY_REPO.replace('/', '--')}@{TINY_COMMIT}" / f"{shard}.part"
    assert hub.paused.wait(120), "the transfer never reached the pause point"
    _wait_for(lambda: part.is_file() and part.stat().st_size == stop)  # every byte sent is on disk
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    hub.release.set()
    assert part.stat().st_size == stop
    sent_before = dict(hub.sent)
    assert sent_before[shard] == stop
    del hub.pause_after[shard]

    result = enclave.run("models", "download", TINY_REPO, "--target", "none", "--json")
    assert result.returncode == 0, result.stderr
    folder = Path(json.loads(result.stdout)["folder"])
    assert (folder / shard).read_bytes() == (tiny_checkpoint / shard).read_bytes()
    assert hub.sent[shard] == size  # the server's own count: not one byte of the shard twice
    for name, count in hub.sent.items():
        assert count == (tiny_checkpoint / name).stat().st_size, name
    resumed = hub.gets_of(shard)[-1]
    assert resumed["range"] == f"bytes={stop}-"


def test_a_dropped_connection_resumes_in_the_same_run(hub: HubServer, enclave: Enclave,
                                                      tiny_checkpoint: Path) -> None:
    enclave.env["HF_ENDPOINT"] = hub.url
    shard = max(_shards(tiny_checkpoint), key=lambda n: (tiny_checkpoint / n).stat().st_size)
    hub.pause_after[shard] = 5_000_000
    hub.release.set()  # the server cuts the response short at the pause point instead of waiting
    result = enclave.run("models", "download", TINY_REPO, "--target", "none", "--json")
    assert result.returncode == 0, result.stderr
    assert hub.sent[shard] == (tiny_checkpoint / shard).stat().st_size
    assert [g.get("range") for g in hub.gets_of(shard)] == ["bytes=0-", "bytes=5000000-"]


def test_bytes_that_do_not_match_the_listed_hash_are_refused_and_nothing_is_installed(
        hub: HubServer, enclave: Enclave, tiny_checkpoint: Path) -> None:
    enclave.env["HF_ENDPOINT"] = hub.url
    shard = sorted(_shards(tiny_checkpoint))[1]
    good = (tiny_checkpoint / shard).read_bytes()
    hub.corrupt[shard] = good[:1000] + bytes(b ^ 0xFF for b in good[1000:1010]) + good[1010:]  # same size
    result = enclave.run("models", "download", TINY_REPO, "--target", "none")
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert shard in message and "does not match the Hub's LFS SHA-256" in message, message
    assert not (enclave.library / "models").exists()
    staging = enclave.library / ".downloads" / f"{TINY_REPO.replace('/', '--')}@{TINY_COMMIT}"
    assert not (staging / f"{shard}.part").exists() and not (staging / shard).exists()
    assert json.loads(enclave.run("models", "list", "--json").stdout) == []


def test_the_catalog_pins_win_over_what_a_mirror_lists(tiny_checkpoint: Path, hub_files, enclave: Enclave) -> None:
    from app.model_catalog import find_model

    official = find_model("gpt-oss-20b")
    fake = repo_from_folder(official.hub_repo, tiny_checkpoint, official.revision, hub_files)
    with HubServer([fake]) as server:
        enclave.env["HF_ENDPOINT"] = server.url
        result = enclave.run("models", "download", "gpt-oss-20b", "--target", "none")
        assert result.returncode == 1
        message = result.stderr.strip()
        assert "config.json" in message and "the catalog pins" in message, message
        assert server.sent == {}  # refused from the listing: nothing was downloaded


def test_an_unknown_repo_and_an_unreachable_mirror_are_one_sentence(hub: HubServer, enclave: Enclave) -> None:
    enclave.env["HF_ENDPOINT"] = hub.url
    result = enclave.run("models", "download", "nobody/nothing", "--target", "none")
    assert result.returncode == 1 and "has no model repository 'nobody/nothing'" in result.stderr
    enclave.env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # discard port: nothing listens
    result = enclave.run("models", "download", TINY_REPO, "--target", "none")
    assert result.returncode == 1
    assert "Cannot reach http://127.0.0.1:9" in result.stderr and "Traceback" not in result.stderr


def test_the_mirror_from_the_settings_is_used_without_hf_endpoint(hub: HubServer, enclave: Enclave) -> None:
    settings = enclave.home / "config" / "Enclave" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"hub_endpoint": hub.url}))
    result = enclave.run("models", "download", TINY_REPO, "--target", "none", "--json")
    assert result.returncode == 0, result.stderr
    assert any("/api/models/" in p for _, p, _ in hub.requests)


def test_cancel_keeps_the_partial_download_and_installs_nothing(hub: HubServer, isolated_home: Path,
                                                                tiny_checkpoint: Path) -> None:
    import threading

    from app.library.errors import Cancelled
    from app.library.hub import resolve_access
    from app.library.library import Library

    cancel = threading.Event()
    seen: list = []

    def progress(p) -> None:
        seen.append(p)
        if p.done > 30_000_000:
            cancel.set()

    library = Library()
    with pytest.raises(Cancelled):
        library.download(TINY_REPO, resolve_access(hub.url, None, None), progress=progress, cancel=cancel)
    assert library.entries() == []
    assert not (library.root / "models").exists()
    partial = sum(p.stat().st_size for p in (library.root / ".downloads").rglob("*")
                  if p.is_file() and p.name != "enclave-download.json")
    assert partial > 30_000_000
    assert any(p.speed_bps for p in seen) and any(p.eta_s is not None for p in seen)
    assert all(p.total == seen[0].total for p in seen)
    # going on later asks only for what is not on disk: bytes still in the network when Cancel was pressed
    # (sent by the server, never received) are the only ones that come again
    before = sum(hub.sent.values())
    in_flight = before - partial
    entry = library.download(TINY_REPO, resolve_access(hub.url, None, None))
    total = sum((tiny_checkpoint / n).stat().st_size for n in entry.files)
    assert sum(hub.sent.values()) == total + in_flight
    assert in_flight < 16 * 1024 * 1024  # socket buffers, not a restart from zero


def test_offline_mode_is_lifted_only_inside_the_download(hub: HubServer, isolated_home: Path) -> None:
    from huggingface_hub import constants

    from app.library.hub import hub_session, resolve_access

    constants.HF_HUB_OFFLINE = True
    inside = {}
    with hub_session(resolve_access(hub.url, None, None)) as client:
        inside.update(offline=constants.HF_HUB_OFFLINE, telemetry_off=constants.HF_HUB_DISABLE_TELEMETRY,
                      xet_off=constants.HF_HUB_DISABLE_XET)
        assert client.resolve(TINY_REPO, "main") == TINY_COMMIT
    assert inside == {"offline": False, "telemetry_off": True, "xet_off": True}
    assert constants.HF_HUB_OFFLINE is True
    from huggingface_hub import HfApi
    from huggingface_hub.errors import OfflineModeIsEnabled

    with pytest.raises(OfflineModeIsEnabled):  # outside the scope huggingface_hub refuses to go online
        HfApi(endpoint=hub.url).model_info(TINY_REPO)
