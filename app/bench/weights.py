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



@dataclass(frozen=True)
class DecodeBytes:
    dense: int  # attention, router, norms, lm_head
    experts_active: int  # k/E of every expert tensor
    gathered_rows: int  # embedding row + rope rows
    experts_total: int

    @property
    def total(self) -> int:
        return self.dense + self.experts_active + self.gathered_rows


def decode_bytes(budget: dict[str, Component]) -> DecodeBytes:
    """The budget folded into what a decoded token reads: dense, active experts, gathered rows."""
    rows = sum(budget[c].per_token for c in ROW_COMPONENTS if c in budget)
    experts = budget.get("experts", Component(0, 0))
    dense = sum(c.per_token for name, c in budget.items() if name not in ROW_COMPONENTS and name != "experts")
    return DecodeBytes(dense=dense, experts_active=experts.per_token, gathered_rows=rows,
                       experts_total=experts.stored)


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


# Components of the byte budget, by the exporter's initializer names (first match wins).
ONNX_COMPONENTS = (
    ("experts", (".moe.fc",)),  # layers.{i}.moe.fc1/fc2 .weight/.scales/.bias: [num_experts, ...]
    ("attention", (".attn.qkv_proj.", ".attn.o_proj.")),
    ("router", (".moe.router.",)),
    ("embedding", ("embed_tokens",)),
    ("lm_head", ("lm_head",)),
    ("rope", ("cos_cache", "sin_cache")),
)
ROW_COMPONENTS = ("embedding", "rope")  # gathered: one row per token is read


@dataclass(frozen=True)
class Component:
    stored: int  # bytes in the package
    per_token: int  # bytes one decoded token reads


def component_budget(model_file: Path, experts_per_token: int, num_experts: int,
                     layers: int | None = None) -> dict[str, Component]:
    """Package bytes and decode bytes per token for each component (experts, attention, router, embedding,
    lm_head, rope, other: norms, sinks, shape constants) of an exported graph.

    With `layers`, per-layer tensors (named `layers.{i}.`) are scaled from the graph's own layer count to
    `layers`: every gpt-oss layer has the same tensors, so a 2-layer package at real widths gives the exact
    budget of the 24-layer model without writing 13.8 GB."""
    import onnx

    proto = onnx.load(str(model_file), load_external_data=False)
    tensors = [(t.name, _stored_bytes(t), int(t.dims[0]) if t.dims else 1, t.name.startswith("layers."))
               for t in proto.graph.initializer]
    graph_layers = 1 + max((int(t.name.split(".")[1]) for t in proto.graph.initializer
                            if t.name.startswith("layers.")), default=0)
    return budget(tensors, ONNX_COMPONENTS, experts_per_token, num_experts, (layers or graph_layers) / graph_layers)


def budget(tensors: list[tuple[str, int, int, bool]], components: tuple[tuple[str, tuple[str, ...]], ...],
           experts_per_token: int, num_experts: int, layer_scale: float = 1.0) -> dict[str, Component]:
    """Bytes per component from (name, bytes, rows, per_layer) rows, the first matching name mark naming the
    component: experts are read k/E per token, gathered components one of `rows` rows, the rest whole."""
    stored: dict[str, float] = {}
    per_token: dict[str, float] = {}
    for tensor_name, size, rows, per_layer in tensors:
        name = next((c for c, marks in components if any(m in tensor_name for m in marks)), "other")
        factor = layer_scale if per_layer else 1.0
        read = float(size)
        if name == "experts":
            read = size * experts_per_token / max(1, num_experts)
        elif name in ROW_COMPONENTS:
            read = size / max(1, rows)
        stored[name] = stored.get(name, 0) + size * factor
        per_token[name] = per_token.get(name, 0) + read * factor
    return {name: Component(int(stored[name]), int(per_token[name])) for name in stored}


def format_budget(components: dict[str, dict[str, int]]) -> list[str]:
    """One line per component, largest read first, then the totals: GB (1e9 bytes) stored and read per decoded
    token, the units of the issue's goals."""
    order = sorted(components.items(), key=lambda kv: -kv[1]["per_token"])
    lines = [f"  {name:9s} stored {c['stored'] / 1e9:7.3f} GB, read per token {c['per_token'] / 1e9:7.3f} GB"
             for name, c in order]
    stored = sum(c["stored"] for c in components.values())
    read = sum(c["per_token"] for c in components.values())
    return ["byte budget per component (weights only; KV separately):", *lines,
            f"  {'total':9s} stored {stored / 1e9:7.3f} GB, read per token {read / 1e9:7.3f} GB"]
