"""The export targets, one frozen record each: what a package built for that target is and how it is driven.

A target decides the graph's activation dtype, its KV-cache layout, which layer builders make it (ORT's fused
com.microsoft operators or standard ONNX operators), its experts' encoding, the lm_head's default storage, the
execution providers that run it and the provider options onnxruntime-genai gets. The exporter, the graph, the
engine's session and KV cache and the provider choice all read these records instead of comparing target
names, the way mlx-lm's `ModelArgs` describes a model once for every part that needs it.

It lives in app.package (the package format) because both sides read it: app.export writes packages and
app.engine reads them, and neither imports the other. The graph's I/O names (onnxruntime-genai's
conventions, so one package runs under both our engine and onnxruntime-genai) are defined here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ONNX Runtime's execution providers (the names `onnxruntime.get_available_providers()` reports).
CUDA = "CUDAExecutionProvider"
DML = "DmlExecutionProvider"
CPU = "CPUExecutionProvider"

# KV-cache layouts (the manifest's io.kv_layout; app.engine.kv_cache has one class per layout).
SHARED_BUFFER = "shared-buffer"  # one full-length buffer per layer, bound as both past and present
CONCAT = "concat"  # present = past + new; each run's presents become the next run's pasts
KV_LAYOUTS = (SHARED_BUFFER, CONCAT)

# Expert encodings.
INT8 = "int8"
INT4 = "int4"
MXFP4 = "mxfp4"

# The graph's inputs and outputs; the `%d` templates take the layer index.
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
POSITION_IDS = "position_ids"
LOGITS = "logits"
PAST_KEY = "past_key_values.%d.key"
PAST_VALUE = "past_key_values.%d.value"
PRESENT_KEY = "present.%d.key"
PRESENT_VALUE = "present.%d.value"


@dataclass(frozen=True)
class Footprint:
    """`package`: package bytes per checkpoint byte; `private`: the loaded process's private (anonymous) memory
    per package byte, what cannot be paged back to the package file (ORT's prepacked weights, arenas); the rest
    of the package is memory-mapped file pages the system can drop and re-read (slower, no swapping).
    `measured`: both come from a real-size run here (else an estimate, said where)."""

    package: float
    private: float
    measured: bool


# Dense weights (outside the experts) on the CPU targets. Decode reads every dense weight once per token; at
# gpt-oss-20b's 24 layers float32 QKV/O projections are 2.55 GB a token and a float32 lm_head 2.32 GB.
# MatMulNBits 8-bit block-32 with accuracy_level 4 measured 0.75 ms against float32 MatMul's 4.9 ms for QKV at
# M=1 (ORT 1.32, 2 threads), 0.75 % relative output error; ORT 1.32 has no fast 8-bit CPU kernel with float
# activations (accuracy_level 0-3: 119-218 ms), and float16 MatMul (casts around it) was no faster than float32.
# Cost at 20b widths (2 layers, realistic MXFP4 codes, 200-token prompt + 40 steps against transformers,
# docs/benchmarks.md): int8 lm_head 0.014 -> 0.016 sigma worst RMS (free, both targets); int8 projections
# 0.014 -> 0.215 sigma on cpu but 0.314 -> 0.319 on cpu-int4, whose int4 experts dominate: cpu (the faithful
# target) keeps float32 projections, cpu-int4 (the small one) takes int8. The embedding is read one row per
# token, so its storage only changes the package size (bf16 1.16 GB, int8 0.65 GB; GatherBlockQuantized returns
# the dequantised rows exactly): cpu-int4 takes int8 (0.319 -> 0.327 sigma), cpu keeps the checkpoint's bf16.
# The router (2880 x 32) stays float32 everywhere: small, and it picks the experts.
#
# Footprints: cpu-int4 from `enclave export` + `enclave bench` of the 24-layer, 13.76 GB test checkpoint
# (package 12.82 GB; after a 512-token prompt peak private 4.31 GB, peak RSS 5.00 GB). cpu: package 24.70 GB
# from its graph (the 2-layer package's budget scaled to 24 layers, which matched the 24-layer cpu-int4 package
# to 132 bytes); private not measured at real size (the package exceeds this machine's free RAM): cpu-int4's
# 4.31 GB plus the float32 attention it prepacks instead of int8 (+1.83 GB), an estimate. cuda, dml: not
# measured (no GPU here): MXFP4 experts as the checkpoint has them, about its size; all of it device memory.


@dataclass(frozen=True)
class Target:
    """One export target."""

    name: str
    activations: str  # the graph's float dtype ("float32" / "float16"); the KV cache has the same
    kv_layout: str  # SHARED_BUFFER or CONCAT
    fused_operators: bool  # True: GroupQueryAttention + QMoE (app.export.layers); False: standard ONNX ops
    experts: str  # INT8, INT4 or MXFP4
    # Whether the providers cast bfloat16: the embedding and lm_head are then stored as the checkpoint has them;
    # DirectML's Cast has no bfloat16 kernel, so dml stores them as float16 (see app.export.dml_weights).
    bfloat16_cast: bool
    lm_head_bits: int  # default lm_head storage: 0 = the activation dtype, 8 = int8 block-32 (MatMulNBits)
    providers: tuple[str, ...]  # execution providers that run the graph and may be picked automatically
    # What the package costs, measured at gpt-oss-20b's real size (app.package.footprint, docs/benchmarks.md).
    footprint: Footprint
    # Providers that also run the graph correctly but only when the user names one: provider -> the caveat.
    on_request: dict[str, str] = field(default_factory=dict)
    genai_provider_options: tuple[dict[str, Any], ...] = ()  # genai_config's session_options.provider_options
    projection_bits: int = 0  # attention QKV/O: 0 = the activation dtype, 8 = int8 block-32 (MatMulNBits)
    embedding_bits: int = 0  # token embedding: 0 = as the checkpoint stores it, 8 = int8 (GatherBlockQuantized)

    @property
    def float_type(self) -> np.dtype:
        return np.dtype(self.activations)

    @property
    def runs_on_cpu(self) -> bool:
        return CPU in self.providers


TARGETS: dict[str, Target] = {t.name: t for t in (
    # cpu keeps a float32 lm_head: with int8 activations (accuracy_level 4) a greedy answer depended on whether
    # the prompt was read whole or after a cached prefix (the served answer differed from the direct one on the
    # tiny model); `enclave export --lm-head int8` still makes one. Footprint: +1.665 GB at 20b over the int8
    # lm_head's 24.70 GB package, and its prepacked float32 weights counted private (an estimate).
    Target("cpu", "float32", SHARED_BUFFER, fused_operators=True, experts=INT8, bfloat16_cast=True,
           lm_head_bits=0, providers=(CPU,), footprint=Footprint(package=1.916, private=0.321, measured=False)),
    Target("cpu-int4", "float32", SHARED_BUFFER, fused_operators=True, experts=INT4, bfloat16_cast=True,
           lm_head_bits=8, providers=(CPU,), footprint=Footprint(package=0.931, private=0.336, measured=True),
           projection_bits=8, embedding_bits=8),
    Target("cuda", "float16", SHARED_BUFFER, fused_operators=True, experts=MXFP4, bfloat16_cast=True,
           lm_head_bits=0, providers=(CUDA,), footprint=Footprint(package=1.0, private=1.0, measured=False),
           genai_provider_options=({"cuda": {}},)),
    # DirectML has no MoE/QMoE and its GroupQueryAttention ignores sinks and the window: the dml graph is standard
    # ONNX operators (no DirectML-only kernels) on a concat cache, in float32 (what ORT's CPU provider runs for the
    # parity tests; the layer code also builds float16). So ORT's CPU provider computes the same logits
    # (tests/export/test_dml_package.py), just slower than a cpu package: never picked automatically.
    Target("dml", "float32", CONCAT, fused_operators=False, experts=MXFP4, bfloat16_cast=False, lm_head_bits=0,
           providers=(DML,), footprint=Footprint(package=1.05, private=1.0, measured=False),
           on_request={CPU: "the package was exported for DirectML; its standard-operator graph runs on CPU too, "
                            "but slower than a package exported for the cpu target"},
           genai_provider_options=({"dml": {}},)),
)}
TARGET_NAMES = tuple(TARGETS)


def target_record(name: str) -> Target:
    """The record of target `name`; raises ValueError with one sentence for a name that is not a target."""
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown export target {name!r}; choose one of {', '.join(TARGET_NAMES)}") from None
