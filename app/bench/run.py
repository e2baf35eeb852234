"""`enclave bench`: the whole benchmark run, printed as a report (and one JSON object with --json).

Order matters for fairness on a shared machine: ours and the peers (onnxruntime-genai on the same package,
onnxruntime-genai on its own export, llama.cpp's llama-bench on its own GGUF) alternate round by round, and
the order flips every round, so a noisy neighbour hurts all alike; ratios are taken per round pair. Every
prompt length (512 and 8,192 for the real-size table) gets its own rounds. Our load time, peak RSS and peak
private memory are measured before any peer is loaded into the same process.
"""

from __future__ import annotations

import gc
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from app.bench.measure import (
    MESSAGE_TOKENS,
    GenaiRunner,
    RoundResult,
    next_turn_ttft,
    ours_round,
    random_prompt,
    ratios,
    results_summary,
    second_turn_ttft,
    summary,
)
from app.bench.llama_cpp import LlamaCppRunner, gguf_component_budget
from app.bench.weights import component_budget, decode_bytes, format_budget, kv_bytes_per_token
from app.engine.generator import Generator
from app.engine.memory import Bandwidth, BandwidthProbe, MemoryWatch, peak_rss, rss_breakdown
from app.engine.session import load_model

HISTORY_SHORT = 20
NO_WARMUP_ALONE = ("--no-warmup reads our peak memory after the rounds, so it runs without peers in the process; "
                   "drop --vs-genai, --genai-export and --llama-bench")


@dataclass(frozen=True)
class BenchOptions:
    package: Path
    prompt_tokens: tuple[int, ...] = (512,)  # each length gets its own rounds; the longest is the long history
    new_tokens: int = 128
    rounds: int = 3
    vs_genai: bool = False
    genai_export: Path | None = None  # onnxruntime-genai's own export of the same checkpoint (TTFT comparison)
    llama_bench: Path | None = None  # llama.cpp's llama-bench program ...
    gguf: Path | None = None  # ... and a GGUF of the same checkpoint made by llama.cpp's converter
    provider: str | None = None
    threads: int | None = None  # None: ORT's default (one per core); llama.cpp gets the same number
    prepack: bool = True
    use_copy: bool = True  # load the package's prepacked copy on this machine when it has one (app.engine.prepacked)
    # False: no warm-up prefill at the longest prompt, and the long second turn continues the longest round's
    # conversation instead of prefilling its own: one long prefill instead of three (an 8,192-token prefill
    # of the 24-layer model took ~30 min on the shared 2-core machine). The shorter rounds, run first, fault in
    # the weights; the longest round also sizes ORT's arenas, as a user's first long prompt does. Our peak
    # memory is then read after the rounds, so no peer may share the process.
    warmup: bool = True
    seed: int = 0


class _Ours:
    """Our generator as a runner with the peers' `round(prompt, new_tokens)`."""

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.last: tuple[list[int], list[int]] = ([], [])  # the last round's prompt and reply

    def round(self, prompt: list[int], new_tokens: int) -> RoundResult:
        reply: list[int] = []
        result = ours_round(self.generator, prompt, new_tokens, reply)
        self.last = (list(prompt), reply)
        return result


def run_bench(opts: BenchOptions, out: TextIO) -> dict[str, Any]:
    """Runs everything and prints the human report to `out`; returns the JSON-able results."""
    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    lengths = tuple(sorted(set(opts.prompt_tokens)))
    longest = lengths[-1]
    if not opts.warmup and (opts.vs_genai or opts.genai_export is not None or opts.llama_bench is not None):
        raise ValueError(NO_WARMUP_ALONE)
    context = max(longest + opts.new_tokens, longest + 64) + 8
    llama = None  # checked before the long load, so a wrong path fails at once
    if opts.llama_bench is not None and opts.gguf is not None:
        llama = LlamaCppRunner(opts.llama_bench, opts.gguf, threads=opts.threads or os.cpu_count() or 1)
    watch = MemoryWatch()
    model = load_model(opts.package, provider=opts.provider, max_length=context, threads=opts.threads,
                       prepack=opts.prepack, use_copy=opts.use_copy)
    info = model.info
    package_bytes = model.facts.size_bytes
    say(f"package {opts.package} ({info.target}, {package_bytes / 1e9:.2f} GB) on {info.provider}: "
        f"{info.provider_reason}")
    split = rss_breakdown()
    say(f"load {info.load_seconds:.2f} s, peak RSS after load {_mib(info.peak_rss_bytes)} (now: private "
        f"{_mib(split.get('RssAnon'))}, memory-mapped file pages {_mib(split.get('RssFile'))})")
    generator = Generator(model, max_length=context)
    ours = _Ours(generator)
    if opts.warmup:
        # Warm-up (not recorded), same for every runner: a full-length prefill at the longest prompt sizes ORT's
        # arenas and faults in the weights, so round 1 measures the same steady state as the others.
        ours_round(generator, random_prompt(longest, opts.seed), 2)
        # Before onnxruntime-genai shares the process and before the bandwidth probe's arrays (a high-water
        # mark cannot be lowered again); the rounds after this only touch a few more KV-cache pages.
        ours_peak = peak_rss()
        watch.stop()
        say(f"ours after a {longest}-token prefill: peak RSS {_mib(ours_peak)}, peak private "
            f"{_mib(watch.peak_anon)}")

    runners: dict[str, Any] = {"ours": ours}
    if opts.vs_genai:
        runners["genai"] = GenaiRunner(opts.package)
        say(f"onnxruntime-genai load {runners['genai'].load_seconds:.2f} s")
    if opts.genai_export is not None:
        runners["genai-own-export"] = GenaiRunner(opts.genai_export)
        say(f"onnxruntime-genai on its own export {opts.genai_export}: "
            f"load {runners['genai-own-export'].load_seconds:.2f} s")
    if llama is not None:
        runners["llama.cpp"] = llama
        say(f"llama.cpp: {' '.join(runners['llama.cpp'].command(['...']))}")
    for name, runner in runners.items():
        if name not in ("ours", "llama.cpp"):  # llama-bench warms itself up (no peers without the warm-up)
            runner.round(random_prompt(longest, opts.seed), 2)

    cfg_bytes = _decode_bytes(model, longest + opts.new_tokens // 2)
    per_token = cfg_bytes["weights_bytes_per_token"]
    rounds_watch = None
    if not opts.warmup:  # our peak then comes during the rounds, beside the probe's arrays: watch them apart
        watch.stop()
        rounds_watch = MemoryWatch(since_start=True)
    probe = BandwidthProbe(threads=opts.threads)
    results = []
    for n in lengths:
        results.append(_bench_length(say, runners, probe, random_prompt(n, opts.seed), opts, per_token))
    probe.close()

    # The long history is cut to what the package's context holds (tiny test packages have 512 tokens).
    long_history = min(longest, generator.max_length - 64)
    if opts.warmup:
        short_ttft, short_fed = second_turn_ttft(generator, HISTORY_SHORT, seed=opts.seed + 10)
        long_ttft, long_fed = second_turn_ttft(generator, long_history, seed=opts.seed + 20)
    else:
        # Our last round was the longest prompt (lengths run in order); its conversation is still cached,
        # unless it and the next message do not fit the context (then the long history is prefilled anew).
        prompt, reply = ours.last
        if len(prompt) + len(reply) + MESSAGE_TOKENS + 1 <= generator.max_length:
            long_history = len(prompt)
            long_ttft, long_fed = next_turn_ttft(generator, prompt, reply, seed=opts.seed + 20)
        else:
            long_ttft, long_fed = second_turn_ttft(generator, long_history, seed=opts.seed + 20)
        # The probe's arrays lived through every round: they are not the model's memory.
        assert rounds_watch is not None
        rounds_watch.stop()
        ours_peak = max(watch.peak_rss, rounds_watch.peak_rss - probe.resident_bytes)
        watch.peak_anon = max(watch.peak_anon, rounds_watch.peak_anon - probe.resident_bytes)
        say(f"ours up to the end of the rounds (longest prompt {longest} tokens, then its second turn; the "
            f"bandwidth probe's {_mib(probe.resident_bytes)} taken off): peak RSS {_mib(ours_peak)}, peak private "
            f"{_mib(watch.peak_anon)}")
        short_ttft, short_fed = second_turn_ttft(generator, HISTORY_SHORT, seed=opts.seed + 10)
    say(f"second-turn TTFT after {HISTORY_SHORT} tokens: {short_ttft * 1e3:.1f} ms ({short_fed} tokens prefilled); "
        f"after {long_history}: {long_ttft * 1e3:.1f} ms ({long_fed} prefilled); ratio {long_ttft / short_ttft:.2f}")
    say(f"decode reads {per_token / 2**20:.1f} MiB of weights per token "
        f"(dense {cfg_bytes['dense'] / 2**20:.1f}, active experts {cfg_bytes['experts_active'] / 2**20:.1f}, "
        f"rows {cfg_bytes['gathered_rows'] / 2**10:.1f} KiB) + KV {cfg_bytes['kv_bytes_per_token'] / 2**20:.2f} MiB "
        f"at {longest + opts.new_tokens // 2} tokens")
    for line in format_budget(cfg_bytes["components"]):
        say(line)
    result: dict[str, Any] = {
        "package": {"folder": str(opts.package), "target": info.target, "bytes": package_bytes},
        "ours": {
            "load_s": info.load_seconds,
            "rss_after_load": split,
            "peak_rss_bytes": ours_peak,
            "peak_private_bytes": watch.peak_anon,
            "second_turn_ttft_s": {str(HISTORY_SHORT): short_ttft, str(long_history): long_ttft},
            "second_turn_ratio": long_ttft / short_ttft,
            "provider": info.provider,
            "threads": opts.threads,
            "prepack": opts.prepack,
            "prepacked_copy": info.prepacked_copy,
            "warmup": opts.warmup,
        },
        "decode_bytes": cfg_bytes,
        "prompts": results,
        "new_tokens": opts.new_tokens,
    }
    if llama is not None:
        cfg = _package_config(model.facts.folder)
        theirs = gguf_component_budget(opts.gguf, cfg["num_experts_per_tok"], cfg["num_local_experts"])
        result["llama_cpp"] = {"gguf": str(opts.gguf), "bytes": opts.gguf.stat().st_size,
                               "decode_bytes": asdict(decode_bytes(theirs)),
                               "components": {name: asdict(c) for name, c in theirs.items()}}
        say(f"llama.cpp GGUF {opts.gguf.stat().st_size / 1e9:.2f} GB, reads "
            f"{result['llama_cpp']['decode_bytes']['dense'] / 2**20:.1f} MiB dense + "
            f"{result['llama_cpp']['decode_bytes']['experts_active'] / 2**20:.1f} MiB active experts per token")
        for line in format_budget(result["llama_cpp"]["components"]):
            say(line if line.startswith(" ") else f"llama.cpp {line}")
    for name, runner in runners.items():
        if name.startswith("genai"):
            runner.close()
    del generator, model, runners
    gc.collect()
    return result


def _bench_length(say: Any, runners: dict[str, Any], probe: BandwidthProbe, prompt: list[int],
                  opts: BenchOptions, per_token: int) -> dict[str, Any]:
    """Interleaved rounds of every runner at one prompt length (the order flips every round, so a noisy
    neighbour hurts all alike); the bandwidth ceiling is measured right after each of our rounds."""
    rounds: dict[str, list[RoundResult]] = {name: [] for name in runners}
    ceilings: list[Bandwidth] = []
    names = list(runners)
    for r in range(opts.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            rounds[name].append(runners[name].round(prompt, opts.new_tokens))
            if name == "ours":
                ceilings.append(probe.measure())
            _print_round(say, r, len(prompt), name, rounds[name][-1])
    ours = rounds["ours"]
    shares = summary([per_token * res.decode_tok_s / bw.ceiling for res, bw in zip(ours, ceilings, strict=True)])
    ceiling = summary([bw.ceiling for bw in ceilings])
    out: dict[str, Any] = {"prompt_tokens": len(prompt)}
    for name, results in rounds.items():
        out[name] = {**results_summary(results), "rounds": [asdict(x) for x in results]}
        say(f"{len(prompt)} tokens, {name}: {_fmt(out[name])}")
        if name != "ours":
            out[name]["ratio_ours_to_it"] = ratios(ours, results)
            for stat, values in out[name]["ratio_ours_to_it"].items():
                say(f"{len(prompt)} tokens, ratio ours/{name} {stat}: min {values['min']:.3f} "
                    f"median {values['median']:.3f} max {values['max']:.3f}")
    achieved = per_token * out["ours"]["decode_tok_s"]["median"]
    out["bandwidth"] = {"ceiling_bytes_per_s": ceiling, "threads": probe.threads, "decode_share": shares["median"],
                        "decode_share_per_round": shares, "rounds": [asdict(bw) for bw in ceilings]}
    say(f"{len(prompt)} tokens: memory bandwidth ceiling, measured after each of our rounds ({probe.threads} threads, "
        f"read-only streaming): median {ceiling['median'] / 1e9:.1f} GB/s (min {ceiling['min'] / 1e9:.1f}, max "
        f"{ceiling['max'] / 1e9:.1f}); our decode reads {achieved / 1e9:.2f} GB/s at its median speed; share of the "
        f"ceiling per round: median {100 * shares['median']:.0f}% (min {100 * shares['min']:.0f}%, "
        f"max {100 * shares['max']:.0f}%)")
    return out


def _decode_bytes(model: Any, context: int) -> dict[str, Any]:
    """Weights read per decoded token, and KV read at `context` tokens (the decode's average length)."""
    facts = model.facts
    cfg = _package_config(facts.folder)
    sliding = sum(1 for t in cfg["layer_types"] if t == "sliding_attention")
    kv = kv_bytes_per_token(model.kv_spec.position_bytes() * facts.num_layers, sliding, facts.num_layers,
                            cfg["sliding_window"], context)
    budget = component_budget(facts.model_file, cfg["num_experts_per_tok"], cfg["num_local_experts"])
    counted = decode_bytes(budget)
    return {"weights_bytes_per_token": counted.total, "dense": counted.dense,
            "experts_active": counted.experts_active, "gathered_rows": counted.gathered_rows,
            "experts_total": counted.experts_total, "kv_bytes_per_token": kv,
            "components": {name: asdict(c) for name, c in budget.items()}}


def _package_config(folder: Path) -> dict[str, Any]:
    from app.package.reader import read_package

    config = read_package(folder).config
    return {"num_experts_per_tok": config.num_experts_per_tok, "num_local_experts": config.num_local_experts,
            "layer_types": config.layer_types, "sliding_window": config.sliding_window}


def _print_round(say: Any, r: int, n: int, who: str, res: RoundResult) -> None:
    extra = ""
    if res.python_overhead_ms is not None:
        extra = f", python overhead {res.python_overhead_ms:.3f} ms/token, ORT {res.ort_decode_ms:.1f} ms/token"
    if res.major_faults is not None:
        extra += f", page faults {res.major_faults} major / {res.minor_faults} minor"
    say(f"{n} tokens, round {r + 1} {who:5s}: TTFT {res.ttft_s * 1e3:.1f} ms, prefill {res.prefill_tok_s:.1f} tok/s, "
        f"decode {res.decode_tok_s:.2f} tok/s{extra}")


def _fmt(summary: dict[str, Any]) -> str:
    parts = []
    for name in ("prefill_tok_s", "decode_tok_s", "ttft_s"):
        if name in summary:
            s = summary[name]
            parts.append(f"{name} median {s['median']:.3f} (min {s['min']:.3f}, max {s['max']:.3f})")
    return "; ".join(parts)


def _mib(n: int | None) -> str:
    return "unknown" if n is None else f"{n / 2**20:.0f} MiB"


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, default=str)
