"""Folder recognition and target advice used by both the app and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.model_folder import FolderKind, NotAModelFolder, classify_model_folder, recommend_target


def test_recognises_each_layout(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "manifest.json").write_text("{}")
    genai = tmp_path / "genai"
    genai.mkdir()
    (genai / "genai_config.json").write_text("{}")
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    (hf / "model-00000-of-00001.safetensors").write_bytes(b"")
    assert classify_model_folder(pkg).kind is FolderKind.ENCLAVE_PACKAGE
    assert classify_model_folder(genai).kind is FolderKind.GENAI_FOLDER
    assert classify_model_folder(hf).needs_export


@pytest.mark.parametrize("make", ["missing", "file", "empty"])
def test_rejects_what_is_not_a_model(tmp_path: Path, make: str) -> None:
    target = tmp_path / "x"
    if make == "file":
        target.write_text("hello")
    elif make == "empty":
        target.mkdir()
    with pytest.raises(NotAModelFolder) as err:
        classify_model_folder(target)
    assert str(target) in str(err.value)


def test_target_advice_prefers_gpus_then_lossless_cpu_when_ram_allows() -> None:
    gb = 1024**3
    assert recommend_target(["CUDAExecutionProvider", "CPUExecutionProvider"], 8 * gb, 13 * gb) == "cuda"
    assert recommend_target(["DmlExecutionProvider", "CPUExecutionProvider"], 8 * gb, 13 * gb) == "dml"
    assert recommend_target(["CPUExecutionProvider"], 64 * gb, 13 * gb) == "cpu"
    assert recommend_target(["CPUExecutionProvider"], 16 * gb, 13 * gb) == "cpu-int4"
