"""One benchmark round for our generator and for onnxruntime-genai, measured the same way.

Both get the same random prompt (ordinary token ids, seeded), greedy decoding, and generate exactly
`new_tokens` tokens (end-of-turn tokens ignored). Definitions, identical for both:
- TTFT: from handing over the prompt to having the first token id (prefill + first sampling).
- prefill tok/s: prompt tokens / TTFT.
- decode tok/s: (new_tokens - 1) / (time of the last token - time of the first token).

onnxruntime-genai is the peer a user could run instead, so it is imported lazily and only here.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.engine.generator import GenerationConfig, Generator
from app.engine.session import read_package_facts
from app.tokenizer.special_tokens import NUM_MERGEABLE


@dataclass(frozen=True)
class RoundResult:
    ttft_s: float
    prefill_tok_s: float
    decode_tok_s: float
    python_overhead_ms: float | None = None  # median per decoded token, outside run_with_iobinding
    ort_decode_ms: float | None = None  # median per decoded token, inside run_with_iobinding
    # This process's page faults during the round (getrusage; None where the OS has none): major ones read the
    # weights from disk, so they tell a round that found the memory-mapped copy in the page cache from one
    # that did not (a steady state under a memory limit).
    major_faults: int | None = None
    minor_faults: int | None = None


def random_prompt(n: int, seed: int) -> list[int]:
    """Ordinary (non-special) token ids: a prompt with no control tokens in it."""
    return np.random.default_rng(seed).integers(0, NUM_MERGEABLE, n).tolist()


def ours_round(generator: Generator, prompt: Sequence[int], new_tokens: int,
               reply: list[int] | None = None) -> RoundResult:
    """One round from an empty cache; the generated token ids are appended to `reply` when given (the
    conversation then stays in the generator's cache for `next_turn_ttft`)."""
    generator.reset()
    faults = _faults()
    events = list(generator.generate(prompt, None, GenerationConfig(max_new_tokens=new_tokens, ignore_eos=True)))
    if reply is not None:
        reply.extend(t for e in events for t in e.token_ids)
    last = events[-1]
    if last.new_tokens != new_tokens or last.ttft_s is None or last.decode_tok_s is None:
        raise RuntimeError(f"our generator stopped after {last.new_tokens} tokens ({last.finish_reason}, "
                           f"{last.error})")
    decode = [e.timing for e in events[1:] if e.timing is not None]
    after = _faults()
    return RoundResult(
        ttft_s=last.ttft_s,
        prefill_tok_s=len(prompt) / last.ttft_s,
        decode_tok_s=last.decode_tok_s,
        python_overhead_ms=1e3 * statistics.median(t.seconds - t.ort_seconds for t in decode),
        ort_decode_ms=1e3 * statistics.median(t.ort_seconds for t in decode),
        major_faults=None if faults is None or after is None else after[0] - faults[0],
        minor_faults=None if faults is None or after is None else after[1] - faults[1],
    )


def _faults() -> tuple[int, int] | None:
    """(major, minor) page faults of this process so far; None without the resource module (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_majflt, usage.ru_minflt


MESSAGE_TOKENS = 32  # the second turn's new user message


def second_turn_ttft(generator: Generator, history_tokens: int, *, reply_tokens: int = 16,
                     message_tokens: int = MESSAGE_TOKENS, seed: int = 0) -> tuple[float, int]:
    """TTFT of the turn after a conversation of `history_tokens` (+ a reply): (seconds, tokens prefilled).

    The second prompt is the first one + the reply + a new message, as a chat session sends it, so the
    generator reuses the cached prefix and prefills only the reply's last token and the new message."""
    generator.reset()
    first = random_prompt(history_tokens, seed)
    reply = [t for e in generator.generate(first, None, GenerationConfig(max_new_tokens=reply_tokens,
                                                                         ignore_eos=True)) for t in e.token_ids]
    return next_turn_ttft(generator, first, reply, message_tokens=message_tokens, seed=seed)


def next_turn_ttft(generator: Generator, first: Sequence[int], reply: Sequence[int], *,
                   message_tokens: int = MESSAGE_TOKENS, seed: int = 0) -> tuple[float, int]:
    """TTFT of the turn after the conversation the generator has just run (prompt `first`, answer `reply`):
    (seconds, tokens prefilled)."""
    second = [*first, *reply, *random_prompt(message_tokens, seed + 1)]
    events = list(generator.generate(second, None, GenerationConfig(max_new_tokens=1, ignore_eos=True)))
    last = events[-1]
    assert last.ttft_s is not None
    return last.ttft_s, len(second) - last.cached_tokens


class GenaiRunner:
    """onnxruntime-genai 0.18 on the same package folder (its own C++ generator loop)."""

    def __init__(self, folder: Path) -> None:
        import onnxruntime_genai as og

        self._og = og
        started = time.perf_counter()
        self.model = og.Model(str(folder))
        self.load_seconds = time.perf_counter() - started
        # onnxruntime-genai sizes window-cache buffers min(max_length, window + slack), and the kernel refuses
        # fewer positions than the window: short rounds ask for the whole window's room.
        facts = read_package_facts(folder)
        self._min_max_length = min(facts.window_capacity, facts.context_length)

    def round(self, prompt: Sequence[int], new_tokens: int) -> RoundResult:
        og = self._og
        total = len(prompt) + new_tokens
        params = og.GeneratorParams(self.model)
        # min_length keeps end-of-turn tokens from ending the run early (the same as our ignore_eos).
        params.set_search_options(max_length=max(total, self._min_max_length), min_length=total, do_sample=False,
                                  top_k=1)
        generator = og.Generator(self.model, params)
        ids = np.asarray(prompt, dtype=np.int32)
        started = time.perf_counter()
        generator.append_tokens(ids)  # runs the prefill
        generator.generate_next_token()
        generator.get_next_tokens()
        first = time.perf_counter()
        for _ in range(new_tokens - 1):
            generator.generate_next_token()
            generator.get_next_tokens()
        end = time.perf_counter()
        ttft = first - started
        return RoundResult(ttft_s=ttft, prefill_tok_s=len(prompt) / ttft,
                           decode_tok_s=(new_tokens - 1) / (end - first))

    def close(self) -> None:
        del self.model


def summary(values: Sequence[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def results_summary(results: Sequence[RoundResult]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("ttft_s", "prefill_tok_s", "decode_tok_s", "python_overhead_ms", "ort_decode_ms"):
        values = [getattr(r, name) for r in results if getattr(r, name) is not None]
        if values:
            out[name] = summary(values)
    return out


def ratios(ours: Sequence[RoundResult], theirs: Sequence[RoundResult]) -> dict[str, dict[str, float]]:
    """Per-round ours/theirs ratios (rounds alternate, so round i of each ran back to back)."""
    return {name: summary([getattr(a, name) / getattr(b, name) for a, b in zip(ours, theirs, strict=True)])
            for name in ("prefill_tok_s", "decode_tok_s", "ttft_s")}
