"""Each sampling filter on hand-made four-element vectors, and the composed sampler's seeding."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.sampling import (
    SamplingParams,
    apply_min_p,
    apply_repetition_penalty,
    apply_temperature,
    apply_top_k,
    apply_top_p,
    make_sampler,
)

LOGITS = np.log(np.array([0.5, 0.25, 0.15, 0.10], dtype=np.float32))


def kept(x: np.ndarray) -> list[int]:
    return [i for i, v in enumerate(x) if np.isfinite(v)]


def test_top_k_keeps_the_k_largest() -> None:
    assert kept(apply_top_k(LOGITS, 2)) == [0, 1]
    assert kept(apply_top_k(LOGITS, 10)) == [0, 1, 2, 3]


def test_top_p_keeps_the_smallest_set_reaching_p() -> None:
    assert kept(apply_top_p(LOGITS, 0.5)) == [0]
    assert kept(apply_top_p(LOGITS, 0.6)) == [0, 1]
    assert kept(apply_top_p(LOGITS, 0.75)) == [0, 1]
    assert kept(apply_top_p(LOGITS, 0.8)) == [0, 1, 2]
    assert kept(apply_top_p(LOGITS, 1.0)) == [0, 1, 2, 3]


def test_top_p_only_sorts_candidates_but_keeps_the_same_set() -> None:
    rng = np.random.default_rng(1)
    logits = rng.standard_normal(5000).astype(np.float32) * 3
    full = apply_top_p(logits, 0.3, candidates=5000)
    partial = apply_top_p(logits, 0.3, candidates=64)
    assert kept(full) == kept(partial)


def test_min_p_drops_tokens_below_a_fraction_of_the_best() -> None:
    assert kept(apply_min_p(LOGITS, 0.4)) == [0, 1]  # 0.25 >= 0.4 * 0.5 ; 0.15 < 0.2
    assert kept(apply_min_p(LOGITS, 0.0)) == [0, 1, 2, 3]


def test_temperature_scales_logits() -> None:
    np.testing.assert_allclose(apply_temperature(np.array([2.0, -4.0], np.float32), 2.0), [1.0, -2.0])


def test_repetition_penalty_divides_positive_and_multiplies_negative() -> None:
    x = np.array([2.0, -1.0, 3.0, 0.5], dtype=np.float32)
    out = apply_repetition_penalty(x, [0, 1, 1], 2.0)
    np.testing.assert_allclose(out, [1.0, -2.0, 3.0, 0.5])
    np.testing.assert_allclose(x, [2.0, -1.0, 3.0, 0.5])  # input untouched


@pytest.mark.parametrize("kwargs", [
    {"temperature": -1.0}, {"top_p": 0.0}, {"top_p": 1.5}, {"top_k": -1}, {"min_p": 2.0},
    {"repetition_penalty": 0.0}, {"temperature": float("nan")},
])
def test_out_of_range_parameters_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SamplingParams(**kwargs)


def test_temperature_zero_is_argmax_even_with_other_filters() -> None:
    sampler = make_sampler(SamplingParams(temperature=0.0, top_p=0.1, top_k=3))
    assert sampler(np.array([0.1, 3.0, 2.0, -1.0], np.float32), []) == 1


def test_greedy_with_repetition_penalty_avoids_the_repeated_token() -> None:
    sampler = make_sampler(SamplingParams(repetition_penalty=2.0))
    assert sampler(np.array([1.0, 3.0, 2.0], np.float32), [1]) == 2


def test_same_seed_same_draws_different_seed_different_draws() -> None:
    logits = np.zeros(1000, dtype=np.float32)

    def draws(seed: int) -> list[int]:
        sampler = make_sampler(SamplingParams(temperature=1.0, seed=seed))
        return [sampler(logits, []) for _ in range(20)]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)


def test_sampling_follows_the_distribution() -> None:
    sampler = make_sampler(SamplingParams(temperature=1.0, seed=0))
    counts = np.bincount([sampler(LOGITS, []) for _ in range(4000)], minlength=4) / 4000
    np.testing.assert_allclose(counts, [0.5, 0.25, 0.15, 0.10], atol=0.03)


def test_top_k_one_is_greedy_under_sampling() -> None:
    sampler = make_sampler(SamplingParams(temperature=1.5, top_k=1, seed=3))
    assert {sampler(LOGITS, []) for _ in range(50)} == {0}
