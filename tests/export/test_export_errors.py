"""Bad input and failures while writing: one clear sentence, a non-zero exit code, and nothing left behind."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import app.export.builder as builder_module
from app.cli.main import main
from app.engine.events import LoadProgress
from app.export.context import ExportOptions
from app.export.exporter import ExportError, export_model
from app.export.graph import ExportCancelled
from tests.support.test_models import copy_checkpoint, rewrite_safetensors_header

REPO = Path(__file__).resolve().parents[2]


def _export_cli(capsys: pytest.CaptureFixture[str], src: Path, out: Path, target: str = "cpu") -> tuple[int, str]:
    rc = main(["export", str(src), str(out), "--target", target, "--quiet", "--context-length", "256"])
    return rc, capsys.readouterr().err


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _one_sentence(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_folder_without_config_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "src").mkdir()
    rc, err = _export_cli(capsys, tmp_path / "src", tmp_path / "out")
    assert rc != 0
    assert "config.json" in _one_sentence(err)
    assert _leftovers(tmp_path) == ["src"]


def test_non_gpt_oss_model_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "llama"
    src.mkdir()
    (src / "config.json").write_text(json.dumps({"model_type": "llama"}))
    rc, err = _export_cli(capsys, src, tmp_path / "out")
    assert rc != 0 and "gpt_oss" in _one_sentence(err)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("edit", "field"), [
    (lambda c: c.update(rope_parameters={**c.pop("rope_scaling"), "rope_type": "dynamic"}),
     "rope_parameters.rope_type"),
    (lambda c: c.update(attention_bias=False), "attention_bias"),
    (lambda c: c.update(quantization_config={"quant_method": "gptq", "bits": 4}), "quantization_config.quant_method"),
    (lambda c: c.update(sliding_window=None), "sliding_window"),
    (lambda c: c.update(use_sliding_window=True), "'use_sliding_window'"),
], ids=["dynamic rope", "no attention bias", "gptq", "no window", "unknown field"])
def test_config_the_graph_cannot_reproduce_is_refused(tiny_checkpoint: Path, tmp_path: Path, edit, field: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    """A computation-changing field Enclave does not implement: one sentence naming config.json and the field,
    exit 1, no package and no temporary folder."""
    src = tmp_path / "src"
    src.mkdir()
    for item in tiny_checkpoint.iterdir():
        (src / item.name).symlink_to(item)
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    edit(config)
    (src / "config.json").unlink()
    (src / "config.json").write_text(json.dumps(config))
    rc, err = _export_cli(capsys, src, tmp_path / "out")
    line = _one_sentence(err)
    assert rc == 1 and str(src / "config.json") in line and field in line, line
    assert _leftovers(tmp_path) == ["src"]


def test_a_checkpoint_that_names_no_end_token_is_refused(tiny_checkpoint: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for item in tiny_checkpoint.iterdir():
        if item.name not in ("config.json", "generation_config.json"):
            (src / item.name).symlink_to(item)
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    del config["eos_token_id"]
    (src / "config.json").write_text(json.dumps(config))
    rc, err = _export_cli(capsys, src, tmp_path / "out")
    line = _one_sentence(err)
    assert rc == 1 and "end-of-generation token (eos_token_id)" in line and str(src) in line
    assert _leftovers(tmp_path) == ["src"]


def test_a_generation_config_that_is_not_an_object_is_refused(tiny_checkpoint: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for item in tiny_checkpoint.iterdir():
        if item.name != "generation_config.json":
            (src / item.name).symlink_to(item)
    (src / "generation_config.json").write_text("[200002]")
    rc, err = _export_cli(capsys, src, tmp_path / "out")
    line = _one_sentence(err)
    assert rc == 1 and f"{src / 'generation_config.json'} is not a JSON object" in line, line
    assert _leftovers(tmp_path) == ["src"]


def test_missing_shard_is_named(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = copy_checkpoint(tiny_checkpoint, tmp_path / "src")
    shard = sorted(src.glob("model-*.safetensors"))[1]
    shard.unlink()
    rc, err = _export_cli(capsys, src, tmp_path / "out")
    assert rc != 0 and shard.name in _one_sentence(err) and "missing" in err
    assert _leftovers(tmp_path) == ["src"]


def test_truncated_shard_is_named(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = copy_checkpoint(tiny_checkpoint, tmp_path / "src")
    shard = sorted(src.glob("model-*.safetensors"))[-1]
    with open(shard, "r+b") as handle:
        handle.truncate(shard.stat().st_size - 1000)
    rc, err = _export_cli(capsys, src, tmp_path / "out")
    assert rc != 0 and shard.name in _one_sentence(err)
    assert _leftovers(tmp_path) == ["src"]


def test_wrong_shapes_are_named(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = copy_checkpoint(tiny_checkpoint, tmp_path / "src")
    config = json.loads((src / "config.json").read_text())
    config["intermediate_size"] = 2 * config["intermediate_size"]
    (src / "config.json").write_text(json.dumps(config))
    rc, err = _export_cli(capsys, src, tmp_path / "out")
    sentence = _one_sentence(err)
    assert rc != 0 and "shape" in sentence and "model.layers.0.mlp" in sentence


def test_wrong_dtype_is_named(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A shard whose header calls a bf16 tensor I16 (same bytes, other meaning) is refused, not converted. (F16
    and F32 are legitimate: transformers saves fine-tunes in any floating-point dtype.)"""
    src = copy_checkpoint(tiny_checkpoint, tmp_path / "src")
    name = "model.layers.1.self_attn.sinks"
    shard = src / json.loads((src / "model.safetensors.index.json").read_text())["weight_map"][name]

    def edit(header: dict) -> None:
        header[name]["dtype"] = "I16"

    rewrite_safetensors_header(shard, edit)
    rc, err = _export_cli(capsys, src, tmp_path / "out")
    sentence = _one_sentence(err)
    assert rc != 0 and shard.name in sentence and name in sentence and "dtype I16" in sentence
    assert _leftovers(tmp_path) == ["src"]


def test_unknown_target_in_the_library(tiny_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown export target 'tpu'"):
        export_model(tiny_checkpoint, tmp_path / "out", "tpu")
    assert _leftovers(tmp_path) == []


def test_unknown_target_is_an_argparse_error(tiny_checkpoint: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tiny_checkpoint), str(tmp_path / "out"), "--target", "tpu"])
    assert exit_info.value.code != 0
    assert "invalid choice: 'tpu'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_existing_output_is_left_alone(tiny_checkpoint: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    rc, err = _export_cli(capsys, tiny_checkpoint, out)
    assert rc != 0 and "already exists" in _one_sentence(err)
    assert _leftovers(out) == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"


class _FillingDisk(io.BufferedWriter):
    """A real file that reports 'no space left' once it holds more than `limit` bytes."""

    limit = 4 * 1024 * 1024

    def write(self, data: object) -> int:  # type: ignore[override]
        if self.tell() > self.limit:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)  # type: ignore[arg-type]


def test_disk_full_while_writing_weights(tiny_checkpoint: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def filling_open(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        raw = io.FileIO(str(path), mode.replace("b", ""))
        return _FillingDisk(raw)

    monkeypatch.setattr(builder_module, "open", filling_open, raising=False)
    rc, err = _export_cli(capsys, tiny_checkpoint, tmp_path / "out")
    sentence = _one_sentence(err)
    assert rc != 0
    assert "model.onnx.data" in sentence and "disk is full" in sentence
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_file_size_limit_in_a_real_process(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """The kernel itself refuses the write (EFBIG under RLIMIT_FSIZE): same clean failure, nothing left."""
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (8 * 1024 * 1024, 8 * 1024 * 1024))\n"
        "from app.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-c", script, "export", str(tiny_checkpoint), str(out), "--target", "cpu", "--quiet"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert result.returncode != 0
    sentence = _one_sentence(result.stderr)
    assert "Cannot write" in sentence and str(out) in sentence
    assert _leftovers(tmp_path) == []


def test_cancel_between_layers_leaves_nothing(tiny_checkpoint: Path, tmp_path: Path) -> None:
    cancel = threading.Event()
    seen: list[LoadProgress] = []

    def progress(event: LoadProgress) -> None:
        seen.append(event)
        if event.message.startswith("Converted layer 1"):
            cancel.set()

    with pytest.raises(ExportCancelled):
        export_model(tiny_checkpoint, tmp_path / "out", "cpu", on_progress=progress, cancel=cancel)
    assert _leftovers(tmp_path) == []
    assert not any(p.message.startswith("Converted layer 3") for p in seen)


def test_progress_reaches_one_in_order(tiny_checkpoint: Path, tmp_path: Path) -> None:
    seen: list[float] = []
    export_model(tiny_checkpoint, tmp_path / "out", "cpu",
                 on_progress=lambda p: seen.append(p.fraction if p.fraction is not None else -1.0))
    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == 1.0


def test_output_parent_must_exist(tiny_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        export_model(tiny_checkpoint, tmp_path / "missing" / "out", "cpu")


def test_value_beyond_float16_is_refused_for_cuda(tiny_checkpoint: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """bf16 reaches 3e38, float16 only 65504: the cuda target names the tensor instead of writing inf."""
    import numpy as np

    from app.checkpoint.safetensors_io import f32_to_bf16_bits, read_header

    src = copy_checkpoint(tiny_checkpoint, tmp_path / "src")
    name = "model.layers.0.self_attn.sinks"
    weight_map = json.loads((src / "model.safetensors.index.json").read_text())["weight_map"]
    shard = src / weight_map[name]
    entry = read_header(shard).entries[name]
    with open(shard, "r+b") as handle:
        handle.seek(entry.offset)
        handle.write(f32_to_bf16_bits(np.array([1e6], dtype=np.float32)).tobytes())
    rc, err = _export_cli(capsys, src, tmp_path / "out", target="cuda")
    sentence = _one_sentence(err)
    assert rc != 0 and name in sentence and "float16" in sentence
    assert _leftovers(tmp_path) == ["src"]


def test_missing_tokenizer_is_named(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = copy_checkpoint(tiny_checkpoint, tmp_path / "src")
    (src / "tokenizer.json").unlink()
    rc, err = _export_cli(capsys, src, tmp_path / "out")
    assert rc != 0 and "tokenizer.json" in _one_sentence(err)
    assert _leftovers(tmp_path) == ["src"]


def test_context_length_beyond_the_model_is_refused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="out of range"):
        export_model(tiny_checkpoint, tmp_path / "out", "cpu", options=ExportOptions(context_length=10**9))
    assert _leftovers(tmp_path) == []


def test_leftovers_of_a_killed_export_are_removed(tiny_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    # A real process that has ended: its pid is free, so the folder it left can never be finished.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".pkg.partial-{dead.stdout.strip()}-deadbeef"
    stale.mkdir()
    (stale / "model.onnx.data").write_bytes(b"\0" * 1024)
    alive = tmp_path / f".pkg.partial-{os.getppid()}-cafecafe"  # another export still running: kept
    alive.mkdir()
    export_model(tiny_checkpoint, out, "cpu", options=ExportOptions(context_length=256))
    assert (out / "manifest.json").is_file()
    assert not stale.exists() and alive.exists()
