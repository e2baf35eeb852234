"""`enclave chat` end to end on the tiny package, and its errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path


def enclave(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=240)


def test_chat_json_line(tiny_package: Path) -> None:
    done = enclave("chat", str(tiny_package), "--prompt", "Hi", "--max-tokens", "6", "--ignore-eos", "--json",
                   "--temperature", "0.8", "--seed", "3")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["new_tokens"] == 6 and result["stop_reason"] == "length"
    assert result["provider"] == "CPUExecutionProvider" and result["prompt_tokens"] > 10
    assert result["ttft_s"] > 0 and result["decode_tok_s"] > 0
    again = enclave("chat", str(tiny_package), "--prompt", "Hi", "--max-tokens", "6", "--ignore-eos", "--json",
                    "--temperature", "0.8", "--seed", "3")
    assert json.loads(again.stdout.strip().splitlines()[-1])["text"] == result["text"]


def test_chat_with_a_missing_data_file_fails_with_one_sentence(tiny_package: Path, tmp_path: Path) -> None:
    broken = Path(shutil.copytree(tiny_package, tmp_path / "broken"))
    (broken / "model.onnx.data").unlink()
    done = enclave("chat", str(broken), "--prompt", "Hi")
    assert done.returncode != 0
    assert "model.onnx.data" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
