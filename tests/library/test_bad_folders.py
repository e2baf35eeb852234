"""Every bad model folder from issue 13 gets one sentence from `enclave chat` / `enclave models import`, within
seconds, and no file of it is changed. Real packages exported from the tiny checkpoint, damaged on a copy."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from tests.library.conftest import Enclave, copy_tree

SECONDS = 60  # generous for a loaded 2-core CI machine; a run here takes 2-6 s, mostly interpreter start-up


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns,
                                                hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_sentence(stderr: str, prefix: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(prefix) and lines[0].endswith("."), lines[0]
    assert "Traceback" not in stderr
    return lines[0]


def chat(enclave: Enclave, folder: Path) -> tuple[str, float]:
    started = time.monotonic()
    result = enclave.run("chat", str(folder), "--prompt", "hi", "--max-tokens", "4", timeout=SECONDS * 2)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    return one_sentence(result.stderr, "enclave chat: "), elapsed


def test_a_package_whose_manifest_hashes_are_all_wrong_is_refused(tiny_cpu_package: Path, tmp_path: Path,
                                                                 enclave: Enclave) -> None:
    package = copy_tree(tiny_cpu_package, tmp_path / "wrong-hashes")
    manifest = json.loads((package / "manifest.json").read_text())
    for entry in manifest["files"]:
        entry["sha256"] = "0" * 64
    (package / "manifest.json").write_text(json.dumps(manifest))
    before = snapshot(package)
    message, elapsed = chat(enclave, package)
    assert "SHA-256 does not match the package manifest" in message and str(package / "genai_config.json") in message
    assert snapshot(package) == before and elapsed < SECONDS


def test_four_megabytes_overwritten_at_the_same_size_are_found_on_open(tiny_cpu_package: Path, tmp_path: Path,
                                                                      enclave: Enclave) -> None:
    package = copy_tree(tiny_cpu_package, tmp_path / "overwritten")
    data = package / "model.onnx.data"
    size = data.stat().st_size
    with open(data, "r+b") as handle:
        handle.seek(size // 2)
        handle.write(os.urandom(4 * 1024 * 1024))
    assert data.stat().st_size == size
    before = snapshot(package)
    message, elapsed = chat(enclave, package)
    assert str(data) in message and "is corrupt" in message
    assert snapshot(package) == before and elapsed < SECONDS


def test_a_good_package_is_hashed_once_then_opened_by_sizes_and_times(tiny_cpu_package: Path, tmp_path: Path,
                                                                     enclave: Enclave) -> None:
    from app.library.records import VerifiedRecords

    package = copy_tree(tiny_cpu_package, tmp_path / "good")
    first = enclave.run("chat", str(package), "--prompt", "hi", "--max-tokens", "2")
    assert first.returncode == 0, first.stderr
    records = VerifiedRecords(enclave.library / "verified.json")
    assert str(package.resolve()) in records._load()
    # the same bytes rewritten (a new modification time): the full check runs again and still passes;
    # then a same-size change after a recorded open is caught
    data = package / "model.onnx.data"
    raw = bytearray(data.read_bytes())
    raw[100] ^= 0xFF
    data.write_bytes(bytes(raw))
    message, _ = chat(enclave, package)
    assert "is corrupt" in message


def test_a_garbage_tokenizer_of_the_right_size_is_one_sentence(tiny_cpu_package: Path, tmp_path: Path,
                                                              enclave: Enclave) -> None:
    package = copy_tree(tiny_cpu_package, tmp_path / "garbage-tokenizer")
    tokenizer = package / "tokenizer.json"
    size = tokenizer.stat().st_size
    tokenizer.write_bytes(b"{1" + b" " * (size - 3) + b"}")
    before = snapshot(package)
    message, _ = chat(enclave, package)
    assert str(tokenizer) in message
    assert snapshot(package) == before
    # with the manifest re-hashed to match (as a bad exporter would write it) the tokenizer itself is refused
    manifest = json.loads((package / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["path"] == "tokenizer.json":
            entry["sha256"] = hashlib.sha256(tokenizer.read_bytes()).hexdigest()
    (package / "manifest.json").write_text(json.dumps(manifest))
    message, _ = chat(enclave, package)
    assert "is not a valid tokenizer file" in message and "key must be a string" in message


def test_chat_on_a_checkpoint_says_how_to_convert_it(tiny_checkpoint: Path, enclave: Enclave) -> None:
    message, elapsed = chat(enclave, tiny_checkpoint)
    assert "is a Hugging Face checkpoint, not a model package" in message
    assert "enclave models import" in message and "enclave export" in message
    assert elapsed < SECONDS


def test_an_empty_folder_is_one_sentence(tmp_path: Path, enclave: Enclave) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    message, _ = chat(enclave, empty)
    assert "is not a model folder" in message


def test_a_corrupt_checkpoint_named_like_a_converted_one_never_opens_its_package(
        tiny_checkpoint: Path, tmp_path: Path, enclave: Enclave) -> None:
    first = copy_tree(tiny_checkpoint, tmp_path / "A" / "ckpt")
    imported = enclave.run("models", "import", str(first), "--target", "cpu", "--json", "--quiet")
    assert imported.returncode == 0, imported.stderr
    package = json.loads(imported.stdout)
    assert package["kind"] == "package" and package["target"] == "cpu"
    # the converted package is found from the same content, wherever it is
    same = enclave.run("chat", str(first), "--prompt", "hi", "--max-tokens", "2")
    assert same.returncode == 0 and "converted from this checkpoint" in same.stderr, same.stderr
    second = copy_tree(tiny_checkpoint, tmp_path / "B" / "ckpt")
    shard = sorted(second.glob("model-*.safetensors"))[0]
    with open(shard, "r+b") as handle:  # a copy that stopped short, as a pulled USB drive leaves it
        handle.truncate(shard.stat().st_size - 4096)
    before = snapshot(second)
    message, _ = chat(enclave, second)
    assert str(shard) in message and package["folder"] not in message  # never A's package
    result = enclave.run("models", "import", str(second), "--target", "cpu", "--quiet")
    assert result.returncode == 1
    assert str(shard) in one_sentence(result.stderr, "enclave models: ")
    assert snapshot(second) == before
    assert len(json.loads(enclave.run("models", "list", "--json").stdout)) == 2  # A's checkpoint and package


def test_import_of_a_downloaded_checkpoint_with_a_corrupted_shard_names_the_shard(
        tiny_checkpoint: Path, tmp_path: Path, enclave: Enclave) -> None:
    from app.library.download import DownloadPlan, PlannedFile, plan_record

    usb = copy_tree(tiny_checkpoint, tmp_path / "usb" / "gpt-oss-tiny")
    files = tuple(PlannedFile(p.name, p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest(), None,
                              "the Hub's LFS SHA-256") for p in sorted(usb.iterdir()))
    record = plan_record(DownloadPlan("test-org/gpt-oss-tiny", "main", "1" * 40, "gpt-oss-tiny", None, files))
    (usb / "enclave-download.json").write_text(json.dumps(record))  # what a library download leaves behind
    shard = sorted(usb.glob("model-*.safetensors"))[2]
    raw = bytearray(shard.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one bit, same size
    shard.write_bytes(bytes(raw))
    before = snapshot(usb)
    result = enclave.run("models", "import", str(usb), "--target", "none", "--quiet")
    assert result.returncode == 1
    message = one_sentence(result.stderr, "enclave models: ")
    assert f"{shard} is corrupt" in message
    assert snapshot(usb) == before
    assert json.loads(enclave.run("models", "list", "--json").stdout) == []
    assert not (enclave.library / "models").exists()


@pytest.mark.parametrize("in_place", [False, True])
def test_importing_a_package_verifies_its_manifest_then_copies_or_uses_it_in_place(
        tiny_cpu_package: Path, tmp_path: Path, enclave: Enclave, in_place: bool) -> None:
    usb = copy_tree(tiny_cpu_package, tmp_path / "usb" / "tiny-cpu")
    before = snapshot(usb)
    args = ["models", "import", str(usb), "--json", "--quiet"] + (["--in-place"] if in_place else [])
    result = enclave.run(*args)
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)
    assert entry["kind"] == "package" and entry["verified_against"] == "the package manifest"
    assert entry["in_place"] is in_place
    folder = Path(entry["folder"])
    assert (folder == usb) is in_place
    if not in_place:
        assert snapshot(folder).keys() == before.keys()
    chat_result = enclave.run("chat", str(folder), "--prompt", "hi", "--max-tokens", "2")
    assert chat_result.returncode == 0, chat_result.stderr
    listed = json.loads(enclave.run("models", "list", "--json").stdout)
    assert listed[0]["last_used_utc"].endswith("Z")  # the chat above used it
    removed = enclave.run("models", "remove", entry["name"], "--json")
    assert removed.returncode == 0, removed.stderr
    freed = json.loads(removed.stdout)
    if in_place:
        assert freed["freed_bytes"] == 0 and snapshot(usb) == before  # a folder used in place is never deleted
    else:
        assert freed["freed_bytes"] == sum(size for size, _m, _h in before.values()) and not folder.exists()
        assert snapshot(usb) == before


def test_a_hugging_face_cache_snapshot_is_checked_against_its_blob_hashes(tiny_checkpoint: Path, tmp_path: Path,
                                                                         enclave: Enclave) -> None:
    """IT often copies ~/.cache/huggingface: its LFS files are links to blobs named by their SHA-256."""
    repo = tmp_path / "hf-cache" / "models--test-org--gpt-oss-tiny"
    snapshot_dir = repo / "snapshots" / ("3" * 40)
    (repo / "blobs").mkdir(parents=True)
    snapshot_dir.mkdir(parents=True)
    for file in tiny_checkpoint.iterdir():
        data = file.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot_dir / file.name).symlink_to(Path("../../blobs") / blob.name)
    good = enclave.run("models", "import", str(snapshot_dir), "--in-place", "--target", "none", "--json", "--quiet")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["verified_against"] == "the Hugging Face cache's LFS SHA-256"
    assert enclave.run("models", "remove", json.loads(good.stdout)["name"]).returncode == 0
    shard = sorted(snapshot_dir.glob("model-*.safetensors"))[1]
    blob = shard.resolve()
    raw = bytearray(blob.read_bytes())
    raw[-100] ^= 0x10
    blob.write_bytes(bytes(raw))
    bad = enclave.run("models", "import", str(snapshot_dir), "--target", "none", "--quiet")
    assert bad.returncode == 1
    assert f"{shard} is corrupt" in one_sentence(bad.stderr, "enclave models: ")
