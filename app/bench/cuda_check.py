"""The cuda target at gpt-oss-20b widths in one short run, for the first time an NVIDIA machine is lent.

    python -m app.bench.cuda_check --work /tmp/cuda-check            # on the GPU machine (~10 minutes)
    python -m app.bench.cuda_check --work /tmp/cuda-check --dry-run  # here: the same steps, tiny model, CPU

Steps (each prints one line, the last line is one JSON object; see ../shared/reference/gpu-testing.md):
1. what is there: nvidia-smi, onnxruntime's version and providers (stops with one sentence without CUDA);
2. a random checkpoint at 20b widths (`--layers`, default 2; 24 is the real 13.8 GB model if the disk allows)
   and its `cuda` and `cpu` packages, through the same `enclave` commands a user runs;
3. parity: the cuda package's logits against the cpu package's over a prompt longer than the sliding window
   plus teacher-forced decode steps (worst RMS in units of the cpu logits' std, top-1 agreement), then
   `enclave verify` on the cuda provider (its logits against the NumPy reference of the checkpoint);
4. speed: `enclave bench --provider cuda` at 512 and 8,192 prompt tokens, while nvidia-smi is polled for the
   peak VRAM in use.
Everything is written under --work, which is removed at the end unless --keep.

--dry-run swaps the GPU for what this CPU machine has (tiny preset, the cpu-int4 target under test on the CPU
provider, no VRAM poll, no pass/fail on the parity limit), so the flow, the commands and the report are
exercised before a GPU run costs time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

PROMPT = 200  # longer than the 128-token sliding window
STEPS = 32
RMS_LIMIT = 0.10  # sigma: what the cuda target (MXFP4 kept bit-exact, fp16 activations) should stay under


def _enclave(*args: str) -> None:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cuda_check: enclave {args[0]} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    print(f"enclave {' '.join(args)}  ({time.perf_counter() - started:.0f} s)", flush=True)


class VramPoll:
    """Peak `memory.used` of GPU 0 from nvidia-smi, sampled twice a second on a thread."""

    def __init__(self) -> None:
        self.peak_mib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=5).stdout
                self.peak_mib = max(self.peak_mib, int(out.split()[0]))
            except (OSError, subprocess.SubprocessError, ValueError, IndexError):
                return

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_mib


def environment(dry_run: bool) -> dict[str, Any]:
    import onnxruntime as ort

    smi = shutil.which("nvidia-smi")
    gpu = subprocess.run([smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip() if smi else None
    facts = {"gpu": gpu, "onnxruntime": ort.__version__, "providers": ort.get_available_providers()}
    print(f"environment: {facts}", flush=True)
    if not dry_run and "CUDAExecutionProvider" not in facts["providers"]:
        raise SystemExit("cuda_check: this onnxruntime has no CUDAExecutionProvider; install onnxruntime-gpu "
                         "(see ../shared/reference/gpu-testing.md) or run with --dry-run")
    return facts


def parity(test_pkg: Path, cpu_pkg: Path, provider: str) -> dict[str, float]:
    """Teacher-forced logits of both packages on the same random ordinary-token sequence."""
    from app.bench.measure import random_prompt
    from app.engine.generator import Generator
    from app.engine.session import load_model

    ids = random_prompt(PROMPT + STEPS, seed=7)
    rows = []
    for folder, where in ((test_pkg, provider), (cpu_pkg, "cpu")):
        generator = Generator(load_model(folder, provider=where, max_length=PROMPT + STEPS + 8))
        logits, _ = generator.prefill(ids[:PROMPT])
        out = [np.array(logits, dtype=np.float32).reshape(-1)]
        for token in ids[PROMPT:]:
            out.append(np.array(generator.forward((token,)), dtype=np.float32).reshape(-1))
        rows.append(np.stack(out))
        del generator
    test, cpu = rows
    rms = np.sqrt(np.mean((test - cpu) ** 2, axis=-1)) / np.std(cpu, axis=-1)
    result = {"worst_rms_sigma": float(rms.max()), "median_rms_sigma": float(np.median(rms)),
              "top1": float(np.mean(test.argmax(-1) == cpu.argmax(-1))), "positions": int(len(rms))}
    print(f"parity vs cpu: {result}", flush=True)
    return result


def verify(test_pkg: Path, checkpoint: Path, provider: str) -> dict[str, Any]:
    """`enclave verify` on the package's own provider: its logits against the NumPy reference (per-target
    tolerance in app.reference.verify.TOLERANCES; cuda's bounds there are from its design until this runs)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "app", "verify", str(test_pkg), "--against", str(checkpoint),
                           "--provider", provider, "--quiet"], capture_output=True, text=True)
    lines = (done.stdout + done.stderr).strip().splitlines()
    result = {"passed": done.returncode == 0, "returncode": done.returncode, "last_lines": lines[-3:],
              "seconds": round(time.perf_counter() - started, 1)}
    print(f"enclave verify ({result['seconds']:.0f} s): {'passed' if result['passed'] else 'FAILED'}: "
          f"{' | '.join(result['last_lines'])}", flush=True)
    return result


def bench(test_pkg: Path, provider: str, lengths: str, poll: bool, rounds: int, new_tokens: int) -> dict[str, Any]:
    vram = VramPoll() if poll else None
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "app", "bench", str(test_pkg), "--provider", provider,
                           "--prompt-tokens", lengths, "--new-tokens", str(new_tokens), "--rounds", str(rounds),
                           "--json"],
                          capture_output=True, text=True)
    peak = vram.stop() if vram else None
    if done.returncode != 0:
        raise SystemExit(f"cuda_check: enclave bench failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    speeds = {p["prompt_tokens"]: {k: p["ours"][k]["median"] for k in ("prefill_tok_s", "decode_tok_s", "ttft_s")}
              for p in report["prompts"]}
    print(f"bench ({time.perf_counter() - started:.0f} s): {speeds}; peak VRAM {peak} MiB", flush=True)
    return {"speeds": speeds, "peak_vram_mib": peak, "bench": report}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="empty folder for the checkpoint and packages")
    parser.add_argument("--layers", type=int, default=2, help="layers at 20b widths (24: the real model)")
    parser.add_argument("--dry-run", action="store_true", help="CPU stand-in: tiny model, cpu target, CPU provider")
    parser.add_argument("--keep", action="store_true", help="keep --work afterwards")
    args = parser.parse_args(argv)
    if args.work.exists() and any(args.work.iterdir()):
        print(f"cuda_check: {args.work} is not empty; give a new folder", file=sys.stderr)
        return 2
    facts = environment(args.dry_run)
    target, provider, preset = ("cpu-int4", "cpu", "tiny") if args.dry_run else ("cuda", "cuda", "20b-layers")
    lengths, rounds, new_tokens = ("32,64", 1, 8) if args.dry_run else ("512,8192", 3, 64)
    context = "512" if args.dry_run else "9216"
    checkpoint, test_pkg, cpu_pkg = args.work / "checkpoint", args.work / f"pkg-{target}", args.work / "pkg-cpu"
    try:
        args.work.mkdir(parents=True, exist_ok=True)
        _enclave("make-test-model", str(checkpoint), "--preset", preset, *([] if args.dry_run else
                                                                           ["--layers", str(args.layers)]))
        _enclave("export", str(checkpoint), str(test_pkg), "--target", target, "--context-length", context, "--quiet")
        _enclave("export", str(checkpoint), str(cpu_pkg), "--target", "cpu", "--context-length", context, "--quiet")
        result = {"environment": facts, "layers": args.layers, "dry_run": args.dry_run,
                  "parity": parity(test_pkg, cpu_pkg, provider),
                  "verify": verify(test_pkg, checkpoint, provider),
                  **bench(test_pkg, provider, lengths, poll=not args.dry_run and shutil.which("nvidia-smi") is not None,
                          rounds=rounds, new_tokens=new_tokens)}
        result["parity_ok"] = result["parity"]["worst_rms_sigma"] < RMS_LIMIT
        print(json.dumps(result, default=str))
        return 0 if result["parity_ok"] or args.dry_run else 1
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
