"""The conversation's KV cache: preallocated per-layer buffers that ONNX Runtime updates in place.

Two layouts, two classes with one interface (`KVCache`), picked by `make_cache` from the package's layout, as
mlx-lm's `make_cache` picks a cache class per layer: the generator never asks which one it holds.

`SharedKVCache`, layout "shared-buffer" (onnxruntime-genai's past_present_share_buffer): each layer has one key
and one value buffer of shape [1, kv_heads, max_length, head_dim], bound as BOTH the `past_key_values.{i}.*`
input and the `present.{i}.*` output. GroupQueryAttention writes the new tokens' K/V at their absolute positions
(taken from attention_mask / seqlens_k) and reads only the first `length` positions, so a step allocates and copies
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

`ConcatKVCache`, layout "concat" (used by DirectML graphs): present = past + new, so each step's present outputs
become the next step's past inputs, which the cache binds itself after every run. Rewinding a concat cache means
starting over (the device buffers cannot be truncated without a copy): it binds empty pasts again and the
generator re-prefills.

A cache is bound to one IOBinding (`bind`) and keeps it, so every change of what it holds (a run, a rewind, a
clear) leaves the binding consistent with it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from app.package.targets import CONCAT, KV_LAYOUTS, PAST_KEY, PAST_VALUE, PRESENT_KEY, PRESENT_VALUE, SHARED_BUFFER


@dataclass(frozen=True)
class KVSpec:
    """Shape and naming of the graph's cache inputs/outputs."""

    num_layers: int
    kv_heads: int
    head_dim: int
    dtype: np.dtype
    layout: str = SHARED_BUFFER
    past_key: str = PAST_KEY
    past_value: str = PAST_VALUE
    present_key: str = PRESENT_KEY
    present_value: str = PRESENT_VALUE

    def bytes_per_token(self) -> int:
        return 2 * self.num_layers * self.kv_heads * self.head_dim * np.dtype(self.dtype).itemsize


class KVCache(ABC):
    """The interface the generator drives: which tokens the cache holds (`tokens`, for prefix reuse), binding
    its buffers, recording a run, rewinding."""

    def __init__(self, spec: KVSpec, max_length: int, device: str = "cpu", device_id: int = 0) -> None:
        self.spec = spec
        self.max_length = max_length
        self.device = device
        self.device_id = device_id
        self.tokens: list[int] = []  # token ids whose K/V are in the cache, in order
        self._binding: ort.IOBinding | None = None
        self._present_offset = 0

    @property
    def length(self) -> int:
        return len(self.tokens)

    @property
    def free(self) -> int:
        return self.max_length - self.length

    def bind(self, binding: ort.IOBinding, present_offset: int) -> None:
        """Binds the cache's inputs and outputs into `binding` and keeps it for the runs to come.

        `present_offset` is the index of the first present output among the binding's outputs (the outputs
        bound before this call come first)."""
        self._binding, self._present_offset = binding, present_offset
        self._bind()

    @abstractmethod
    def _bind(self) -> None:
        """(Re-)binds the past inputs and present outputs into the kept binding."""

    @abstractmethod
    def after_run(self, fed: Sequence[int]) -> None:
        """Records the tokens just fed (and makes the binding ready for the next run)."""

    @abstractmethod
    def rewind(self, length: int) -> bool:
        """Keeps only the first `length` tokens. Returns False when the cache had to be emptied instead, so
        the caller knows to prefill from the start."""

    @abstractmethod
    def clear(self) -> None:
        """Forgets every token."""

    def _bind_pasts(self, pasts: Sequence[tuple[ort.OrtValue, ort.OrtValue]]) -> None:
        s, b = self.spec, self._binding
        assert b is not None, "bind() the cache before running"
        for i, (key, value) in enumerate(pasts):
            b.bind_ortvalue_input(s.past_key % i, key)
            b.bind_ortvalue_input(s.past_value % i, value)


class SharedKVCache(KVCache):
    """Full-length buffers bound as both past and present: runs, rewinds and clears touch no buffer."""

    def __init__(self, spec: KVSpec, max_length: int, device: str = "cpu", device_id: int = 0) -> None:
        super().__init__(spec, max_length, device, device_id)
        self._buffers: list[tuple[ort.OrtValue, ort.OrtValue]] = []
        self._host: list[np.ndarray] = []  # keeps NumPy-backed buffers alive (CPU)
        shape = (1, spec.kv_heads, max_length, spec.head_dim)
        for _ in range(spec.num_layers):
            pair = []
            for _kv in range(2):
                if device == "cpu":
                    # np.zeros -> calloc: untouched pages cost no RAM until the conversation reaches them.
                    host = np.zeros(shape, dtype=spec.dtype)
                    self._host.append(host)
                    pair.append(ort.OrtValue.ortvalue_from_numpy(host))
                else:
                    pair.append(ort.OrtValue.ortvalue_from_shape_and_type(shape, spec.dtype, device, device_id))
            self._buffers.append((pair[0], pair[1]))

    def _bind(self) -> None:
        s, b = self.spec, self._binding
        assert b is not None
        self._bind_pasts(self._buffers)
        for i, (key, value) in enumerate(self._buffers):
            b.bind_ortvalue_output(s.present_key % i, key)
            b.bind_ortvalue_output(s.present_value % i, value)

    def after_run(self, fed: Sequence[int]) -> None:
        self.tokens.extend(fed)

    def rewind(self, length: int) -> bool:
        del self.tokens[length:]  # stale entries past `length` are never read and are overwritten next
        return True

    def clear(self) -> None:
        self.tokens.clear()


class ConcatKVCache(KVCache):
    """Pasts that grow by one run's presents each run; a rewind starts over from empty pasts."""

    def __init__(self, spec: KVSpec, max_length: int, device: str = "cpu", device_id: int = 0) -> None:
        super().__init__(spec, max_length, device, device_id)
        self._past = self._empty()

    def _empty(self) -> list[tuple[ort.OrtValue, ort.OrtValue]]:
        empty = np.zeros((1, self.spec.kv_heads, 0, self.spec.head_dim), dtype=self.spec.dtype)
        return [(ort.OrtValue.ortvalue_from_numpy(empty), ort.OrtValue.ortvalue_from_numpy(empty))
                for _ in range(self.spec.num_layers)]

    def _bind(self) -> None:
        s, b = self.spec, self._binding
        assert b is not None
        self._bind_pasts(self._past)
        for i in range(s.num_layers):
            b.bind_output(s.present_key % i, self.device, self.device_id)
            b.bind_output(s.present_value % i, self.device, self.device_id)

    def after_run(self, fed: Sequence[int]) -> None:
        """Adopts the run's presents as the next run's pasts and binds them (the presents are new buffers)."""
        self.tokens.extend(fed)
        assert self._binding is not None
        outs, first = self._binding.get_outputs(), self._present_offset
        self._past = [(outs[first + 2 * i], outs[first + 2 * i + 1]) for i in range(self.spec.num_layers)]
        self._bind()

    def rewind(self, length: int) -> bool:
        if length >= self.length:
            return True
        self.clear()
        return length == 0

    def clear(self) -> None:
        self.tokens.clear()
        self._past = self._empty()
        if self._binding is not None:
            self._bind()  # the binding must not keep the forgotten pasts


def make_cache(spec: KVSpec, max_length: int, device: str = "cpu", device_id: int = 0) -> KVCache:
    """The cache class for the graph's KV layout (the one place that reads `spec.layout`)."""
    caches: dict[str, type[KVCache]] = {SHARED_BUFFER: SharedKVCache, CONCAT: ConcatKVCache}
    if spec.layout not in caches:
        raise ValueError(f"unknown KV layout {spec.layout!r}; expected {' or '.join(map(repr, KV_LAYOUTS))}")
    return caches[spec.layout](spec, max_length, device, device_id)


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
