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
    """What a package costs, per byte.

    `package`: package bytes per checkpoint byte. `private`: the loaded process's private (anonymous) memory per
    package byte after a 512-token prompt, what cannot be paged back to the package file: ORT's prepacked copies
    of the weights (which replace the mapped originals: those pages are dropped after load), its arena, the
    tokenizer; the KV cache comes on top (app.package.kv_spec.cache_bytes). `mapped`: package bytes per package
    byte that stay memory-mapped and are read while chatting (weights ORT does not prepack: the embedding rows);
    the system can drop and re-read them (slower, no swapping). `measured`: the package ratio comes from a
    real-size export here and the private one from a load of 24 distinct layers at real widths (else an
    estimate, said where).

    With a prepacked copy of the package on this machine (app.engine.prepacked): `prepacked_private` replaces
    `private` (the prepacked weights are then mapped from the copy's file, not copied) and `prepacked_mapped`
    replaces `mapped` (what a chat reads in place: the prepacked blobs and the embedding rows); `prepacked_copy`
    is the copy's size per package byte (0: this target has no copies)."""

    package: float
    private: float
    measured: bool
    mapped: float = 0.0
    prepacked_private: float = 0.0
    prepacked_mapped: float = 0.0
    prepacked_copy: float = 0.0


# Dense weights (outside the experts) on the CPU targets. Decode reads every dense weight once per token; at
# gpt-oss-20b's 24 layers float32 QKV/O projections are 2.55 GB a token and a float32 lm_head 2.32 GB.
# MatMulNBits 8-bit block-32 with accuracy_level 4 measured 0.75 ms against float32 MatMul's 4.9 ms for QKV at
# M=1 (ORT 1.32, 2 threads), 0.75 % relative output error; ORT 1.32 has no fast 8-bit CPU kernel with float
# activations (accuracy_level 0-3: 119-218 ms), and float16 MatMul (casts around it) was no faster than float32.
# Cost at 20b widths (2 layers, realistic MXFP4 codes, 200-token prompt + 40 steps against transformers,
# docs/benchmarks.md): int8 lm_head 0.014 -> 0.016 sigma worst RMS (free, both targets); int8 projections
# 0.014 -> 0.215 sigma on cpu but 0.314 -> 0.319 on cpu-int4, whose int4 experts dominate: cpu (the faithful
# target) keeps float32 projections, cpu-int4 (the small one) takes int8. float16 storage of cpu's projections
# and lm_head would halve their package bytes but not what a token reads: ORT 1.32's x86 CPU provider has no
# float16 MatMul/Gemm kernel and folds the float16 weight back into a float32 copy at load (its optimised graph
# holds `FusedBack_*` float32 initializers), so speed and bytes read stay float32's and the copy is private
# memory; see docs/benchmarks.md. The int8 MatMulNBits block is 64 on cpu-int4 (dense_block_size): its float32
# scales cost 4 bytes per block, 0.037 GB at 20b for the lm_head and 0.040 for the attention; interleaved, 2
# threads, load 4-11: block 64 / block 32 time 0.95 (QKV 2880x5120), 0.95 (o_proj), 1.09 (a quarter lm_head)
# at M=1 and 0.84, 0.80, 0.75 at M=512; output error 8.4e-3 against 7.5e-3 (relative RMS). The embedding is
# read one row per token, so its storage only changes the package size (at 20b with float16 scales: bf16
# 1.16 GB, int8 block-32 0.62, block-64 0.60, int4 block-64 0.31; GatherBlockQuantized returns the dequantised
# rows exactly). cpu-int4 takes int8 (0.56 % weight error at block 32, 0.60 GB at block 64); cpu keeps the
# checkpoint's bf16: int8 rows took its 2-layer 20b-width error from 0.014 to 0.206 sigma worst (0.010 to 0.027
# median, top-1 40 to 37 of 41), where cpu-int4's int4 experts hide it (0.319 -> 0.327). int4 (bits=4, packed
# uint8, which ORT 1.32's CPU kernel takes at blocks 16-64, not 128: 2880 is no multiple) would bring cpu-int4
# to 12.39 GB, under the 12.5 GB goal, but its 10 % row error took the 2-layer 20b-width error from 0.319 to
# 0.610 sigma worst, 0.140 to 0.430 median, top-1 26 to 10 of 41 (with block-64 dense weights both;
# transformers float32, docs/benchmarks.md): `enclave export --embedding int4` still makes one. The router
# (2880 x 32) stays float32 everywhere: small, and it picks the experts.
#
# cpu's int8 experts take block 64 (expert_block_size): one power-of-two scale per 64 values is still every
# MXFP4 value exactly when the two 32-blocks' exponents differ by at most 3, which held for all
# 24.9 M block pairs of the 20b-width test checkpoint's realistic codes; ORT's CPU QMoE accepts it at the
# same speed (M=1: 37.9 vs 40.0 ms, 76.8 vs 72.3 ms, 8 experts at 20b widths, loaded), though its int8
# activation rounding per block grows (1.32e-2 against 1.11e-2 relative output error); at 20b widths the cpu
# package's error stayed 0.014 -> 0.016 sigma worst, 0.010 -> 0.011 median, top-1 40 of 41: -0.60 GB.
#
# Footprints (package bytes per checkpoint byte) are the 20b budget of app.bench.plan, the export's storage
# rules applied to gpt-oss-20b's shapes (tests/export/test_budget_plan.py ties them to real exports): cpu-int4
# 12.68 GB, cpu 25.77 GB. The plan matched the 24-layer cpu-int4 package's scaled 2-layer budget, which matched
# the real 24-layer package to 132 bytes.
#
# Private memory (docs/benchmarks.md, "Where the memory goes"): ORT 1.32 prepacks every MatMulNBits and QMoE weight
# into a private copy at load (session.disable_prepacking=0, app.engine.session.session_options), and drops the
# mapped originals. Measured per operator at gpt-oss-20b widths (single-operator graphs, page-aligned external
# data as in our packages, private memory after load / per stored byte): QMoE int4 block-32 1.145, QMoE int8
# 1.314, MatMulNBits int8 block-32 1.22 (projections) / 1.11 (lm_head, float32 scales), float32 MatMul/Gemm
# 1.00, GatherBlockQuantized 0 (the embedding stays mapped). The 2-layer 20b-width cpu-int4 package held
# 1,936 MB after load (the operators' sum 1,826 MB + 110 MB tokenizer/graph) and 2,273 MB after a 512-token
# prompt (+337 MB arena and activations); scaled by operator to 24 distinct layers that predicted 14.25 GB (an
# upper bound, block 32's ratios). Measured at 24 distinct layers (docs/benchmarks.md, "24 distinct layers"; the
# 12.70 GB cpu-int4 package of the repeated-layer 20b-width checkpoint with every layer's weight tensors made
# byte-distinct, so ORT shares no prepacked buffer; the engine's load_model + Generator, 2 threads, 2 runs,
# load 8-11): 13,452-13,455 MB private after load, 13,667-13,668 MB after a 512-token prompt = 1.076 x the
# package, peak RSS 14.17-14.18 GB. cpu (int8 experts at block 64 counted at
# block 32's 1.314, float32 attention and lm_head): 31.3 GB = 1.213 x 25.77 GB from the per-operator ratios (an
# estimate, not re-measured: the same scaling put cpu-int4 4 % high; its 2-layer block-32 package measured
# 4,900-4,933 MB private after load). Its float32 weights could
# stay mapped (listed as graph inputs, which ORT does not prepack: 2,371-2,404 MB at 2 layers, speed within
# noise), but then MatMul's results depend on the batch shape:
# a prompt read in 32-token chunks gave logits up to 0.039 off the whole prompt's on the tiny model
# (tests/engine/test_prefill_chunks.py), the cache-path dependence the cpu target exists to avoid.
# The 4.31 GB measured on the 24-layer test checkpoint was not this: its 24 layers repeat two layers, and ORT
# shares prepacked buffers with identical contents (two identical QMoE layers: 648 MB, two different: 1,047 MB).
#
# Prepacked copies (app.engine.prepacked, `enclave prepare`): ORT saves the prepacked weights into a machine-local
# copy of the package and maps them from there. The 2-layer 20b-width cpu-int4 package (2.17 GB) measured, load
# 5-7, alternating runs (/tmp/mapped/pkgmem2.py, load_model + Generator, 2 threads; glibc's free heap returned
# after load): private memory after load 70 MB with the copy against 1,777 MB without, after a 512-token prompt
# 451 against 2,155 MB (prepacked_private 0.21 of the package: the tokenizer, graph and arena, which do not grow
# with the layers, so at 24 layers it is an upper bound); the peak while loading the copy was 898 MB (ORT re-packs
# each weight to check the saved blobs, one at a time); the copy is 3.78 GB = 1.74 x the package (it keeps the
# originals, which ORT re-packs at every load), and on a 24-distinct-layer package (12.69 GB, load 2-3) 24.81 GB
# (24,805,159,114 bytes) = 1.955 x (prepacked_copy: the experts' 1.145 x dominate there), made in 514 s at a
# 5.03 GB private peak (the check's probe through the package without prepacking; 3.70 GB while ORT saved the
# optimised graph).
# At 24 distinct layers (the engineer "real", docs/benchmarks.md, "24 distinct layers") a copy held 239 MB
# private after load and 383 MB after a 512-token prompt = 0.031 of the 12.70 GB package (prepacked_private
# for cpu-int4; the 2-layer 0.21 was the fixed tokenizer/arena share of a small package). On main (the lead,
# "The copy at 24 distinct layers, on main"): 100 MB after load, 0.93 GB at peak, 0.87 GB after an 8,192-token
# prompt with its KV cache (counted: 0.031 x 12.70 GB + app.package.footprint.chat_kv_bytes = 0.90 GB).
# prepacked_mapped is what a chat reads in place: the prepacked blobs in the copy's file and the mapped embedding
# rows. The blobs are the copy less the originals it keeps beside them: 24.81 - 12.69 GB = 12.12 GB = 0.955 of the
# package (so prepacked_copy = 1 + 0.955), the embedding 0.60 of 12.68 GB = 0.047. It was 1.076 - 0.031 + 0.047 =
# 1.092, which took all the private memory a copy saves for blob bytes read in place; but the package's 13.67 GB
# private exceed the copy's 12.12 GB of blobs by 1.55 GB, of which a copy keeps 0.38 GB private and the rest not
# at all. The 16 GB laptop emulated (docs/benchmarks.md: a 14.0 GB memory cgroup = 16 GB less RESERVE_BYTES, page
# cache charged, no swap) agrees with 0.955: the copy's 512-token chat, 0.93 GB private at peak + 1.002 x 12.70 GB
# mapped = 13.66 GB, ran at prefill 20.8 / decode 2.80 tok/s (uncapped, first round: 17.3-18.8 / 1.7-2.5; the
# package 22.5-24.2 / 2.5-3.0), where 1.092 put it at 14.8 GB; the package was OOM-killed.
# cpu (not measured): the blobs by the same rule, copy less originals (~2.2 x: int8 experts 1.31 x, float32
# 1.0 x, an estimate), and cpu-int4's measured 383 MB private (tokenizer, graph and arena, whose shapes both CPU
# targets share) = 0.015 of cpu's 25.77 GB. So cpu's copy saves private memory (what the load check refuses on)
# but not RAM for full speed: its blobs are about the private copies they replace.
# cuda, dml: not measured (no GPU here): MXFP4 experts as the checkpoint has them, about its size; all of it
# device memory.


# Sliding-window layers' KV buffers on the CPU targets: the window (128 positions) plus this many (ORT 1.32's CPU
# GroupQueryAttention, sliding_window_cache=1; app.engine.kv_cache keeps prefix reuse exact). At gpt-oss-20b's 24
# layers and 8k tokens the 12 sliding layers' full-length float32 buffers were 0.40 GB; window-sized 12.6 MB.
# They also take the local layers' attention time away: on a full-length buffer ORT's CPU kernel spends as long
# on a local layer as on a global one (40.05 vs 41.99 ms a decode step at 8k, 20b widths, 2 threads, load 11),
# on a window-sized one 0.69 ms (docs/benchmarks.md). The slack is how many positions the kernel evicts at once
# (slack + 1) and how far back the live rows can rewind in place; 128 keeps the buffer at 2x the window.
WINDOW_CACHE_SLACK = 128

# The KV cache has the activation dtype (float32 on the CPU targets): float16 (`enclave export --kv-cache float16`,
# Casts around GroupQueryAttention) halves its bytes but ORT 1.32's CPU kernel runs it at half the speed (87.75 vs
# 41.99 ms a decode step at 8k, 20b widths; the 2-layer 20b-width cpu-int4 package 443-484 vs 349-387 ms a step
# at 8k, interleaved, load 11), for 0.012 sigma median on the tiny model's logits (tests/engine/test_kv_cache_dtype.py).


@dataclass(frozen=True)
class Target:
    """One export target."""

    name: str
    activations: str  # the graph's float dtype ("float32" / "float16")
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
    projection_bits: int = 0  # attention QKV/O: 0 = the activation dtype, 8 = int8 (MatMulNBits)
    # token embedding: 0 = as the checkpoint stores it, 8 or 4 = int8 / int4 rows (GatherBlockQuantized)
    embedding_bits: int = 0
    # Block (values per scale, along the input dimension) of the int8 MatMulNBits projections and lm_head and of
    # a quantised embedding: each block adds a 4-byte float32 MatMulNBits scale (2 bytes in float16 for the
    # embedding's), so 64 halves what 32 adds. gpt-oss's inputs (2880, 4096) are multiples of 64, not of 128.
    dense_block_size: int = 32
    # QMoE block of the experts. cpu: 64 where one power-of-two scale per 64 values is still lossless (a
    # layer where it is not falls back to 32, app.export.experts.lossless_int8_block); cpu-int4: int4 block.
    expert_block_size: int = 32
    # Sliding-window layers' KV buffers: 0 = full length (every layer addresses the whole context), N > 0 = the
    # window plus N positions (GroupQueryAttention's sliding_window_cache: the kernel evicts N + 1 positions at
    # once when the buffer is full). See app.engine.kv_cache for how prefix reuse stays exact.
    window_cache_slack: int = 0

    @property
    def float_type(self) -> np.dtype:
        return np.dtype(self.activations)

    @property
    def runs_on_cpu(self) -> bool:
        return CPU in self.providers


TARGETS: dict[str, Target] = {t.name: t for t in (
    # cpu keeps a float32 lm_head: with int8 activations (accuracy_level 4) a greedy answer depended on whether
    # the prompt was read whole or after a cached prefix (the served answer differed from the direct one on the
    # tiny model); `enclave export --lm-head int8` still makes one (-1.70 GB at 20b). mapped: the bf16 embedding,
    # 1.158 of 25.77 GB (cpu-int4: int8 rows with float16 scales, 0.60 of 12.68).
    Target("cpu", "float32", SHARED_BUFFER, fused_operators=True, experts=INT8, bfloat16_cast=True,
           lm_head_bits=0, providers=(CPU,),
           footprint=Footprint(package=1.8688, private=1.213, measured=False, mapped=0.045,
                               prepacked_private=0.015, prepacked_mapped=1.2 + 0.045, prepacked_copy=1 + 1.2),
           expert_block_size=64, window_cache_slack=WINDOW_CACHE_SLACK),
    Target("cpu-int4", "float32", SHARED_BUFFER, fused_operators=True, experts=INT4, bfloat16_cast=True,
           lm_head_bits=8, providers=(CPU,),
           footprint=Footprint(package=0.9194, private=1.076, measured=True, mapped=0.047,
                               prepacked_private=0.031, prepacked_mapped=0.955 + 0.047, prepacked_copy=1 + 0.955),
           projection_bits=8, embedding_bits=8, dense_block_size=64, window_cache_slack=WINDOW_CACHE_SLACK),
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
