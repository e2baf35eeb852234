"""`enclave gui --smoke` on bad folders answers with the real sentence within seconds, not after the timeout,
and changes no file (the same folders as tests/library/test_bad_folders.py, through the window)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TIMEOUT_S = 600  # the default: the old behaviour waited this long and said "no reply within 600 s"


def _snapshot(folder: Path) -> dict:
    return {p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.iterdir()) if p.is_file()}


def _smoke(folder: Path, tmp_path: Path) -> tuple[dict, float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ENCLAVE_PASSPHRASE="smoke-test",
               ENCLAVE_LIBRARY=str(tmp_path / "library"))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "app", "gui", "--smoke", str(folder), "--screenshot",
                           str(tmp_path / "shot.png"), "--timeout", str(TIMEOUT_S)],
                          capture_output=True, text=True, env=env, timeout=300)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout  # one result line
    return json.loads(lines[0]), elapsed


def test_an_empty_folder_under_smoke_says_why_at_once(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result, elapsed = _smoke(empty, tmp_path)
    assert result["ok"] is False and "is not a model folder" in result["error"]
    assert "no reply within" not in result["error"] and elapsed < 120


def test_a_checkpoint_under_smoke_says_how_to_convert_it(tiny_checkpoint: Path, tmp_path: Path) -> None:
    before = _snapshot(tiny_checkpoint)
    result, elapsed = _smoke(tiny_checkpoint, tmp_path)
    assert "is a Hugging Face checkpoint, not a model package" in result["error"]
    assert "enclave models import" in result["error"] and elapsed < 120
    assert _snapshot(tiny_checkpoint) == before


@pytest.mark.parametrize("damage", ["manifest-hashes", "overwritten"])
def test_a_damaged_package_under_smoke_is_refused_with_its_file(tiny_cpu_package: Path, tmp_path: Path,
                                                                damage: str) -> None:
    package = Path(shutil.copytree(tiny_cpu_package, tmp_path / "pkg"))
    if damage == "manifest-hashes":
        manifest = json.loads((package / "manifest.json").read_text())
        for entry in manifest["files"]:
            entry["sha256"] = "f" * 64
        (package / "manifest.json").write_text(json.dumps(manifest))
    else:
        data = package / "model.onnx.data"
        with open(data, "r+b") as handle:
            handle.seek(data.stat().st_size // 3)
            handle.write(os.urandom(4 * 1024 * 1024))
    before = _snapshot(package)
    result, elapsed = _smoke(package, tmp_path)
    assert "does not match the package manifest" in result["error"] and str(package) in result["error"]
    assert result["error"].count("does not match") == 1  # one sentence, once
    assert elapsed < 120 and _snapshot(package) == before


def test_smoke_attach_of_a_missing_file_is_refused_before_the_window_opens(tmp_path: Path) -> None:
    missing = tmp_path / "minutes.docx"
    proc = subprocess.run([sys.executable, "-m", "app", "gui", "--smoke", str(tmp_path), "--attach", str(missing)],
                          capture_output=True, text=True, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
                          timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == f"Cannot attach {missing}: there is no such file."


def test_smoke_attach_of_a_document_the_reader_refuses_says_why(tiny_cpu_package: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "report.docx"
    damaged.write_bytes(b"this is not a zip file")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ENCLAVE_LIBRARY=str(tmp_path / "library"))
    proc = subprocess.run([sys.executable, "-m", "app", "gui", "--smoke", str(tiny_cpu_package), "--attach",
                           str(damaged), "--screenshot", str(tmp_path / "shot.png")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ok"] is False and result["attached"] == ["report.docx"]
    assert "report.docx" in result["error"] and "reply" not in result, result  # nothing was sent


def test_a_model_the_policy_does_not_allow_is_refused_by_the_window(tiny_cpu_package: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"AllowedModels": ["0" * 64]}), encoding="utf-8")
    before = _snapshot(tiny_cpu_package)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ENCLAVE_LIBRARY=str(tmp_path / "library"),
               ENCLAVE_POLICY_FILE=str(policy))
    proc = subprocess.run([sys.executable, "-m", "app", "gui", "--smoke", str(tiny_cpu_package), "--screenshot",
                           str(tmp_path / "shot.png")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "Your organisation's policy does not allow opening" in result["error"] and "reply" not in result
    assert _snapshot(tiny_cpu_package) == before
