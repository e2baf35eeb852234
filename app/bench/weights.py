"""How many bytes of weights one decoded token reads, from the graph's initializer table.

Decode is memory-bound, so bytes/token x tokens/s against the measured bandwidth ceiling says how close the
engine is to the hardware limit. Per token the graph reads: every dense weight once (attention, router,
norms, lm_head), only the `k` of `E` experts the router picked (QMoE touches nothing else), and one row of
each gathered table (the token's embedding row, the position's rope row). KV-cache reads are counted
separately because they grow with the context.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Initializers that are gathered by row (one row per token), by name prefix as the exporter writes them.
_GATHERED = ("embed_tokens", "cos_cache", "sin_cache")
_EXPERTS = ".moe.fc"  # layers.{i}.moe.fc1/fc2 .weight/.scales/.bias: [num_experts, ...]


@dataclass(frozen=True)
class DecodeBytes:
    dense: int  # attention, router, norms, lm_head
    experts_active: int  # k/E of every expert tensor
    gathered_rows: int  # embedding row + rope rows
    experts_total: int

    @property
    def total(self) -> int:
        return self.dense + self.experts_active + self.gathered_rows


def decode_bytes_per_token(model_file: Path, experts_per_token: int, num_experts: int) -> DecodeBytes:
    import onnx

    proto = onnx.load(str(model_file), load_external_data=False)
    dense = experts = rows = 0
    for tensor in proto.graph.initializer:
        size = _stored_bytes(tensor)
        if _EXPERTS in tensor.name:
            experts += size
        elif tensor.name.startswith(_GATHERED) and tensor.dims:
            rows += size // max(1, int(tensor.dims[0]))
        else:
            dense += size
    active = experts * experts_per_token // max(1, num_experts)
    return DecodeBytes(dense=dense, experts_active=active, gathered_rows=rows, experts_total=experts)


def _stored_bytes(tensor: object) -> int:
    import onnx

    if tensor.data_location == onnx.TensorProto.EXTERNAL:  # type: ignore[attr-defined]
        return int({e.key: e.value for e in tensor.external_data}.get("length", 0))  # type: ignore[attr-defined]
    if tensor.raw_data:  # type: ignore[attr-defined]
        return len(tensor.raw_data)  # type: ignore[attr-defined]
    count = int(np.prod(tensor.dims)) if tensor.dims else 1  # type: ignore[attr-defined]
    return count * onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize  # type: ignore[attr-defined]


def kv_bytes_per_token(bytes_per_position: int, sliding_layers: int, layers: int, window: int, context: int) -> int:
    """KV cache read by one decode step at `context` tokens: full layers read all, sliding ones the window."""
    per_layer = bytes_per_position // max(1, layers)
    return per_layer * ((layers - sliding_layers) * context + sliding_layers * min(context, window))
