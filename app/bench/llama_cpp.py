"""llama.cpp as the benchmark's peer: its own `llama-bench` program on a GGUF made by its own converter.

llama.cpp is the engine inside Ollama, LM Studio and GPT4All, so it is what a user would otherwise run. It is
never a dependency of Enclave: the benchmark is pointed at a `llama-bench` binary and a GGUF file built
outside the project (docs/benchmarks.md has the commands), and runs it as a child process, one round per
call, alternating with ours, so both see the same machine.

Measured per round, with llama-bench's own timers:
- prefill: `-p N -n 0` (N prompt tokens into an empty context) -> prompt tok/s; TTFT = N / that speed.
- decode: `-p 0 -n M -d N` (M tokens generated after N tokens of context) -> decode tok/s at the same depth
  as ours.
Memory is the child's peak RSS (VmHWM) and peak private memory (RssAnon, sampled), read from /proc.

Weight bytes per decoded token come from the GGUF's own tensor table (`gguf_decode_bytes`): the tensor data
offsets give every tensor's stored size without a table of quantisation formats.
"""

from __future__ import annotations

import json
import struct
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.bench.measure import RoundResult
from app.bench.weights import Component, DecodeBytes, budget, decode_bytes
from app.engine.memory import MemoryWatch

GGUF_MAGIC = b"GGUF"
_DEFAULT_ALIGNMENT = 32
# GGUF metadata value types (gguf.md): id -> struct format of a scalar; 8 = string, 9 = array.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# llama.cpp's tensor names by component (as app.bench.weights.ONNX_COMPONENTS names ours): experts are stacked
# in *_exps tensors, the token embedding is gathered by row.
GGUF_COMPONENTS = (
    ("experts", ("_exps",)),
    ("attention", ("attn_q.", "attn_k.", "attn_v.", "attn_output.")),
    ("router", ("ffn_gate_inp.",)),
    ("embedding", ("token_embd.",)),
    ("lm_head", ("output.",)),
)


class LlamaCppError(RuntimeError):
    """llama-bench could not run or said something we cannot read; the message names the file."""


@dataclass(frozen=True)
class GgufTensor:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # from the start of the data section
    nbytes: int


def read_gguf_tensors(path: Path) -> list[GgufTensor]:
    """The tensor table of a GGUF file (version 2 or 3), with each tensor's stored size."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise LlamaCppError(f"{path} is not a GGUF file (no GGUF magic at its start)")
        version, n_tensors, n_kv = struct.unpack("<IQQ", f.read(20))
        if version not in (2, 3):
            raise LlamaCppError(f"{path} is GGUF version {version}; this reader knows versions 2 and 3")
        alignment = _DEFAULT_ALIGNMENT
        for _ in range(n_kv):
            key = _read_string(f)
            value = _read_value(f, struct.unpack("<I", f.read(4))[0])
            if key == "general.alignment" and isinstance(value, int):
                alignment = value
        infos = []
        for _ in range(n_tensors):
            name = _read_string(f)
            (n_dims,) = struct.unpack("<I", f.read(4))
            shape = struct.unpack(f"<{n_dims}Q", f.read(8 * n_dims))
            ggml_type, offset = struct.unpack("<IQ", f.read(12))
            infos.append((name, tuple(shape), ggml_type, offset))
        data_start = -(-f.tell() // alignment) * alignment
    ordered = sorted(infos, key=lambda t: t[3])
    ends = [t[3] for t in ordered[1:]] + [size - data_start]
    return [GgufTensor(name, shape, kind, offset, end - offset)
            for (name, shape, kind, offset), end in zip(ordered, ends, strict=True)]


def _read_string(f: BinaryIO) -> str:
    (n,) = struct.unpack("<Q", f.read(8))
    return f.read(n).decode("utf-8", errors="replace")


def _read_value(f: BinaryIO, kind: int) -> object:
    if kind in _SCALARS:
        fmt = _SCALARS[kind]
        return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]
    if kind == _STRING:
        return _read_string(f)
    if kind == _ARRAY:
        item_kind, count = struct.unpack("<IQ", f.read(12))
        if item_kind in _SCALARS:  # large token tables: skip the bytes instead of decoding them one by one
            f.seek(count * struct.calcsize(_SCALARS[item_kind]), 1)
            return None
        return [_read_value(f, item_kind) for _ in range(count)]
    raise LlamaCppError(f"unknown GGUF metadata type {kind}")


def gguf_component_budget(path: Path, experts_per_token: int, num_experts: int) -> dict[str, Component]:
    """llama.cpp's bytes per component, stored and read per decoded token, counted as ours are. GGUF lists
    dims fastest first, so a [vocab, hidden] table is shape (hidden, vocab): its rows are the last dim."""
    tensors = [(t.name, t.nbytes, t.shape[-1] if t.shape else 1, t.name.startswith("blk."))
               for t in read_gguf_tensors(path)]
    return budget(tensors, GGUF_COMPONENTS, experts_per_token, num_experts)


def gguf_decode_bytes(path: Path, experts_per_token: int, num_experts: int) -> DecodeBytes:
    """Weights llama.cpp reads per decoded token, counted as app.bench.weights counts ours."""
    return decode_bytes(gguf_component_budget(path, experts_per_token, num_experts))


@dataclass(frozen=True)
class LlamaRound(RoundResult):
    peak_rss_bytes: int = 0
    peak_private_bytes: int = 0


class LlamaCppRunner:
    """Runs `llama-bench` on one GGUF with our thread count; one `round` = one prefill and one decode run."""

    def __init__(self, binary: Path, gguf: Path, *, threads: int, extra_args: tuple[str, ...] = ()) -> None:
        for path, what in ((binary, "llama-bench program"), (gguf, "GGUF file")):
            if not Path(path).is_file():
                raise LlamaCppError(f"{path}: the {what} does not exist")
        self.binary, self.gguf, self.threads, self.extra_args = Path(binary), Path(gguf), threads, extra_args
        self.load_seconds = 0.0

    def round(self, prompt: Sequence[int], new_tokens: int) -> LlamaRound:
        """llama-bench makes its own random prompt of the same length (our ids mean nothing to its runs)."""
        prompt_tokens = len(prompt)
        prefill, rss_a, anon_a = self._run(["-p", str(prompt_tokens), "-n", "0"])
        decode, rss_b, anon_b = self._run(["-p", "0", "-n", str(new_tokens), "-d", str(prompt_tokens)])
        return LlamaRound(ttft_s=prompt_tokens / prefill, prefill_tok_s=prefill, decode_tok_s=decode,
                          peak_rss_bytes=max(rss_a, rss_b), peak_private_bytes=max(anon_a, anon_b))

    def command(self, args: list[str]) -> list[str]:
        return [str(self.binary), "-m", str(self.gguf), "-t", str(self.threads), "-r", "1", "-o", "json",
                *self.extra_args, *args]

    def _run(self, args: list[str]) -> tuple[float, int, int]:
        """(tokens per second of the one test, peak RSS, peak private memory) of one llama-bench run."""
        command = self.command(args)
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watch = MemoryWatch(child.pid)
        out, err = child.communicate()
        watch.stop()
        self.load_seconds = time.perf_counter() - started
        if child.returncode != 0:
            last = (err.strip().splitlines() or ["no output"])[-1]
            raise LlamaCppError(f"{self.binary} exited with {child.returncode}: {last}")
        try:
            tests = json.loads(out)
            return float(tests[-1]["avg_ts"]), watch.peak_rss, watch.peak_anon
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LlamaCppError(f"{self.binary} printed no JSON result this benchmark can read ({exc})") from exc
