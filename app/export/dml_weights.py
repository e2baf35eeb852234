"""How the `dml` target stores its non-expert weights: float16 on disk, cast to the activation dtype in the graph.

DirectML has no bfloat16 kernels (Cast and Gather included), and float32 copies of the bf16 embedding and
lm_head would make the package twice the checkpoint (they are most of gpt-oss-20b's non-expert bytes, and all
of the `tiny` test model's). float16 holds every bf16 value exactly when |w| >= 2^-17 (fp16 keeps 10 mantissa
bits to bf16's 7); smaller values keep an absolute error below 2^-25. Values beyond fp16's range (65504) are
refused rather than written as inf.

In a float32 graph the Cast after a weight initializer is folded by ORT at session start, so the file stays
16-bit while the arithmetic is float32; after a Gather (the embedding) only the gathered rows are cast.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from app.checkpoint.safetensors_io import raw_to_f32
from app.export.builder import GraphBuilder, onnx_dtype
from app.export.context import LayerContext
from app.export.pages import release_pages

STORAGE_DTYPE = np.dtype(np.float16)
ROWS_PER_CHUNK = 8192  # rows converted per step when streaming a [vocab, hidden] matrix
_FP16_MAX = 65504.0


def to_storage_fp16(name: str, array: np.ndarray) -> np.ndarray:
    """float32 (bf16-valued) -> float16, refusing values float16 cannot hold."""
    peak = float(np.max(np.abs(array))) if array.size else 0.0
    if not np.isfinite(peak) or peak > _FP16_MAX:
        raise ValueError(f"tensor {name} has a value of magnitude {peak:g}, which float16 cannot store "
                         "(the dml target keeps its weights in float16)")
    return array.astype(STORAGE_DTYPE)


def fp16_rows(name: str, raw: np.ndarray, dtype: str = "BF16",
              rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[np.ndarray]:
    """A [rows, cols] memory map of safetensors `dtype` (bf16 as uint16 bit patterns) as float16 row blocks,
    for GraphBuilder.add_streamed_initializer(name, TensorProto.FLOAT16, shape, ...): bounded memory, the
    mapped pages released after each block. Exact for bf16 and fp16 values; fp32 ones round."""
    for start in range(0, raw.shape[0], rows_per_chunk):
        chunk = to_storage_fp16(name, raw_to_f32(np.asarray(raw[start:start + rows_per_chunk]), dtype))
        release_pages(raw)  # the mapped rows just read would otherwise stay in our resident set
        yield chunk


def to_activation(b: GraphBuilder, ctx: LayerContext, stored: str, tag: str) -> str:
    """`stored` (float16) as the graph's activation dtype: a Cast unless they already agree."""
    if np.dtype(ctx.float_type) == STORAGE_DTYPE:
        return stored
    return b.op("Cast", stored, to=onnx_dtype(ctx.float_type), name=f"{tag}/cast")


def stored_weight(b: GraphBuilder, ctx: LayerContext, name: str, array: np.ndarray) -> str:
    """Writes `array` as a float16 initializer and returns it in the activation dtype."""
    return to_activation(b, ctx, b.add_initializer(name, to_storage_fp16(name, array)), name)
