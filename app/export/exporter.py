"""`export_model`: a gpt-oss checkpoint folder -> a finished package folder, or nothing at all.

Everything is written into a hidden temporary folder beside OUT and renamed to OUT only after the last byte
(and manifest.json, which comes last) is on disk. Any failure or a cancel removes the temporary folder, so a
half-written package can never be mistaken for a real one and an existing OUT is never touched.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app import __version__
from app.checkpoint.weights import GENERATION_CONFIG_FILE, METADATA_FILES, Checkpoint, CheckpointError
from app.export import experts
from app.export.builder import GraphBuilder
from app.export.context import ExportOptions, LayerContext
from app.export.genai_config import genai_config, sliding_window_section
from app.export.graph import ExportCancelled, build_graph
from app.json_files import read_json_object
from app.package.manifest import (
    DATA_FILE,
    GENAI_CONFIG_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    TOKENIZER_CONFIG_FILE,
    TOKENIZER_FILE,
    FileEntry,
    Manifest,
    SourceModel,
    write_manifest,
)
from app.package.local_record import remember_source
from app.package.targets import INT4, INT8, SHARED_BUFFER, target_record
from app.progress import LoadProgress

EXPORTER_VERSION = __version__
ProgressCallback = Callable[[LoadProgress], None]

# Share of the progress bar for each phase (layers dominate; hashing a 13-60 GB checkpoint is noticeable).
_LAYERS_END = 0.80
_HASH_END = 0.99

# The manifest's description of each tensor group's storage, after the activations and the KV cache (both the
# target's activation dtype); the experts' depends on the source too (app.export.experts.ENCODINGS).
_DTYPES = {
    "cpu": {"attention": "float32", "router": "float32", "embeddings": "bfloat16", "lm_head": "float32"},
    "cpu-int4": {"attention": "float32", "router": "float32", "embeddings": "bfloat16", "lm_head": "float32"},
    "cuda": {"attention": "float16", "router": "float16", "embeddings": "bfloat16", "lm_head": "float16"},
    "dml": {"attention": "float32", "router": "float32", "embeddings": "float16 (exact for bf16, cast to float32)",
            "lm_head": "float16 (exact for bf16, cast to float32)"},
}
_NOTES = {
    "cpu": ("ORT's CPU QMoE quantises activations to int8 inside 8-bit experts.",),
    "cpu-int4": ("Experts are symmetric int4 (float32 activations); the lm_head and attention projections are int8 "
                 "with int8 activations unless exported with --lm-head full / --projections full.",),
    "cuda": ("Experts are MXFP4 codes with E8M0 scales (QMoE quant_type=fp4).",),
    "dml": ("Attention and experts are built from operators DirectML implements.",),
}


class ExportError(RuntimeError):
    """The export could not finish; the message is one sentence naming the file and the problem."""


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    manifest: Manifest
    seconds: float


def _remove_stale_partials(out: Path) -> None:
    """Removes what an export to `out` that was killed (power cut, task manager) left behind.

    The temporary folder's name carries its exporter's process id; a folder whose process no longer runs
    can never be finished, so it only wastes disk (gigabytes, for a real model).
    """
    import psutil

    for folder in out.parent.glob(f".{out.name}.partial-*"):
        pid_text = folder.name.rsplit(".partial-", 1)[1].split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not psutil.pid_exists(int(pid_text)):
            shutil.rmtree(folder, ignore_errors=True)


def export_model(
    src: Path,
    out: Path,
    target: str,
    *,
    options: ExportOptions | None = None,
    on_progress: ProgressCallback = lambda _p: None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """Exports checkpoint `src` to the package folder `out` for `target`.

    Raises CheckpointError (bad input), ExportError (cannot write OUT) or ExportCancelled; in every one of
    those cases nothing is left behind and an existing `out` is untouched.
    """
    try:
        record = target_record(target)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc
    options = options or ExportOptions()
    started = time.monotonic()
    src, out = Path(src), Path(out)
    on_progress(LoadProgress("Checking the checkpoint", 0.0))
    checkpoint = Checkpoint.open(src)
    tokenizer = src / TOKENIZER_FILE
    if not tokenizer.is_file():
        raise CheckpointError(f"{tokenizer}: missing; the package needs the model's tokenizer")
    limit = checkpoint.config.max_position_embeddings
    if options.context_length is not None and not 1 <= options.context_length <= limit:
        raise ExportError(f"context length {options.context_length} is out of range; this model supports 1 to {limit}")
    if out.exists():
        raise ExportError(f"{out}: already exists; choose a new output folder or remove the old one first")
    if not out.parent.is_dir():
        raise ExportError(f"{out.parent}: the folder to create the package in does not exist")

    _remove_stale_partials(out)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    writing = tmp
    try:
        tmp.mkdir()
        ctx = LayerContext(config=checkpoint.config, weights=checkpoint, target=target,
                           float_type=record.float_type, options=options)
        n_layers = checkpoint.config.num_hidden_layers

        def layer_done(i: int) -> None:
            on_progress(LoadProgress(f"Converted layer {i + 1} of {n_layers}",
                                     round(_LAYERS_END * (i + 1) / n_layers, 4)))

        writing = tmp / DATA_FILE
        with GraphBuilder(writing) as builder:
            io = build_graph(builder, ctx, on_layer=layer_done, cancel=cancel)
            writing = tmp / MODEL_FILE
            builder.save(writing)
        _check_cancel(cancel)

        for name in (TOKENIZER_FILE, TOKENIZER_CONFIG_FILE):
            if (src / name).is_file():
                writing = tmp / name
                shutil.copyfile(src / name, writing)
        writing = tmp / GENAI_CONFIG_FILE
        shared = record.kv_layout == SHARED_BUFFER
        window_layers = [i for i in range(checkpoint.config.num_hidden_layers) if ctx.window_capacity(i)]
        window = (sliding_window_section(ctx.window(window_layers[0]), window_layers, ctx.window_cache_slack)
                  if window_layers else None)
        _write_json(writing, genai_config(checkpoint.config, target=target, context_length=ctx.context_length,
                                          shared_kv_buffer=shared, eos_token_ids=_eos_ids(src, checkpoint),
                                          sliding_window=window))

        on_progress(LoadProgress("Computing checksums of the checkpoint", _LAYERS_END))
        inputs = tuple(FileEntry.of(src, path) for path in _input_files(src, checkpoint))
        _check_cancel(cancel)
        on_progress(LoadProgress("Computing checksums of the package", (_LAYERS_END + _HASH_END) / 2))
        files = tuple(FileEntry.of(tmp, path) for path in sorted(tmp.iterdir()) if path.is_file())
        manifest = Manifest(
            target=target,
            exporter_version=EXPORTER_VERSION,
            source=_source_model(src),
            inputs=inputs,
            files=files,
            dtypes=_dtypes(ctx),
            context_length=ctx.context_length,
            config=checkpoint.config.as_dict(),
            io=io.as_dict(),
            created_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            notes=_NOTES[target] + (("DEBUG MUTATION: this package is deliberately wrong (tests only).",)
                                    if options.mutated else ()),
        )
        writing = tmp / MANIFEST_FILE
        write_manifest(tmp, manifest)
        _sync_folder(tmp)
        _check_cancel(cancel)
        writing = out
        if out.exists():  # created by someone else while we worked: never replace it
            raise ExportError(f"{out}: appeared while exporting; the new package was discarded")
        os.rename(tmp, out)
        remember_source(manifest, src)  # where the checkpoint is on this computer, outside the package
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(_os_error_sentence(exc, writing, tmp, out)) from exc
    except CheckpointError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except ValueError as exc:  # a weight the target cannot represent (e.g. beyond float16's range)
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"Cannot export {src} for {target}: {exc}; nothing was written to {out}.") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    on_progress(LoadProgress("Export finished", 1.0))
    return ExportResult(folder=out, manifest=manifest, seconds=time.monotonic() - started)


def _sync_folder(folder: Path) -> None:
    """Flushes every file of the finished package (and the folder entry) to disk before it is renamed into
    place, so a power cut cannot leave a complete-looking package with empty files."""
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    if hasattr(os, "O_DIRECTORY"):  # POSIX: directory entries need their own fsync
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _dtypes(ctx: LayerContext) -> dict[str, str]:
    dtypes = {"activations": ctx.record.activations, "kv_cache": np.dtype(ctx.kv_type).name, **_DTYPES[ctx.target]}
    encoding = experts.ENCODINGS[ctx.target]
    dtypes["experts"] = encoding.from_mxfp4 if ctx.weights.experts_are_mxfp4 else encoding.from_float
    if ctx.record.experts == INT4:
        dtypes["experts"] = dtypes["experts"].replace("block-wise", f"block-{ctx.expert_block_size}")
    block = ctx.dense_block_size
    if ctx.lm_head_bits == 8:
        dtypes["lm_head"] = f"int8 block-{block} (MatMulNBits, int8 activations)"
    if ctx.record.experts in (INT8, INT4) and not ctx.options.experts_fp32:
        dtypes["expert_scales"] = "float16 (float32 in a layer whose scales float16 would move by over 2^-10)"
    if ctx.embedding_bits:
        dtypes["embeddings"] = (f"int{ctx.embedding_bits} block-{block} (GatherBlockQuantized, dequantised rows, "
                                "float16 scales where they fit)")
    if ctx.projection_bits == 8:
        dtypes["attention"] = (f"int8 block-{block} QKV/O projections (MatMulNBits, int8 activations); "
                               "float32 softmax")
    if ctx.options.experts_fp32:
        dtypes["experts"] = "float32 (diagnostic MoE op)"
    return dtypes


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ExportCancelled("export cancelled")


def _os_error_sentence(exc: OSError, writing: Path, tmp: Path, out: Path) -> str:
    """One sentence naming the file (as it would have been called in OUT) and what went wrong."""
    path = Path(exc.filename) if exc.filename else writing
    try:
        shown = out / path.relative_to(tmp)
    except ValueError:
        shown = path
    if exc.errno == errno.ENOSPC:
        problem = "the disk is full"
    elif exc.errno == errno.EFBIG:
        problem = "the file grew larger than this file system or account allows"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        problem = "permission denied"
    else:
        problem = exc.strerror or str(exc)
    return f"Cannot write {shown}: {problem}; nothing was written to {out}."


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")


def _input_files(src: Path, checkpoint: Checkpoint) -> list[Path]:
    """The checkpoint files the package was built from (hashed into the manifest)."""
    files = [src / n for n in METADATA_FILES if (src / n).is_file()]
    return files + [p for p in checkpoint.shard_files if p not in files]


def _eos_ids(src: Path, checkpoint: Checkpoint) -> list[int]:
    """End-of-turn ids from generation_config.json when present (gpt-oss lists <|return|>, <|endoftext|>,
    <|call|>), else config.json's; a checkpoint that names none is refused (the engine could never stop)."""
    path = src / GENERATION_CONFIG_FILE
    if path.is_file():
        value = read_json_object(path, CheckpointError).get("eos_token_id")
        if isinstance(value, int):
            return [value]
        if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
            return list(value)
    if not checkpoint.config.eos_token_ids:
        raise CheckpointError(f"{src}: neither config.json nor generation_config.json names an end-of-generation "
                              "token (eos_token_id)")
    return list(checkpoint.config.eos_token_ids)


def _source_model(src: Path) -> SourceModel:
    """Name and revision, never the path: a Hugging Face cache snapshot (models--org--name/snapshots/<commit>)
    gives both, another folder its own name."""
    resolved = src.resolve()
    parent = resolved.parent
    if parent.name == "snapshots" and parent.parent.name.startswith("models--"):
        name = parent.parent.name[len("models--"):].replace("--", "/")
        return SourceModel(name=name, revision=resolved.name)
    return SourceModel(name=resolved.name, revision=None)
