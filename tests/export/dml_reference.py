"""Plain NumPy gpt-oss math for checking the dml layer graphs, written from the reference model
(gpt_oss/torch/model.py, transformers' modeling_gpt_oss.py) and independent of app/export.

Everything runs in float64, one token and one head at a time, so it is slow but obviously right; tests keep the
shapes small.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort

from app.checkpoint.config import GptOssConfig
from app.checkpoint.names import layer_names

E2M1 = np.array([0, .5, 1, 1.5, 2, 3, 4, 6, -0., -.5, -1, -1.5, -2, -3, -4, -6], dtype=np.float64)


@dataclass
class DictWeights:
    """A WeightSource over an in-memory dict (float32 arrays and uint8 MXFP4 parts)."""

    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    experts_are_mxfp4: bool = True

    def tensor_f32(self, name: str, rows: slice | None = None) -> np.ndarray:
        values = self.tensors[name].astype(np.float32)
        return values if rows is None else values[rows]

    def tensor_raw(self, name: str) -> np.ndarray:
        return self.tensors[name]

    def tensor_dtype(self, name: str) -> str:
        return "U8" if self.tensors[name].dtype == np.uint8 else "F32"


def bf16_like(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    """Random float32 values that are exactly representable in bfloat16 (as checkpoint values are)."""
    bits = rng.normal(0, std, shape).astype(np.float32).view(np.uint32) & 0xFFFF0000
    return bits.view(np.float32)


def random_layer(cfg: GptOssConfig, layer: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One layer's attention and MoE tensors, scaled so every part (sinks, window, routing) matters."""
    n = layer_names(layer)
    h, q, kv, e, i = cfg.hidden_size, cfg.q_size, cfg.kv_size, cfg.num_local_experts, cfg.intermediate_size
    t = {
        n["q_weight"]: bf16_like(rng, (q, h), h ** -0.5), n["q_bias"]: bf16_like(rng, (q,), 0.5),
        n["k_weight"]: bf16_like(rng, (kv, h), h ** -0.5), n["k_bias"]: bf16_like(rng, (kv,), 0.5),
        n["v_weight"]: bf16_like(rng, (kv, h), h ** -0.5), n["v_bias"]: bf16_like(rng, (kv,), 0.5),
        n["o_weight"]: bf16_like(rng, (h, q), q ** -0.5), n["o_bias"]: bf16_like(rng, (h,), 0.5),
        n["sinks"]: bf16_like(rng, (cfg.num_attention_heads,), 2.0),
        n["router_weight"]: bf16_like(rng, (e, h), 1.0), n["router_bias"]: bf16_like(rng, (e,), 1.0),
        n["gate_up_bias"]: bf16_like(rng, (e, 2 * i), 1.0), n["down_bias"]: bf16_like(rng, (e, h), 1.0),
    }
    # Scales around 2^-3..2^0 put the expert pre-activations in the range where the ±7 clamps bite.
    t[n["gate_up_blocks"]] = rng.integers(0, 256, (e, 2 * i, h // 32, 16), dtype=np.uint8)
    t[n["gate_up_scales"]] = rng.integers(124, 128, (e, 2 * i, h // 32), dtype=np.uint8)
    t[n["down_blocks"]] = rng.integers(0, 256, (e, h, i // 32, 16), dtype=np.uint8)
    t[n["down_scales"]] = rng.integers(122, 126, (e, h, i // 32), dtype=np.uint8)
    return t


def mxfp4_decode(blocks: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """[..., N, G, 16] bytes + [..., N, G] exponents -> float64 [..., N, G*32]; low nibble first."""
    values = np.empty(blocks.shape[:-1] + (32,))
    values[..., 0::2] = E2M1[blocks & 0x0F]
    values[..., 1::2] = E2M1[blocks >> 4]
    values *= np.exp2(scales.astype(np.float64) - 127)[..., None]
    return values.reshape(blocks.shape[:-2] + (-1,))


def moe(cfg: GptOssConfig, t: dict[str, np.ndarray], layer: int, x: np.ndarray) -> np.ndarray:
    """gpt-oss MLPBlock on x [..., H]: top-k routing, softmax over the k logits, clamped SwiGLU experts."""
    n = layer_names(layer)
    rows = x.reshape(-1, cfg.hidden_size).astype(np.float64)
    w_gu = mxfp4_decode(t[n["gate_up_blocks"]], t[n["gate_up_scales"]])  # [E, 2I, H]
    w_d = mxfp4_decode(t[n["down_blocks"]], t[n["down_scales"]])  # [E, H, I]
    out = np.zeros_like(rows)
    limit, alpha = cfg.swiglu_limit, cfg.swiglu_alpha
    for r, xr in enumerate(rows):
        logits = t[n["router_weight"]] @ xr + t[n["router_bias"]]
        chosen = np.argsort(-logits, kind="stable")[: cfg.num_experts_per_tok]
        weights = np.exp(logits[chosen] - logits[chosen].max())
        weights /= weights.sum()
        for e, we in zip(chosen, weights):
            gu = w_gu[e] @ xr + t[n["gate_up_bias"]][e]
            gate, up = np.minimum(gu[0::2], limit), np.clip(gu[1::2], -limit, limit)
            hidden = gate / (1 + np.exp(-alpha * gate)) * (up + 1)
            out[r] += we * (w_d[e] @ hidden + t[n["down_bias"]][e])
    return out.reshape(x.shape)


def rotary(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """x [S, heads, d] with cos/sin [S, d/2]: non-interleaved halves (transformers' _apply_rotary_emb)."""
    half = x.shape[-1] // 2
    c, s = cos[:, None, :], sin[:, None, :]
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * c - b * s, b * c + a * s], axis=-1)


def attention(cfg: GptOssConfig, t: dict[str, np.ndarray], layer: int, x: np.ndarray, cos: np.ndarray,
              sin: np.ndarray, window: int | None) -> np.ndarray:
    """gpt-oss attention over a whole sequence x [S, H] (positions 0..S-1): key j is visible from query i
    iff j <= i and (window is None or i - j < window); one sink logit per head joins the softmax."""
    n = layer_names(layer)
    x = x.astype(np.float64)
    seq = x.shape[0]
    nh, kvh, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    group = nh // kvh
    q = (x @ t[n["q_weight"]].T + t[n["q_bias"]]).reshape(seq, nh, d)
    k = (x @ t[n["k_weight"]].T + t[n["k_bias"]]).reshape(seq, kvh, d)
    v = (x @ t[n["v_weight"]].T + t[n["v_bias"]]).reshape(seq, kvh, d)
    q, k = rotary(q, cos[:seq], sin[:seq]), rotary(k, cos[:seq], sin[:seq])
    out = np.zeros((seq, nh, d))
    for h in range(nh):
        for i in range(seq):
            keys = [j for j in range(i + 1) if window is None or i - j < window]
            logits = np.array([q[i, h] @ k[j, h // group] / np.sqrt(d) for j in keys] + [t[n["sinks"]][h]])
            p = np.exp(logits - logits.max())
            p /= p.sum()
            out[i, h] = sum(p[m] * v[j, h // group] for m, j in enumerate(keys))
    return out.reshape(seq, -1) @ t[n["o_weight"]].T + t[n["o_bias"]]


def cpu_session(path: str) -> ort.InferenceSession:
    """An ORT CPU session limited to two threads (CI has two cores)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
