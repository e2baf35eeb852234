"""This computer's records about its packages (app.package.local_record): where each one's checkpoint is, and
its verification verdicts. Real files in a temporary folder; the record file is passed explicitly."""

from __future__ import annotations

import os
import time
from pathlib import Path

from app.package.local_record import (
    MAX_FOLDERS,
    package_key,
    recall_sources,
    recall_verdict,
    remember_source,
    remember_verdict,
)
from app.package.manifest import FileEntry, Manifest, SourceModel


def _manifest(files: dict[str, str], inputs: tuple[FileEntry, ...] = ()) -> Manifest:
    return Manifest(target="cpu", exporter_version="t", source=SourceModel("m"), inputs=inputs,
                    files=tuple(FileEntry(name, 1, digest) for name, digest in files.items()), dtypes={},
                    context_length=1, config={}, io={})


def _checkpoint(folder: Path) -> tuple[Path, tuple[FileEntry, ...]]:
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"\0" * 100)
    return folder, tuple(FileEntry.of(folder, folder / n) for n in ("config.json", "model.safetensors"))


def test_a_source_is_recalled_and_known_unchanged_until_a_file_changes(tmp_path: Path) -> None:
    record = tmp_path / "records.json"
    folder, inputs = _checkpoint(tmp_path / "ckpt")
    manifest = _manifest({"model.onnx": "a" * 64, "model.onnx.data": "b" * 64}, inputs)
    assert remember_source(manifest, folder, path=record)
    (found,) = recall_sources(manifest, path=record)
    assert found.folder == folder.resolve() and found.unchanged(manifest)
    config = folder / "config.json"
    os.utime(config, ns=(time.time_ns(), config.stat().st_mtime_ns + 10**9))
    assert not recall_sources(manifest, path=record)[0].unchanged(manifest)
    (folder / "model.safetensors").unlink()
    assert not recall_sources(manifest, path=record)[0].unchanged(manifest)


def test_several_copies_of_a_checkpoint_newest_first_and_bounded(tmp_path: Path) -> None:
    record = tmp_path / "records.json"
    manifest = _manifest({"model.onnx": "a" * 64})
    folders = []
    for i in range(MAX_FOLDERS + 2):
        folder, _ = _checkpoint(tmp_path / f"copy{i}")
        folders.append(folder.resolve())
        remember_source(manifest, folder, path=record)
    remember_source(manifest, folders[-1], path=record)  # again: no duplicate
    assert [r.folder for r in recall_sources(manifest, path=record)] == folders[::-1][:MAX_FOLDERS]


def test_the_key_changes_with_any_file_graph_included(tmp_path: Path) -> None:
    one = _manifest({"model.onnx": "a" * 64, "model.onnx.data": "b" * 64})
    graph_changed = _manifest({"model.onnx": "c" * 64, "model.onnx.data": "b" * 64})
    assert package_key(one) != package_key(graph_changed)
    assert package_key(one) == package_key(_manifest({"model.onnx.data": "b" * 64, "model.onnx": "a" * 64}))


def test_verdicts_are_per_provider(tmp_path: Path) -> None:
    record = tmp_path / "records.json"
    manifest = _manifest({"model.onnx": "a" * 64})
    assert recall_verdict(manifest, "CPUExecutionProvider", path=record) is None
    remember_verdict(manifest, "CPUExecutionProvider", True, "fine.", path=record)
    remember_verdict(manifest, "CUDAExecutionProvider", False, "wrong.", path=record)
    cpu = recall_verdict(manifest, "CPUExecutionProvider", path=record)
    cuda = recall_verdict(manifest, "CUDAExecutionProvider", path=record)
    assert cpu is not None and cpu.passed and cpu.sentence == "fine." and cpu.when.endswith("Z")
    assert cuda is not None and not cuda.passed
    assert recall_verdict(manifest, "DmlExecutionProvider", path=record) is None


def test_a_damaged_record_reads_as_empty_and_is_rewritten(tmp_path: Path) -> None:
    record = tmp_path / "records.json"
    record.write_text("{not json")
    manifest = _manifest({"model.onnx": "a" * 64})
    assert recall_sources(manifest, path=record) == [] and recall_verdict(manifest, "x", path=record) is None
    assert remember_verdict(manifest, "x", True, "ok.", path=record)
    assert recall_verdict(manifest, "x", path=record) is not None


def test_an_unwritable_record_does_not_fail_the_caller(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    folder, inputs = _checkpoint(tmp_path / "ckpt")
    manifest = _manifest({"model.onnx": "a" * 64}, inputs)
    assert remember_source(manifest, folder, path=blocked / "records.json") is False
    assert remember_verdict(manifest, "x", True, "ok.", path=blocked / "records.json") is False
