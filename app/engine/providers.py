"""Which ONNX Runtime execution provider runs a package, and why the others were not picked.

Preference is CUDA, then DirectML, then CPU. A provider is skipped when onnxruntime does not offer it
(`get_available_providers()`), when the package was exported for another target (a cpu-int4 graph uses
CPU-only kernels, a cuda graph is float16 with CUDA-only attention), or when the package does not fit in the
memory that provider would use (VRAM for CUDA, RAM for CPU). The decision is a pure function of those facts
so it is tested without GPUs; `detect_environment()` gathers the facts on the real machine.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.package.targets import CPU, CUDA, DML, TARGETS

PREFERENCE = (CUDA, DML, CPU)

# Short names accepted from users (--provider cuda) -> ORT names.
ALIASES = {"cuda": CUDA, "dml": DML, "directml": DML, "cpu": CPU}


# Headroom on top of the weights: KV cache, activations, ORT arenas. The check is a guard against a
# certain failure (a 13 GB model on an 8 GB card), not a precise fit test.
MEMORY_HEADROOM = 1.10


class ProviderError(RuntimeError):
    """No execution provider can run this package here (the message says why for each one)."""


@dataclass(frozen=True)
class Environment:
    """What the machine offers. Memory values are bytes, None when unknown (then no memory check is made)."""

    available: tuple[str, ...]
    free_ram: int | None = None
    free_vram: dict[str, int | None] = field(default_factory=dict)  # provider -> free device memory


@dataclass(frozen=True)
class ProviderChoice:
    provider: str
    reason: str  # one line: why this one, and why each preferred one was not used (includes `note`)
    rejected: dict[str, str] = field(default_factory=dict)
    note: str = ""  # a caveat the user should see (a package run on a provider it was not exported for)


def normalise(name: str) -> str:
    """Accepts 'cuda', 'CUDA', 'CUDAExecutionProvider' ...; raises ValueError for unknown names."""
    key = name.strip()
    if key in PREFERENCE:
        return key
    if key.lower() in ALIASES:
        return ALIASES[key.lower()]
    raise ValueError(f"unknown execution provider {name!r}; use one of: cpu, cuda, dml")


def choose_provider(
    env: Environment,
    *,
    target: str | None,
    package_bytes: int,
    requested: str | None = None,
    private_bytes: int | None = None,
) -> ProviderChoice:
    """Picks the provider for a package of `package_bytes` exported for `target` (None: any provider).

    `package_bytes` is what a session holds when all of it is resident (weights and KV cache); on the CPU,
    `private_bytes` is the part that cannot be paged back to the package file (prepacked weights, arenas, KV;
    app.package.footprint): less free RAM than that would swap, so the CPU is refused; less than
    `package_bytes` still runs, with memory-mapped weights re-read from disk, and `note` says so.

    With `requested`, only that provider is considered and an unusable one raises ProviderError naming why;
    a requested provider may also be one of the target's `on_request` providers (then `note` says the caveat).
    A target that is not an export target (None: an onnxruntime-genai folder) may run on any provider.
    """
    record = TARGETS.get(target or "")
    compatible = record.providers if record else PREFERENCE
    candidates = (normalise(requested),) if requested else PREFERENCE
    on_request = record.on_request if record and requested else {}
    rejected: dict[str, str] = {}
    for provider in candidates:
        why_not = _why_not(provider, env, (*compatible, *on_request), target, package_bytes, private_bytes)
        if why_not is None:
            reason = "requested by the user" if requested else "first usable provider in the order CUDA, DirectML, CPU"
            note = "" if provider in compatible else on_request[provider]
            if provider == CPU and env.free_ram is not None and env.free_ram < package_bytes and not note:
                note = (f"only {_gib(env.free_ram)} of RAM is free and the whole model needs about "
                        f"{_gib(package_bytes)}: it runs, but re-reads weights from disk and answers more slowly "
                        f"(close other programs for full speed)")
            if note:
                reason += f" ({note})"
            if rejected:
                reason += "; " + "; ".join(f"not {_short(p)}: {w}" for p, w in rejected.items())
            return ProviderChoice(provider, reason, rejected, note)
        rejected[provider] = why_not
    details = "; ".join(f"{_short(p)}: {w}" for p, w in rejected.items())
    raise ProviderError(f"no execution provider can run this package ({details})")


def _why_not(provider: str, env: Environment, compatible: Sequence[str], target: str | None,
             package_bytes: int, private_bytes: int | None) -> str | None:
    if provider not in env.available:
        return "not offered by this onnxruntime build (onnxruntime.get_available_providers())"
    if provider not in compatible:
        why = f"the package was exported for the {target} target"
        if target in TARGETS and provider in TARGETS[target].on_request:
            why += f" (ask for {_short(provider)} explicitly to run it there anyway, slower)"
        return why
    free = env.free_ram if provider == CPU else env.free_vram.get(provider)
    resident = private_bytes if provider == CPU and private_bytes is not None else package_bytes
    needed = int(resident * MEMORY_HEADROOM)
    if free is not None and needed > free:
        where = "RAM" if provider == CPU else "GPU memory"
        advice = "close other programs"
        if target == "cpu":
            advice += " or convert the checkpoint for the smaller cpu-int4 target"
        what = ("the model's private memory and KV cache" if resident != package_bytes
                else "the package and its KV cache")
        return (f"too little free {where}: {what} need about {_gib(needed)}, "
                f"{_gib(free)} is free ({advice}; loading it anyway would make the computer swap)")
    return None


def _short(provider: str) -> str:
    return provider.removesuffix("ExecutionProvider")


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def detect_environment() -> Environment:
    """The providers onnxruntime offers here and the free RAM / VRAM (None where it cannot be measured)."""
    import onnxruntime as ort
    import psutil

    available = tuple(ort.get_available_providers())
    vram: dict[str, int | None] = {}
    if CUDA in available:
        vram[CUDA] = _nvidia_free_vram()
    if DML in available:
        vram[DML] = None  # DirectML exposes no free-memory query through onnxruntime; skip the check
    return Environment(available=available, free_ram=int(psutil.virtual_memory().available), free_vram=vram)


def _nvidia_free_vram() -> int | None:
    """Free memory of GPU 0 from nvidia-smi, or None when the tool is missing or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
        return int(out.split()[0]) * 2**20
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
