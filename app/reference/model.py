"""gpt-oss in NumPy, block by block as openai/gpt-oss's gpt_oss/torch/model.py writes it.

    x = embedding[tokens]
    for each layer:  x = x + attention(rms_norm(x))     sinks, sliding window on sliding layers, YaRN rotary
                     x = x + mlp(rms_norm(x))           top-k routing, softmax over the chosen logits,
                                                        SwiGLU clamped at ±limit with (up + 1)
    logits = rms_norm(x) @ lm_head.T

Where a checkpoint may say otherwise, the config decides (app/checkpoint/config_fields.py): which layers slide
(layer_types), YaRN's values (truncate, attention_factor), and whether the experts are MXFP4 or floating point.

It runs one whole sequence at once, without a KV cache: `enclave verify` compares a package's prefill-then-
decode logits with rows of one reference pass over the same tokens. It computes in float32 (noise ~1e-5 σ of
the logits against a float64 pass, far below any package's error) and dequantises an expert only when a
token is routed to it (app.reference.experts). Nothing here imports app.export or ONNX Runtime.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from app.checkpoint.config import GptOssConfig
from app.checkpoint.names import EMBED, FINAL_NORM, LM_HEAD, layer_names
from app.checkpoint.safetensors_io import raw_to_f32
from app.checkpoint.weights import Checkpoint
from app.reference.experts import ExpertReader

LM_HEAD_ROWS = 16384  # vocabulary rows of the lm_head widened to float32 at a time (190 MB at 20b widths)


def linear(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """x [T, in] @ weight.T for a weight stored [out, in]. Written as (weight @ x.T).T because OpenBLAS runs
    that orientation 1.5-5x faster when x has few rows (decode-sized inputs, one expert's tokens)."""
    return (weight @ x.T).T


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(eps)) * weight


# --- rotary: YaRN (Peng et al. 2023, arXiv:2309.00071), "NTK by parts" --------------------------------------------
def yarn_inv_freq(config: GptOssConfig) -> tuple[np.ndarray, float]:
    """(inverse frequencies float64 [head_dim/2], concentration): openai's _compute_concentration_and_inv_freq,
    with the ramp ends rounded outward when the config says `truncate` (transformers' option)."""
    d, base, rope = config.head_dim, config.rope_theta, config.rope_scaling
    freq = base ** (np.arange(0, d, 2, dtype=np.float64) / d)
    if rope.factor <= 1.0:
        return 1.0 / freq, rope.attention_factor or 1.0
    concentration = rope.attention_factor or 0.1 * math.log(rope.factor) + 1.0
    d_half = d / 2
    low = d_half * math.log(rope.original_max_position_embeddings / (rope.beta_fast * 2 * math.pi)) / math.log(base)
    high = d_half * math.log(rope.original_max_position_embeddings / (rope.beta_slow * 2 * math.pi)) / math.log(base)
    if rope.truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0.0), min(high, d - 1.0)
    if high == low:
        high += 0.001
    ramp = np.clip((np.arange(d_half) - low) / (high - low), 0.0, 1.0)
    keep = 1.0 - ramp  # 1: the frequency is kept (extrapolated), 0: divided by the factor (interpolated)
    inv_freq = (1.0 / (rope.factor * freq)) * (1.0 - keep) + (1.0 / freq) * keep
    return inv_freq, concentration


def rotary_tables(config: GptOssConfig, length: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin float32 [length, head_dim/2] for positions 0..length-1, concentration included."""
    inv_freq, concentration = yarn_inv_freq(config)
    angles = np.arange(length, dtype=np.float64)[:, None] * inv_freq[None, :]
    return ((np.cos(angles) * concentration).astype(np.float32), (np.sin(angles) * concentration).astype(np.float32))


def apply_rotary(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """x [T, ..., d] rotated by position: the first and second halves of each head are the pairs."""
    shape = (cos.shape[0],) + (1,) * (x.ndim - 2) + (cos.shape[1],)
    c, s = cos.reshape(shape), sin.reshape(shape)
    x1, x2 = np.split(x, 2, axis=-1)
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


# --- attention ------------------------------------------------------------------------------------------------
def sdpa(q: np.ndarray, k: np.ndarray, v: np.ndarray, sinks: np.ndarray, window: int) -> np.ndarray:
    """Causal attention with one learned sink logit per head; `window` > 0 lets a query see only the `window`
    most recent keys, itself included (openai's sdpa: mask q - k >= window).

    q [T, kv_heads, group, d], k and v [T, kv_heads, d], sinks [kv_heads * group] -> [T, heads * d]."""
    tokens, kv_heads, group, d = q.shape
    scores = np.einsum("qhmd,khd->hmqk", q, k) / np.float32(math.sqrt(d))
    query, key = np.arange(tokens)[:, None], np.arange(tokens)[None, :]
    hidden = key > query
    if window > 0:
        hidden |= query - key >= window
    scores[..., hidden] = -np.inf
    sink = np.broadcast_to(sinks.reshape(kv_heads, group, 1, 1), (kv_heads, group, tokens, 1))
    logits = np.concatenate([scores, sink], axis=-1)
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    out = np.einsum("hmqk,khd->qhmd", weights[..., :-1], v)  # the sink takes its share, then is dropped
    return out.reshape(tokens, -1)


def attention(config: GptOssConfig, checkpoint: Checkpoint, layer: int, x: np.ndarray, cos: np.ndarray,
              sin: np.ndarray) -> np.ndarray:
    """One layer's attention block on the normalised input x [T, hidden] (the residual add is the caller's)."""
    n, f32 = layer_names(layer), checkpoint.tensor_f32
    heads, kv_heads, d = config.num_attention_heads, config.num_key_value_heads, config.head_dim
    q = (linear(x, f32(n["q_weight"])) + f32(n["q_bias"])).reshape(-1, kv_heads, heads // kv_heads, d)
    k = (linear(x, f32(n["k_weight"])) + f32(n["k_bias"])).reshape(-1, kv_heads, d)
    v = (linear(x, f32(n["v_weight"])) + f32(n["v_bias"])).reshape(-1, kv_heads, d)
    q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
    window = config.sliding_window if config.is_sliding(layer) else 0
    out = sdpa(q, k, v, f32(n["sinks"]), window)
    return linear(out, f32(n["o_weight"])) + f32(n["o_bias"])


# --- mixture of experts -----------------------------------------------------------------------------------------
def swiglu(x: np.ndarray, alpha: float, limit: float) -> np.ndarray:
    """gpt-oss's SwiGLU on interleaved [gate, up] pairs: gate clamped above, up clamped both ways, and the
    extra bias of 1 on the linear half."""
    gate = np.minimum(x[..., ::2], np.float32(limit))
    up = np.clip(x[..., 1::2], np.float32(-limit), np.float32(limit))
    return gate / (np.float32(1.0) + np.exp(-np.float32(alpha) * gate)) * (up + np.float32(1.0))


def route(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(expert indices [T, k], weights [T, k]): the k largest router logits, softmax over just those."""
    chosen = np.argsort(-logits, axis=-1, kind="stable")[:, :k]
    top = np.take_along_axis(logits, chosen, axis=-1)
    weights = np.exp(top - top.max(axis=-1, keepdims=True))
    return chosen, weights / weights.sum(axis=-1, keepdims=True)


def mlp(config: GptOssConfig, checkpoint: Checkpoint, experts: ExpertReader, layer: int,  # or PackageExperts
        x: np.ndarray) -> np.ndarray:
    """One layer's MoE block on the normalised input x [T, hidden]; each expert is read (and dequantised) once,
    for all the tokens routed to it, and never when no token is."""
    n, f32 = layer_names(layer), checkpoint.tensor_f32
    chosen, weights = route(linear(x, f32(n["router_weight"])) + f32(n["router_bias"]), config.num_experts_per_tok)
    gate_up_bias, down_bias = f32(n["gate_up_bias"]), f32(n["down_bias"])
    out = np.zeros_like(x)
    for expert in np.unique(chosen):
        tokens, slot = np.nonzero(chosen == expert)  # a token picks an expert at most once
        hidden = experts.matmul(layer, "gate_up", int(expert), x[tokens]) + gate_up_bias[expert]
        y = experts.matmul(layer, "down", int(expert), swiglu(hidden, config.swiglu_alpha, config.swiglu_limit))
        out[tokens] += weights[tokens, slot, None] * (y + down_bias[expert])
    return out


# --- the model ------------------------------------------------------------------------------------------------------
class Transformer:
    """The reference model over an opened checkpoint (weights are read from it layer by layer, not kept).

    `experts` replaces where the expert weights come from (anything with ExpertReader's `matmul`) and `embedding`
    where the embedding rows do (anything with a `rows(tokens)`): verify runs a cpu-int4 package's own int4
    experts and embedding through it (app.reference.package_experts)."""

    def __init__(self, checkpoint: Checkpoint, experts: object | None = None, embedding: object | None = None) -> None:
        self.checkpoint = checkpoint
        self.config = checkpoint.config
        self.experts = experts if experts is not None else ExpertReader(checkpoint)
        self.embedding = embedding

    def embed(self, tokens: Sequence[int]) -> np.ndarray:
        if self.embedding is not None:
            return self.embedding.rows(np.asarray(tokens, dtype=np.int64))  # type: ignore[attr-defined]
        raw = self.checkpoint.tensor_raw(EMBED)
        return raw_to_f32(raw[np.asarray(tokens, dtype=np.int64)], self.checkpoint.tensor_dtype(EMBED))

    def forward(self, tokens: Sequence[int], logits_at: Sequence[int],
                on_layer: Callable[[int], None] = lambda _layer: None) -> np.ndarray:
        """Logits float32 [len(logits_at), vocab] at the given positions of one pass over `tokens`.

        `on_layer(i)` runs after layer i (progress; it may raise to stop)."""
        cfg, f32 = self.config, self.checkpoint.tensor_f32
        if not tokens:
            raise ValueError("the reference forward needs at least one token")
        x = self.embed(tokens)
        cos, sin = rotary_tables(cfg, len(tokens))
        for layer in range(cfg.num_hidden_layers):
            n = layer_names(layer)
            x = x + attention(cfg, self.checkpoint, layer, rms_norm(x, f32(n["input_norm"]), cfg.rms_norm_eps),
                              cos, sin)
            x = x + mlp(cfg, self.checkpoint, self.experts, layer,
                        rms_norm(x, f32(n["post_norm"]), cfg.rms_norm_eps))
            on_layer(layer)
        final = rms_norm(x[np.asarray(logits_at, dtype=np.int64)], f32(FINAL_NORM), cfg.rms_norm_eps)
        return self.unembed(final)

    def unembed(self, hidden: np.ndarray) -> np.ndarray:
        """hidden [P, H] @ lm_head.T, the [vocab, hidden] matrix widened a block of rows at a time."""
        name = EMBED if self.config.tie_word_embeddings else LM_HEAD
        vocab = self.config.vocab_size
        logits = np.empty((hidden.shape[0], vocab), dtype=np.float32)
        for r in range(0, vocab, LM_HEAD_ROWS):
            rows = slice(r, min(r + LM_HEAD_ROWS, vocab))
            logits[:, rows] = linear(hidden, self.checkpoint.tensor_f32(name, rows=rows))
        return logits
