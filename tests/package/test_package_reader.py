"""read_package: a complete package opens; missing, truncated, corrupt or foreign ones fail with one sentence.

Uses a small hand-made package (real files, real hashes) so these tests need no export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.checkpoint.config import GptOssConfig
from app.package import FileEntry, Manifest, PackageError, SourceModel, read_package, sha256_file, write_manifest
from app.package.manifest import REQUIRED_FILES


def _make_package(folder: Path) -> Path:
    folder.mkdir()
    for name, content in zip(REQUIRED_FILES, (b"onnx-graph", b"\0" * 5000, b'{"model": {}}', b"{}")):
        (folder / name).write_bytes(content)
    config = GptOssConfig(num_hidden_layers=2)
    manifest = Manifest(
        target="cpu", exporter_version="test", source=SourceModel(name="m"),
        inputs=(FileEntry("config.json", 10, "0" * 64),),
        files=tuple(FileEntry.of(folder, folder / n) for n in REQUIRED_FILES),
        dtypes={"activations": "float32"}, context_length=4096, config=config.as_dict(),
        io={"kv_layout": "shared-buffer", "kv_dtype": "float32", "takes_position_ids": False,
            "logits": "last-position"},
    )
    write_manifest(folder, manifest)
    return folder


def test_complete_package_opens_with_its_config(tmp_path: Path) -> None:
    package = read_package(_make_package(tmp_path / "pkg"), verify=True)
    assert package.target == "cpu"
    assert package.config == GptOssConfig(num_hidden_layers=2)
    assert package.io["kv_layout"] == "shared-buffer"
    assert package.model_path.name == "model.onnx" and package.data_path.is_file()


def test_sha256_streams_large_files(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"a" * (9 * 1024 * 1024))  # more than one 8 MB read
    import hashlib

    assert sha256_file(path) == hashlib.sha256(b"a" * (9 * 1024 * 1024)).hexdigest()


def _error(folder: Path, *, verify: bool = False) -> str:
    with pytest.raises(PackageError) as info:
        read_package(folder, verify=verify)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_folder(tmp_path: Path) -> None:
    assert "no such model package" in _error(tmp_path / "nowhere")


def test_missing_manifest_means_unfinished(tmp_path: Path) -> None:
    folder = _make_package(tmp_path / "pkg")
    (folder / "manifest.json").unlink()
    assert "manifest is missing" in _error(folder)


def test_missing_file_is_named(tmp_path: Path) -> None:
    folder = _make_package(tmp_path / "pkg")
    (folder / "tokenizer.json").unlink()
    assert "tokenizer.json" in _error(folder) and "missing" in _error(folder)


def test_truncated_file_is_caught_without_hashing(tmp_path: Path) -> None:
    folder = _make_package(tmp_path / "pkg")
    with open(folder / "model.onnx.data", "r+b") as handle:
        handle.truncate(100)
    message = _error(folder)
    assert "model.onnx.data" in message and "truncated" in message


def test_corrupt_file_is_caught_by_verify(tmp_path: Path) -> None:
    folder = _make_package(tmp_path / "pkg")
    data = folder / "model.onnx.data"
    data.write_bytes(b"\1" * data.stat().st_size)  # same size, different bytes
    read_package(folder)  # the cheap check cannot see it
    assert "SHA-256" in _error(folder, verify=True)


@pytest.mark.parametrize("change, expected", [
    (lambda m: m.update(format="something-else"), "format"),
    (lambda m: m.update(format_version=99), "format_version"),
    (lambda m: m.update(target="tpu"), "unknown target"),
    (lambda m: m.pop("io"), "'io' is missing"),
])
def test_foreign_or_damaged_manifest(tmp_path: Path, change, expected: str) -> None:  # noqa: ANN001
    folder = _make_package(tmp_path / "pkg")
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert expected in _error(folder)


def test_manifest_that_is_not_json(tmp_path: Path) -> None:
    folder = _make_package(tmp_path / "pkg")
    (folder / "manifest.json").write_text("{not json")
    assert "cannot be read as JSON" in _error(folder)


def test_a_format_1_manifest_from_enclave_0_1_still_opens(tmp_path: Path) -> None:
    """Packages written by the first exporter recorded an absolute source folder (format 1); they open, and the
    folder is kept only as a hint for verify (legacy_folder), never written again."""
    folder = _make_package(tmp_path / "pkg")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 1
    manifest["source"] = {"name": "gpt-oss-20b", "folder": "/home/someone/models/gpt-oss-20b", "revision": None}
    config = manifest["config"]
    config["eos_token_id"] = config.pop("eos_token_ids")[0]  # 0.1 recorded one id
    config.pop("experts_quantization")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    package = read_package(folder)
    assert package.manifest.source.legacy_folder == "/home/someone/models/gpt-oss-20b"
    assert package.config == GptOssConfig(num_hidden_layers=2)
    assert "someone" not in package.manifest.to_json()
