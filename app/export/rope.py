"""YaRN rotary-embedding caches for GroupQueryAttention (do_rotary=1 reads cos/sin [max_len, head_dim/2]).

gpt-oss uses YaRN (Peng et al. 2023, arXiv:2309.00071) with factor 32 over an original 4096-token context,
`truncate: false`, and scales cos/sin by the concentration factor 0.1·ln(factor) + 1. The frequencies are
computed exactly as transformers' `_compute_yarn_parameters` (modeling_rope_utils.py) and the angles as
`GptOssRotaryEmbedding.forward` does, in float32, so that the ONNX graph and the reference agree to the last
bit of the angle: at position 100k an fp32 angle already differs from an fp64 one by ~0.01 rad.
"""

from __future__ import annotations

import math

import numpy as np

from app.checkpoint.config import GptOssConfig


def yarn_inv_freq(config: GptOssConfig) -> tuple[np.ndarray, float]:
    """(inv_freq float32 [head_dim/2], attention_factor) as transformers computes them."""
    dim = config.head_dim
    base = config.rope_theta
    rope = config.rope_scaling
    factor = rope.factor
    pos_freqs = _pos_freqs(config)
    inv_freq_extrapolation = (np.float32(1.0) / pos_freqs).astype(np.float32)
    if factor <= 1.0:
        return inv_freq_extrapolation, 1.0
    inv_freq_interpolation = (np.float32(1.0) / (np.float32(factor) * pos_freqs)).astype(np.float32)

    def correction_dim(num_rotations: float) -> float:
        return (dim * math.log(rope.original_max_position_embeddings / (num_rotations * 2 * math.pi))) / (
            2 * math.log(base)
        )

    low, high = correction_dim(rope.beta_fast), correction_dim(rope.beta_slow)
    if rope.truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001  # transformers' guard against a zero-width ramp
    ramp = np.clip((np.arange(dim // 2, dtype=np.float32) - np.float32(low)) / np.float32(high - low), 0, 1)
    extrapolation_factor = (np.float32(1.0) - ramp.astype(np.float32)).astype(np.float32)
    inv_freq = (inv_freq_interpolation * (np.float32(1.0) - extrapolation_factor)
                + inv_freq_extrapolation * extrapolation_factor).astype(np.float32)
    return inv_freq, config.yarn_attention_factor


def plain_inv_freq(config: GptOssConfig) -> tuple[np.ndarray, float]:
    """Unscaled RoPE (no YaRN): only used by the mutation tests to prove YaRN matters."""
    return (np.float32(1.0) / _pos_freqs(config)).astype(np.float32), 1.0


def _pos_freqs(config: GptOssConfig) -> np.ndarray:
    """base ** (arange(0, dim, 2) / dim) as float32. transformers evaluates the power with torch's float32
    pow, whose last bit depends on the math library; we round the float64 power instead (correctly rounded),
    which differs from torch by at most one ulp for a few entries (angle error < position · 6e-8)."""
    exponents = (np.arange(0, config.head_dim, 2, dtype=np.float32) / np.float32(config.head_dim)).astype(np.float32)
    return np.power(np.float64(config.rope_theta), exponents.astype(np.float64)).astype(np.float32)


def cos_sin_cache(config: GptOssConfig, length: int, *, yarn: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin caches float32 [length, head_dim/2], concentration factor included."""
    inv_freq, attention_factor = yarn_inv_freq(config) if yarn else plain_inv_freq(config)
    positions = np.arange(length, dtype=np.float32)
    angles = np.multiply.outer(positions, inv_freq).astype(np.float32)  # fp32 product, as torch does
    scale = np.float32(attention_factor)
    cos = (np.cos(angles).astype(np.float32) * scale).astype(np.float32)
    sin = (np.sin(angles).astype(np.float32) * scale).astype(np.float32)
    return cos, sin
