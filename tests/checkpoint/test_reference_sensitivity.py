"""The tiny test model under transformers' reference implementation: it loads, our MXFP4 decode matches
transformers' exactly, and every component the exporter must get right moves the logits clearly.

Why this matters: parity tests (export vs transformers) can only catch a wrong sliding window, rope, sink,
clamp, expert order or nibble order if that mistake changes the logits by more than the parity tolerance. Each
ablation below makes one such mistake in the reference model itself and requires a large change.

Criterion: on a 200-token prompt (longer than the 128-token window), the last position's logits must move by
max|Δ| ≥ 0.5·std(logits) and mean|Δ| ≥ 0.05·std(logits). The fp32 noise floor (fp32 vs fp64 forward pass of
the same model) is ~1e-5·std, so these are >1000× noise; they are also well above the ~1 % relative error that
the int8-activation CPU expert kernel adds per MoE layer, so an export parity tolerance can sit between the two.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from app.checkpoint import mxfp4  # noqa: E402
from app.checkpoint.weights import Checkpoint  # noqa: E402
from tests.support.test_models import load_reference_model  # noqa: E402

PROMPT_LENGTH = 200
MAX_FRACTION = 0.5
MEAN_FRACTION = 0.05


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint: Path) -> Checkpoint:
    return Checkpoint.open(tiny_checkpoint)


@pytest.fixture(scope="module")
def model(tiny_checkpoint: Path):
    return load_reference_model(tiny_checkpoint)


@pytest.fixture(scope="module")
def prompt() -> "torch.Tensor":
    # Random ids over the real vocabulary (fixed seed): the tokenizer is not under test here.
    return torch.tensor(np.random.default_rng(1).integers(0, 200_000, size=(1, PROMPT_LENGTH)))


def _logits(model, prompt) -> np.ndarray:
    """Last-position logits only (float64 copy): the full [200, 201088] matrix would dominate the run time."""
    with torch.no_grad():
        return model(prompt, logits_to_keep=1).logits[0, -1].double().numpy()


@pytest.fixture(scope="module")
def base_logits(model, prompt) -> np.ndarray:
    return _logits(model, prompt)


def test_reference_runs_with_a_healthy_logit_spread(base_logits: np.ndarray) -> None:
    assert base_logits.shape == (201088,)
    assert np.isfinite(base_logits).all()
    # A few units of spread: argmax decisions are stable but the distribution is not degenerate.
    assert 1.0 < base_logits.std() < 10.0


def test_fp32_noise_floor_is_far_below_the_criterion(tiny_checkpoint: Path, prompt, base_logits) -> None:
    reference64 = load_reference_model(tiny_checkpoint).double()
    exact = _logits(reference64, prompt)
    noise = np.abs(base_logits - exact).max() / exact.std()
    assert noise < 1e-4, noise  # measured ~1e-5
    assert noise * 1000 < MEAN_FRACTION


def test_numpy_mxfp4_decode_equals_transformers_dequantized_experts(model, checkpoint: Checkpoint) -> None:
    for layer_index, layer in enumerate(model.model.layers):
        experts = layer.mlp.experts
        for proj, parameter in (("gate_up", experts.gate_up_proj), ("down", experts.down_proj)):
            ours = checkpoint.experts_f32(layer_index, proj)  # [E, N, K]
            theirs = parameter.detach().numpy()  # transformers stores [E, K, N]
            assert np.array_equal(ours.transpose(0, 2, 1), theirs), f"layer {layer_index} {proj}"


def test_plain_tensors_load_unchanged(model, checkpoint: Checkpoint) -> None:
    state = model.state_dict()
    for name in ("model.embed_tokens.weight", "model.layers.0.self_attn.sinks", "model.layers.2.self_attn.q_proj.bias",
                 "model.layers.1.mlp.router.weight", "model.layers.1.mlp.experts.gate_up_proj_bias", "lm_head.weight"):
        assert np.array_equal(state[name].numpy(), checkpoint.tensor_f32(name)), name


# --- ablations: each context manager makes one mistake and undoes it --------------------------------------------
@contextmanager
def _window(model, size: int) -> Iterator[None]:
    original = model.config.sliding_window
    model.config.sliding_window = size  # the sliding-window mask is built from the config on every call
    try:
        yield
    finally:
        model.config.sliding_window = original


@contextmanager
def _rope_without_yarn(model) -> Iterator[None]:
    rotary = model.model.rotary_emb
    inv_freq, scaling = rotary.inv_freq.clone(), rotary.attention_scaling
    config = model.config
    theta = config.rope_parameters["rope_theta"]
    rotary.inv_freq = 1.0 / (theta ** (torch.arange(0, config.head_dim, 2, dtype=torch.float) / config.head_dim))
    rotary.attention_scaling = 1.0
    try:
        yield
    finally:
        rotary.inv_freq, rotary.attention_scaling = inv_freq, scaling


@contextmanager
def _parameters_changed(tensors: list["torch.Tensor"], change: Callable[[int, "torch.Tensor"], None]) -> Iterator[None]:
    saved = [t.detach().clone() for t in tensors]
    with torch.no_grad():
        for index, tensor in enumerate(tensors):
            change(index, tensor)
    try:
        yield
    finally:
        with torch.no_grad():
            for tensor, original in zip(tensors, saved):
                tensor.copy_(original)


def _sinks_dropped(model):
    sinks = [layer.self_attn.sinks for layer in model.model.layers]
    return _parameters_changed(sinks, lambda _, t: t.fill_(-math.inf))  # exp(-inf) = 0: no sink in the softmax


@contextmanager
def _attributes(objects: list[object], name: str, value: object) -> Iterator[None]:
    saved = [getattr(o, name) for o in objects]
    for o in objects:
        setattr(o, name, value)
    try:
        yield
    finally:
        for o, original in zip(objects, saved):
            setattr(o, name, original)


def _experts(model) -> list[object]:
    return [layer.mlp.experts for layer in model.model.layers]


def _experts_swapped(model):
    tensors = [p for e in _experts(model) for p in (e.gate_up_proj, e.gate_up_proj_bias, e.down_proj, e.down_proj_bias)]
    return _parameters_changed(tensors, lambda _, t: t.copy_(t[[1, 0, *range(2, t.shape[0])]]))


def _nibbles_swapped(model, checkpoint: Checkpoint):
    def decode_swapped(index: int, tensor: "torch.Tensor") -> None:
        layer, proj = divmod(index, 2)
        names = checkpoint.layer_names(layer)
        key = ("gate_up", "down")[proj]
        blocks = np.asarray(checkpoint.tensor_raw(names[f"{key}_blocks"]))
        scales = np.asarray(checkpoint.tensor_raw(names[f"{key}_scales"]))
        tensor.copy_(torch.from_numpy(mxfp4.decode(blocks, scales, swap_nibbles=True)).transpose(1, 2))

    tensors = [p for e in _experts(model) for p in (e.gate_up_proj, e.down_proj)]
    return _parameters_changed(tensors, decode_swapped)


@contextmanager
def _uniform_routing_weights(model) -> Iterator[None]:
    routers = [layer.mlp.router for layer in model.model.layers]

    def uniform(router):
        def forward(hidden):
            logits, scores, indices = type(router).forward(router, hidden)
            return logits, torch.full_like(scores, 1.0 / scores.shape[-1]), indices
        return forward

    for router in routers:
        router.forward = uniform(router)
    try:
        yield
    finally:
        for router in routers:
            del router.forward


ABLATIONS: dict[str, Callable] = {
    "window 127": lambda m, c: _window(m, 127),
    "window 129": lambda m, c: _window(m, 129),
    "rope without yarn": lambda m, c: _rope_without_yarn(m),
    "sinks dropped": lambda m, c: _sinks_dropped(m),
    "swiglu clamp removed": lambda m, c: _attributes(_experts(m), "limit", math.inf),
    "experts 0 and 1 swapped": lambda m, c: _experts_swapped(m),
    "nibble order swapped": _nibbles_swapped,
    "routing weights uniform": lambda m, c: _uniform_routing_weights(m),
    "top-3 routing": lambda m, c: _attributes([layer.mlp.router for layer in m.model.layers], "top_k", 3),
}


@pytest.mark.parametrize("ablation", list(ABLATIONS))
def test_each_component_moves_the_last_logits_clearly(ablation, model, checkpoint, prompt, base_logits) -> None:
    with ABLATIONS[ablation](model, checkpoint):
        changed = _logits(model, prompt)
    base = base_logits
    delta = np.abs(changed - base)
    scale = base.std()
    assert delta.max() >= MAX_FRACTION * scale, f"{ablation}: max|Δ| = {delta.max() / scale:.3f}·std"
    assert delta.mean() >= MEAN_FRACTION * scale, f"{ablation}: mean|Δ| = {delta.mean() / scale:.4f}·std"
    # And the ablation was fully undone, so the next one starts from the real model.
    assert np.array_equal(_logits(model, prompt), base_logits)
