"""Expert weights for the reference model, read only when a token is routed to them.

MXFP4 (OCP Microscaling v1.0, as gpt-oss stores its experts): every byte holds two E2M1 codes, the low nibble
first, and every 32 values share one E8M0 exponent byte e meaning 2^(e - 127). Decoding is the reference's hot
spot (a 20b layer holds 32 experts of 25 million values each), so it is a single gather: the packed bytes are
read as 16-bit words, and a 65536-entry table turns each word into its four values (16 bytes, gathered as one
complex128 item). The result goes into a buffer kept per shape, so no fresh memory is page-faulted per expert;
then the block scales multiply in place. This decoder is the reference's own (tests compare it with
transformers' dequantisation), not the exporter's.

Floating-point experts (a fine-tune saved by transformers) are read as stored, [in_features, out_features].
"""

from __future__ import annotations

import numpy as np

from app.checkpoint.names import layer_names
from app.checkpoint.weights import Checkpoint

# E2M1 code -> value: sign bit 3, then exponent and mantissa (OCP MX v1.0, table 5).
E2M1 = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0],
                dtype=np.float32)
BLOCK = 32


def word_table() -> np.ndarray:
    """complex128 [65536]: a little-endian 16-bit word -> its four E2M1 values (as float32 [4] in one item):
    the first byte's low and high nibble, then the second byte's."""
    word = np.arange(65536)
    nibbles = np.stack([word & 0xF, (word >> 4) & 0xF, (word >> 8) & 0xF, word >> 12], axis=1)
    return np.ascontiguousarray(E2M1[nibbles]).view(np.complex128).reshape(65536)


class ExpertReader:
    """`matmul(layer, proj, expert, x)` = x @ W.T for one expert's weight W [out_features, in_features]."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        self.checkpoint = checkpoint
        self.mxfp4 = checkpoint.experts_are_mxfp4
        self._table = word_table()
        self._buffers: dict[tuple[int, ...], np.ndarray] = {}

    def matmul(self, layer: int, proj: str, expert: int, x: np.ndarray) -> np.ndarray:
        """Computed as (W @ x.T).T: OpenBLAS is up to 5x faster that way round for the few rows one expert gets."""
        names = layer_names(layer)
        if not self.mxfp4:  # transformers' layout [in, out]; its transpose is W
            weight = self.checkpoint.tensor_f32(names[f"{proj}_proj"], rows=slice(expert, expert + 1))[0]
            return (weight.T @ x.T).T
        blocks = self.checkpoint.tensor_raw(names[f"{proj}_blocks"])[expert]
        scales = self.checkpoint.tensor_raw(names[f"{proj}_scales"])[expert]
        return (self.decode(blocks, scales) @ x.T).T

    def rows(self, layer: int, proj: str, expert: int, rows: np.ndarray) -> np.ndarray:
        """float32 [len(rows), K]: some output rows of one expert's weight (for comparing weights)."""
        names = layer_names(layer)
        if not self.mxfp4:
            weight = self.checkpoint.tensor_f32(names[f"{proj}_proj"], rows=slice(expert, expert + 1))[0]
            return np.ascontiguousarray(weight[:, rows].T)
        blocks = np.asarray(self.checkpoint.tensor_raw(names[f"{proj}_blocks"])[expert][rows])
        scales = np.asarray(self.checkpoint.tensor_raw(names[f"{proj}_scales"])[expert][rows])
        return self.decode(blocks, scales).copy()

    def decode(self, blocks: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """float32 [N, G * 32] from blocks uint8 [N, G, 16] and scales uint8 [N, G]. The result lives in a
        buffer that the next decode of the same shape overwrites."""
        rows, groups = scales.shape
        if blocks.shape != (rows, groups, BLOCK // 2):
            raise ValueError(f"MXFP4 blocks {blocks.shape} do not match scales {scales.shape}")
        out = self._buffers.get(blocks.shape)
        if out is None:
            out = self._buffers[blocks.shape] = np.empty((rows, groups, BLOCK // 4), dtype=np.complex128)
        words = np.ascontiguousarray(blocks).view("<u2")  # [N, G, 8]: two bytes = four codes
        np.take(self._table, words, out=out, mode="clip")  # mode="clip" writes straight into `out`
        values = out.view(np.float32).reshape(rows, groups, BLOCK)
        with np.errstate(over="ignore"):  # e = 255 is NaN in the spec; transformers' ldexp makes it inf too
            values *= np.ldexp(np.float32(1.0), scales.astype(np.int32) - 127)[..., None]
        return values.reshape(rows, groups * BLOCK)
