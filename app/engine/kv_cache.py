"""The conversation's KV cache: preallocated per-layer buffers that ONNX Runtime updates in place.

Layout "shared-buffer" (onnxruntime-genai's past_present_share_buffer): each layer has one key and one value
buffer of shape [1, kv_heads, max_length, head_dim], bound as BOTH the `past_key_values.{i}.*` input and the
`present.{i}.*` output. GroupQueryAttention writes the new tokens' K/V at their absolute positions (taken from
attention_mask / seqlens_k) and reads only the first `length` positions, so a step allocates and copies
nothing, and rewinding the conversation is just lowering `length`: stale entries past it are never read and
are overwritten by the next tokens.

Why every layer gets a full-length buffer, sliding layers included: the exporter's GroupQueryAttention
nodes address the shared buffer by absolute position (seqlens_k). onnxruntime 1.32 can also run sliding
layers on window-sized buffers (GQA attribute `sliding_window_cache=1`: capacity C >= window, the kernel
evicts the oldest positions in batches), but that is a graph attribute the exporter does not set, and it
would cost prefix reuse: rewinding a windowed cache is exact only if no eviction happened since the rewind
point (ORT's own rollback rule); otherwise the window must be rebuilt by prefilling the conversation again,
so second-turn latency would grow with the conversation. Full-length buffers cost only address space:
they come from calloc'd NumPy arrays, so pages past the conversation's length are never touched and never
become resident.

Layout "concat" (used by DirectML graphs): present = past + new, so each step's present outputs become the
next step's past inputs. Rewinding a concat cache means starting over (the device buffers cannot be
truncated without a copy); the generator then re-prefills.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

SHARED = "shared-buffer"
CONCAT = "concat"


@dataclass(frozen=True)
class KVSpec:
    """Shape and naming of the graph's cache inputs/outputs."""

    num_layers: int
    kv_heads: int
    head_dim: int
    dtype: np.dtype
    layout: str = SHARED
    past_key: str = "past_key_values.%d.key"
    past_value: str = "past_key_values.%d.value"
    present_key: str = "present.%d.key"
    present_value: str = "present.%d.value"

    def bytes_per_token(self) -> int:
        return 2 * self.num_layers * self.kv_heads * self.head_dim * np.dtype(self.dtype).itemsize


class KVCache:
    """Owns the cache buffers and knows which tokens they hold (`tokens`, for prefix reuse)."""

    def __init__(self, spec: KVSpec, max_length: int, device: str = "cpu", device_id: int = 0) -> None:
        if spec.layout not in (SHARED, CONCAT):
            raise ValueError(f"unknown KV layout {spec.layout!r}; expected {SHARED!r} or {CONCAT!r}")
        self.spec = spec
        self.max_length = max_length
        self.device = device
        self.device_id = device_id
        self.tokens: list[int] = []  # token ids whose K/V are in the cache, in order
        self._past: list[tuple[ort.OrtValue, ort.OrtValue]] = []
        self._host: list[np.ndarray] = []  # keeps NumPy-backed buffers alive (CPU, shared layout)
        if spec.layout == SHARED:
            self._allocate_shared()
        else:
            self._reset_concat()

    @property
    def length(self) -> int:
        return len(self.tokens)

    @property
    def free(self) -> int:
        return self.max_length - self.length

    def _allocate_shared(self) -> None:
        shape = (1, self.spec.kv_heads, self.max_length, self.spec.head_dim)
        for _ in range(self.spec.num_layers):
            pair = []
            for _kv in range(2):
                if self.device == "cpu":
                    # np.zeros -> calloc: untouched pages cost no RAM until the conversation reaches them.
                    host = np.zeros(shape, dtype=self.spec.dtype)
                    self._host.append(host)
                    pair.append(ort.OrtValue.ortvalue_from_numpy(host))
                else:
                    pair.append(ort.OrtValue.ortvalue_from_shape_and_type(shape, self.spec.dtype, self.device,
                                                                          self.device_id))
            self._past.append((pair[0], pair[1]))

    def _reset_concat(self) -> None:
        empty = np.zeros((1, self.spec.kv_heads, 0, self.spec.head_dim), dtype=self.spec.dtype)
        self._past = [(ort.OrtValue.ortvalue_from_numpy(empty), ort.OrtValue.ortvalue_from_numpy(empty))
                      for _ in range(self.spec.num_layers)]

    def bind(self, binding: ort.IOBinding) -> None:
        """Binds the past inputs (and, for the shared layout, the same buffers as present outputs)."""
        s = self.spec
        for i, (key, value) in enumerate(self._past):
            binding.bind_ortvalue_input(s.past_key % i, key)
            binding.bind_ortvalue_input(s.past_value % i, value)
            if s.layout == SHARED:
                binding.bind_ortvalue_output(s.present_key % i, key)
                binding.bind_ortvalue_output(s.present_value % i, value)
            else:
                binding.bind_output(s.present_key % i, self.device, self.device_id)
                binding.bind_output(s.present_value % i, self.device, self.device_id)

    @property
    def rebinds_each_step(self) -> bool:
        """Concat caches must be re-bound after every run (the presents are new buffers)."""
        return self.spec.layout == CONCAT

    def after_run(self, binding: ort.IOBinding, fed: Sequence[int], present_offset: int) -> None:
        """Records the tokens just fed; for concat caches, adopts the presents as the next pasts.

        `present_offset` is the index of the first present output in the binding's output list.
        """
        self.tokens.extend(fed)
        if self.spec.layout == CONCAT:
            outs = binding.get_outputs()
            self._past = [(outs[present_offset + 2 * i], outs[present_offset + 2 * i + 1])
                          for i in range(self.spec.num_layers)]

    def rewind(self, length: int) -> bool:
        """Keeps only the first `length` tokens. Returns False when the cache had to be emptied instead
        (concat layout), so the caller knows to prefill from the start."""
        if length >= self.length:
            return True
        if self.spec.layout == SHARED:
            del self.tokens[length:]
            return True
        self.clear()
        return length == 0

    def clear(self) -> None:
        self.tokens.clear()
        if self.spec.layout == CONCAT:
            self._reset_concat()


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token sequences."""
    n = min(len(a), len(b))
    i = 0
    # Compare in blocks first: conversations share thousands of tokens and a Python loop per token adds up.
    block = 256
    while i + block <= n and a[i:i + block] == b[i:i + block]:
        i += block
    while i < n and a[i] == b[i]:
        i += 1
    return i
