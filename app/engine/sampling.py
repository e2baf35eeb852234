"""Composed sampling: `make_sampler(...)` chains small, pure, range-checked filters over NumPy logits.

Borrowed from mlx-lm's sample_utils: each filter is a function `logits -> logits` that masks what it rejects
with -inf, so filters compose in any order and each one is testable on a four-element vector. Temperature 0
means greedy argmax, which skips every filter (they cannot change the argmax) and costs one `np.argmax`
over the vocabulary: that is the path the decode loop's per-token overhead is measured on.

Filters that need the probability order (top-p, top-k) work on a top-k `argpartition` slice instead of a
full sort of gpt-oss's 201,088 logits, so sampling stays well under a millisecond per token.

`SamplingParams` is the one sampling type of the app: the engine, the settings file, a conversation's stored
settings, the window's chat settings and the command line all build it, and `SAMPLING_BOUNDS` is the one
range per parameter that all of them check (the window's spin boxes take their limits from it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np

Sampler = Callable[[np.ndarray, Sequence[int]], int]
"""(logits float32 [vocab], token ids so far) -> next token id."""

# When top-p is used without top-k, only this many best candidates are sorted. Probability mass beyond the
# 1024th most likely token is negligible for any top_p < 1 a user would pick, and sorting 1024 values is
# ~200x cheaper than sorting the whole vocabulary.
TOP_P_CANDIDATES = 1024


@dataclass(frozen=True)
class Bound:
    """The values one parameter may take: [low, high] (or (low, high] with `low_open`), integers only with
    `integer`. Booleans are never numbers here, and NaN is never in range."""

    low: float
    high: float
    low_open: bool = False
    integer: bool = False

    def contains(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = self.low < value if self.low_open else self.low <= value
        return above and value <= self.high

    def check(self, name: str, value: object) -> None:
        """Raises ValueError with one sentence naming the parameter, its range and the value."""
        if not self.contains(value):
            bracket = "(" if self.low_open else "["
            kind = "an integer" if self.integer else "a number"
            raise ValueError(f"{name} must be {kind} in {bracket}{_number(self.low)}, {_number(self.high)}], "
                             f"got {value!r}.")


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# The one range per parameter. Temperature and top-p follow what chat clients send (OpenAI's API takes
# temperature up to 2); a repetition penalty below 1 would reward repeating and above 2 wrecks the text;
# max_new_tokens (the reply budget that travels beside SamplingParams, see app.engine.assistant) is capped at
# gpt-oss's context. A seed is what the window's spin box (a 32-bit int) can show.
SAMPLING_BOUNDS: dict[str, Bound] = {
    "temperature": Bound(0.0, 2.0),
    "top_p": Bound(0.0, 1.0, low_open=True),
    "top_k": Bound(0, 1000, integer=True),  # 0: no limit
    "min_p": Bound(0.0, 1.0),
    "repetition_penalty": Bound(1.0, 2.0),  # 1: off
    "repetition_window": Bound(1, 131072, integer=True),
    "seed": Bound(0, 2**31 - 1, integer=True),  # None (no bound checked): a fresh seed for every reply
    "max_new_tokens": Bound(1, 131072, integer=True),
}

# The reply budget when a caller names none, one value for the app's chats (ChatSettings) and for the engine's
# own callers (GenerationConfig): gpt-oss writes its reasoning before the answer, and 2048 tokens leave room for
# a medium-effort analysis and a full answer (issue 11 found the two defaults apart, 2048 and 512).
DEFAULT_MAX_NEW_TOKENS = 2048


@dataclass(frozen=True)
class SamplingParams:
    """Everything that decides how the next token is picked. Defaults = greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0  # 0: no limit
    min_p: float = 0.0
    repetition_penalty: float = 1.0  # 1.0: off (CTRL paper, Keskar et al. 2019: divide positive logits)
    repetition_window: int = 256  # only the last N tokens are penalised
    seed: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (f.name == "seed" and value is None):
                SAMPLING_BOUNDS[f.name].check(f.name, value)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def to_json(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def parse_sampling(data: Mapping[str, object], base: SamplingParams) -> tuple[SamplingParams, list[str]]:
    """`base` with each valid parameter of `data` (a JSON object from a file or the history) taken over.

    Returns the names of the parameters that were present but invalid (wrong kind or out of range): they keep
    `base`'s value, so one bad entry never costs the others. Keys that are not parameters are ignored.
    """
    values: dict[str, object] = {}
    bad: list[str] = []
    for f in fields(SamplingParams):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "seed" and value is None:
            values[f.name] = None
        elif SAMPLING_BOUNDS[f.name].contains(value):
            values[f.name] = value if SAMPLING_BOUNDS[f.name].integer else float(value)  # type: ignore[arg-type]
        else:
            bad.append(f.name)
    return replace(base, **values), bad  # type: ignore[arg-type]


# --- filters: pure functions logits -> logits (never modify the input) ------------------------------------
def apply_repetition_penalty(logits: np.ndarray, previous: Sequence[int], penalty: float) -> np.ndarray:
    """Makes already-seen tokens less likely: positive logits are divided by `penalty`, negative multiplied."""
    SAMPLING_BOUNDS["repetition_penalty"].check("repetition_penalty", penalty)
    if penalty == 1.0 or len(previous) == 0:
        return logits
    ids = np.unique(np.asarray(previous, dtype=np.int64))
    out = logits.copy()
    seen = out[ids]
    out[ids] = np.where(seen > 0, seen / penalty, seen * penalty)
    return out


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    SAMPLING_BOUNDS["temperature"].check("temperature", temperature)
    if temperature == 0.0:
        raise ValueError("temperature 0 means greedy: there is nothing to scale.")
    return logits / np.float32(temperature)


def apply_top_k(logits: np.ndarray, k: int) -> np.ndarray:
    """Keeps the k largest logits (ties at the boundary may keep a few more)."""
    if k <= 0:
        raise ValueError(f"top_k must be > 0 here, got {k}")
    if k >= logits.shape[-1]:
        return logits
    kth = np.partition(logits, -k)[-k]
    return np.where(logits >= kth, logits, -np.inf).astype(logits.dtype, copy=False)


def apply_top_p(logits: np.ndarray, top_p: float, candidates: int = TOP_P_CANDIDATES) -> np.ndarray:
    """Nucleus sampling (Holtzman et al. 2019): keeps the smallest set of tokens whose probability sums to
    at least `top_p`. The most likely token always survives."""
    SAMPLING_BOUNDS["top_p"].check("top_p", top_p)
    if top_p >= 1.0:
        return logits
    n = logits.shape[-1]
    k = min(candidates, n)
    idx = np.argpartition(logits, n - k)[n - k:] if k < n else np.arange(n)
    order = idx[np.argsort(logits[idx])[::-1]]
    probs = _softmax(logits)
    cumulative = np.cumsum(probs[order])
    # Keep tokens whose preceding mass is < top_p (so the first token is always kept).
    keep_count = int(np.searchsorted(cumulative, top_p, side="left")) + 1
    out = np.full_like(logits, -np.inf)
    kept = order[:keep_count]
    out[kept] = logits[kept]
    return out


def apply_min_p(logits: np.ndarray, min_p: float) -> np.ndarray:
    """Min-p (Nguyen et al. 2024): drops tokens whose probability is below min_p x the top token's."""
    SAMPLING_BOUNDS["min_p"].check("min_p", min_p)
    if min_p == 0.0:
        return logits
    # p_i >= min_p * p_max  <=>  logit_i >= logit_max + ln(min_p)
    threshold = np.max(logits) + np.log(min_p)
    return np.where(logits >= threshold, logits, -np.inf).astype(logits.dtype, copy=False)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - np.max(logits)
    e = np.exp(shifted)
    return e / e.sum()


def argmax_sampler(logits: np.ndarray, previous: Sequence[int] = ()) -> int:
    return int(np.argmax(logits))


def make_sampler(params: SamplingParams | None = None, **overrides: float | int | None) -> Sampler:
    """Builds the sampler for `params` (or for keyword overrides of the greedy defaults).

    The returned callable owns its own seeded `numpy.random.Generator`, so the same seed gives the same
    tokens, and two samplers never disturb each other's streams.
    """
    if params is not None and overrides:
        raise ValueError("pass either SamplingParams or keyword overrides, not both")
    p = params if params is not None else SamplingParams(**overrides)  # type: ignore[arg-type]
    penalty, window = p.repetition_penalty, p.repetition_window

    if p.greedy:
        if penalty == 1.0:
            return argmax_sampler

        def greedy_penalised(logits: np.ndarray, previous: Sequence[int] = ()) -> int:
            return int(np.argmax(apply_repetition_penalty(logits, previous[-window:], penalty)))

        return greedy_penalised

    rng = np.random.default_rng(p.seed)
    temperature, top_k, top_p, min_p = p.temperature, p.top_k, p.top_p, p.min_p

    def sample(logits: np.ndarray, previous: Sequence[int] = ()) -> int:
        x = apply_repetition_penalty(logits, previous[-window:], penalty)
        x = apply_temperature(x, temperature)
        if top_k:
            x = apply_top_k(x, top_k)
        if min_p:
            x = apply_min_p(x, min_p)
        if top_p < 1.0:
            x = apply_top_p(x, top_p)
        probs = _softmax(x)
        return int(rng.choice(probs.shape[-1], p=probs))

    return sample
