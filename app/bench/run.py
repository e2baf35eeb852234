"""`enclave bench`: the whole benchmark run, printed as a report (and one JSON object with --json).

Order matters for fairness on a shared machine: ours and onnxruntime-genai alternate round by round (and
which goes first alternates too), so a noisy neighbour hurts both equally; ratios are taken per round pair.
Our load time and peak RSS are measured before onnxruntime-genai is loaded into the same process.
"""

from __future__ import annotations

import gc
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from app.bench.measure import (
    GenaiRunner,
    RoundResult,
    ours_round,
    random_prompt,
    ratios,
    results_summary,
    second_turn_ttft,
    summary,
)
from app.bench.weights import decode_bytes_per_token, kv_bytes_per_token
from app.engine.generator import Generator
from app.engine.memory import Bandwidth, BandwidthProbe, peak_rss, rss_breakdown
from app.engine.session import load_model

HISTORY_SHORT = 20
HISTORY_LONG = 2000


@dataclass(frozen=True)
class BenchOptions:
    package: Path
    prompt_tokens: int = 512
    new_tokens: int = 128
    rounds: int = 3
    vs_genai: bool = False
    genai_export: Path | None = None  # onnxruntime-genai's own export of the same checkpoint (TTFT comparison)
    provider: str | None = None
    seed: int = 0


def run_bench(opts: BenchOptions, out: TextIO) -> dict[str, Any]:
    """Runs everything and prints the human report to `out`; returns the JSON-able results."""
    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    context = max(opts.prompt_tokens + opts.new_tokens, HISTORY_LONG + 64) + 8
    model = load_model(opts.package, provider=opts.provider, max_length=context)
    info = model.info
    say(f"package {opts.package} ({info.target}) on {info.provider}: {info.provider_reason}")
    split = rss_breakdown()
    say(f"load {info.load_seconds:.2f} s, peak RSS after load {_mib(info.peak_rss_bytes)} (now: private "
        f"{_mib(split.get('RssAnon'))}, memory-mapped file pages {_mib(split.get('RssFile'))})")
    generator = Generator(model, max_length=context)
    prompt = random_prompt(opts.prompt_tokens, opts.seed)
    # Warm-up (not recorded), same for every runner: a full-length prefill sizes ORT's arenas and faults in
    # the weights, so round 1 measures the same steady state as the others.
    ours_round(generator, prompt, 2)
    # Before onnxruntime-genai shares the process and before the bandwidth probe's arrays (a high-water mark
    # cannot be lowered again); the rounds after this only touch a few more KV-cache pages.
    ours_peak = peak_rss()

    genai = None
    if opts.vs_genai:
        genai = GenaiRunner(opts.package)
        say(f"onnxruntime-genai load {genai.load_seconds:.2f} s")
        genai.round(prompt, 2)
    own = None
    if opts.genai_export is not None:
        own = GenaiRunner(opts.genai_export)
        say(f"onnxruntime-genai on its own export {opts.genai_export}: load {own.load_seconds:.2f} s")
        own.round(prompt, 2)
    probe = BandwidthProbe()
    ours: list[RoundResult] = []
    ceilings: list[Bandwidth] = []  # measured right after each of our rounds (see BandwidthProbe for why)
    theirs: list[RoundResult] = []
    theirs_own: list[RoundResult] = []
    for r in range(opts.rounds):
        order = ["ours", "genai", "own"] if r % 2 == 0 else ["own", "genai", "ours"]
        for who in order:
            if who == "ours":
                ours.append(ours_round(generator, prompt, opts.new_tokens))
                ceilings.append(probe.measure())
                _print_round(say, r, "ours", ours[-1])
            elif who == "genai" and genai is not None:
                theirs.append(genai.round(prompt, opts.new_tokens))
                _print_round(say, r, "genai", theirs[-1])
            elif who == "own" and own is not None:
                theirs_own.append(own.round(prompt, opts.new_tokens))
                _print_round(say, r, "genai-own-export", theirs_own[-1])
    probe.close()

    # The long history is cut to what the package's context holds (tiny test packages have 512 tokens).
    long_history = min(HISTORY_LONG, generator.max_length - 64)
    short_ttft, short_fed = second_turn_ttft(generator, HISTORY_SHORT, seed=opts.seed + 10)
    long_ttft, long_fed = second_turn_ttft(generator, long_history, seed=opts.seed + 20)
    say(f"second-turn TTFT after {HISTORY_SHORT} tokens: {short_ttft * 1e3:.1f} ms ({short_fed} tokens prefilled); "
        f"after {long_history}: {long_ttft * 1e3:.1f} ms ({long_fed} prefilled); ratio {long_ttft / short_ttft:.2f}")

    cfg_bytes = _decode_bytes(model, opts.prompt_tokens + opts.new_tokens // 2)
    ours_summary = results_summary(ours)
    per_token = cfg_bytes["weights_bytes_per_token"]
    shares = summary([per_token * res.decode_tok_s / bw.ceiling for res, bw in zip(ours, ceilings, strict=True)])
    ceiling = summary([bw.ceiling for bw in ceilings])
    achieved = per_token * ours_summary["decode_tok_s"]["median"]
    say(f"decode reads {cfg_bytes['weights_bytes_per_token'] / 2**20:.1f} MiB of weights per token "
        f"(dense {cfg_bytes['dense'] / 2**20:.1f}, active experts {cfg_bytes['experts_active'] / 2**20:.1f}, "
        f"rows {cfg_bytes['gathered_rows'] / 2**10:.1f} KiB) + KV {cfg_bytes['kv_bytes_per_token'] / 2**20:.2f} MiB "
        f"at {opts.prompt_tokens + opts.new_tokens // 2} tokens")
    say(f"memory bandwidth ceiling, measured after each round ({probe.threads} threads, read-only streaming): median {ceiling['median'] / 1e9:.1f} GB/s (min {ceiling['min'] / 1e9:.1f}, max "
        f"{ceiling['max'] / 1e9:.1f}); decode reaches {achieved / 1e9:.2f} GB/s at its median speed; share of the "
        f"ceiling per round: median {100 * shares['median']:.0f}% (min {100 * shares['min']:.0f}%, "
        f"max {100 * shares['max']:.0f}%)")
    say(f"ours: {_fmt(ours_summary)}; peak RSS {_mib(ours_peak)} (ours alone, before any onnxruntime-genai load)")
    result: dict[str, Any] = {
        "ours": {
            **ours_summary,
            "load_s": info.load_seconds,
            "rss_after_load": split,
            "peak_rss_bytes": ours_peak,
            "second_turn_ttft_s": {str(HISTORY_SHORT): short_ttft, str(long_history): long_ttft},
            "second_turn_ratio": long_ttft / short_ttft,
            "provider": info.provider,
            "rounds": [asdict(r) for r in ours],
        },
        "decode_bytes": cfg_bytes,
        "bandwidth": {"ceiling_bytes_per_s": ceiling, "threads": probe.threads,
                      "decode_share": shares["median"], "decode_share_per_round": shares,
                      "rounds": [asdict(bw) for bw in ceilings]},
        "prompt_tokens": opts.prompt_tokens,
        "new_tokens": opts.new_tokens,
    }
    if genai is not None:
        result["genai"] = {**results_summary(theirs), "load_s": genai.load_seconds,
                           "rounds": [asdict(r) for r in theirs]}
        result["ratio"] = ratios(ours, theirs)
        say(f"genai: {_fmt(result['genai'])}")
        for name, stats in result["ratio"].items():
            say(f"ratio ours/genai {name}: min {stats['min']:.3f} median {stats['median']:.3f} max {stats['max']:.3f}")
        genai.close()
    else:
        result["genai"] = None
        result["ratio"] = None
    if own is not None:
        result["genai_own_export"] = {**results_summary(theirs_own), "folder": str(opts.genai_export),
                                      "rounds": [asdict(r) for r in theirs_own]}
        result["ratio_vs_own_export"] = ratios(ours, theirs_own)
        for name, stats in result["ratio_vs_own_export"].items():
            say(f"ratio ours/genai-own-export {name}: min {stats['min']:.3f} median {stats['median']:.3f} "
                f"max {stats['max']:.3f}")
    del generator, model
    gc.collect()
    return result


def _decode_bytes(model: Any, context: int) -> dict[str, int]:
    """Weights read per decoded token, and KV read at `context` tokens (the decode's average length)."""
    facts = model.facts
    cfg = _package_config(facts.folder)
    counted = decode_bytes_per_token(facts.model_file, cfg["num_experts_per_tok"], cfg["num_local_experts"])
    sliding = sum(1 for t in cfg["layer_types"] if t == "sliding_attention")
    kv = kv_bytes_per_token(model.kv_spec.bytes_per_token(), sliding, facts.num_layers, cfg["sliding_window"],
                            context)
    return {"weights_bytes_per_token": counted.total, "dense": counted.dense,
            "experts_active": counted.experts_active, "gathered_rows": counted.gathered_rows,
            "experts_total": counted.experts_total, "kv_bytes_per_token": kv}


def _package_config(folder: Path) -> dict[str, Any]:
    from app.package.reader import read_package

    config = read_package(folder).config
    return {"num_experts_per_tok": config.num_experts_per_tok, "num_local_experts": config.num_local_experts,
            "layer_types": config.layer_types, "sliding_window": config.sliding_window}


def _print_round(say: Any, r: int, who: str, res: RoundResult) -> None:
    extra = ""
    if res.python_overhead_ms is not None:
        extra = f", python overhead {res.python_overhead_ms:.3f} ms/token, ORT {res.ort_decode_ms:.1f} ms/token"
    say(f"round {r + 1} {who:5s}: TTFT {res.ttft_s * 1e3:.1f} ms, prefill {res.prefill_tok_s:.1f} tok/s, "
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
