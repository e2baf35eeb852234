"""The conversation's KV cache: preallocated per-layer buffers that ONNX Runtime updates in place.

Two layouts, two classes with one interface (`KVCache`), picked by `make_cache` from the package's layout, as
mlx-lm's `make_cache` picks a cache class per layer: the generator never asks which one it holds.

`SharedKVCache`, layout "shared-buffer" (onnxruntime-genai's past_present_share_buffer): each layer has one key
and one value buffer of shape [1, kv_heads, max_length, head_dim], bound as BOTH the `past_key_values.{i}.*`
input and the `present.{i}.*` output. GroupQueryAttention writes the new tokens' K/V at their absolute positions
(taken from attention_mask / seqlens_k) and reads only the first `length` positions, so a step allocates and copies
nothing, and rewinding the conversation is just lowering `length`: stale entries past it are never read and
are overwritten by the next tokens.

Sliding-window layers may hold only their window (the package's genai_config `sliding_window` section; GQA
attribute `sliding_window_cache=1`): their buffers have a fixed capacity C = window W + slack, and ONNX Runtime
keeps the latest L(T) positions (T = tokens so far) in rows [0, L), evicting C - W + 1 positions at once when a
step would overflow (ORT's documented rule, `KVSpec.resident`). At gpt-oss-20b's 24 layers and 8k tokens that
halves the cache, and the attention's time with it: ORT's CPU kernel on a full-length buffer spends as long on
a local layer as on a global one (40 vs 42 ms a step at 8k, 20b widths; 0.7 ms on a window-sized buffer).

Rewinding window rows is exact only while they still hold the rewind point's window: rows as they are after
`held` tokens hold the state of `length` <= held tokens when both keep the same oldest position (ORT's
rollback rule, L(held - k) == L(held) - k); an eviction since then lost positions that state needs. So the
cache copies the window layers' latest W + 1 resident rows aside (a snapshot: all the next tokens can attend
to, and one more for a rewind by one token; 6.3 MB at 20b in float32, where all C rows would be 12.6 MB) at the
points a chat rewinds to, and keeps two kinds:
- prompt boundaries: before a prompt's first run, before its last and after its last. A new prompt diverges
  from the cache just after the previous prompt (harmony drops the last reply's reasoning) or at the end of the
  reply; regenerating a reply rewinds to just before the prompt's end; editing a question after a long document
  rewinds into the prompt's last chunk. The latest `SNAPSHOTS` are kept.
- periodic ones inside long prefills: after the prefill run that passes each multiple of a spacing, so an edit
  deep inside one long prompt (an early message of a long conversation, a document attached early) re-reads at
  most about one spacing more than full-length buffers would. The spacing starts at `SNAPSHOT_EVERY` and doubles
  whenever the conversation grows past `PERIODIC_SNAPSHOTS` spacings; only snapshots at multiples of the
  current spacing stay, so at most `PERIODIC_SNAPSHOTS` are kept, spread evenly over the whole conversation
  (edits happen anywhere, and a long document attached early is as likely to change as the last message).
A rewind the live rows cannot do restores the latest snapshot that holds a state at or before the rewind point,
and the generator re-feeds only the tokens after that state. (Re-prefilling from "divergence - window" instead
would not be exact: the full layers' keys at those positions would be recomputed from window layers that had
lost their own context.)

Full-length buffers cost only address space until used: they come from calloc'd NumPy arrays, so pages past
the conversation's length are never touched and never become resident.

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

# The cache's shape and bytes are defined in the package format, where the memory advice counts with them too.
from app.package.kv_spec import BOUNDARY_SNAPSHOTS, PERIODIC_SNAPSHOTS, KVSpec, cache_bytes  # noqa: F401
from app.package.targets import CONCAT, SHARED_BUFFER


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

    def before_run(self, count: int) -> None:
        """Called before a run feeds `count` tokens (a cache may keep what the run will overwrite)."""

    @abstractmethod
    def after_run(self, fed: Sequence[int]) -> None:
        """Records the tokens just fed (and makes the binding ready for the next run)."""

    @abstractmethod
    def rewind(self, length: int) -> int:
        """Keeps at most the first `length` tokens and returns how many it kept (fewer when it cannot rewind
        that far exactly: 0 when it had to empty itself); the caller feeds the prompt from there."""

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
    """Buffers bound as both past and present: runs, rewinds and clears touch no buffer, except a rewind that
    window-sized buffers cannot do in place (it restores a snapshot, see the module docstring)."""

    # Snapshots are W + 1 = 129 rows of each of gpt-oss-20b's 12 window layers: 6.3 MB in float32 (the window
    # buffers save 390 MB at 8k). Prompt boundaries kept: the start, the last chunk's start and the end of the
    # latest prompts, at most 38 MB.
    SNAPSHOTS = BOUNDARY_SNAPSHOTS
    # Periodic snapshots inside long prefills (module docstring). 2-layer 20b-width cpu-int4, an 8,192-token
    # prompt edited 500 tokens before its end, A B A B at load 6-10 (docs/benchmarks.md): without them the edit
    # re-read all 7,712 tokens (162.1, 132.1 s); with one every 1,024 it re-read 544 from the one at 7,168 (10.4,
    # 8.5 s). Up to 8k an edit re-reads at most 1,024 + one chunk more than full-length buffers would, and 8 of them
    # are 51 MB at 20b: 12 % of the KV cache at 8k (0.415 GB), 89 MB with the boundaries (the load check counts
    # all of it: `KVSpec.snapshot_bytes`, app.package.kv_spec). Halving the spacing doubles that; past 8k the
    # spacing doubles instead.
    SNAPSHOT_EVERY = 1024
    PERIODIC_SNAPSHOTS = PERIODIC_SNAPSHOTS

    def __init__(self, spec: KVSpec, max_length: int, device: str = "cpu", device_id: int = 0) -> None:
        super().__init__(spec, max_length, device, device_id)
        self._buffers: list[tuple[ort.OrtValue, ort.OrtValue]] = []
        self._host: list[tuple[np.ndarray, np.ndarray]] = []  # NumPy-backed buffers (CPU), kept alive here
        for layer in range(spec.num_layers):
            shape = (1, spec.kv_heads, spec.buffer_length(layer, max_length), spec.head_dim)
            pair = []
            for _kv in range(2):
                if device == "cpu":
                    # np.zeros -> calloc: untouched pages cost no RAM until the conversation reaches them.
                    host = np.zeros(shape, dtype=spec.dtype)
                    pair.append(host)
                else:
                    pair.append(ort.OrtValue.ortvalue_from_shape_and_type(shape, spec.dtype, device, device_id))
            if device == "cpu":
                self._host.append((pair[0], pair[1]))
                pair = [ort.OrtValue.ortvalue_from_numpy(a) for a in pair]
            self._buffers.append((pair[0], pair[1]))
        self._snapshots: list[_Snapshot] = []  # oldest first (and so in order of length)
        self._in_prompt = False  # the last run fed several tokens and nothing was rewound since
        self._chunk_end: _Snapshot | None = None  # the current prompt's second-to-last chunk end

    def _bind(self) -> None:
        s, b = self.spec, self._binding
        assert b is not None
        self._bind_pasts(self._buffers)
        for i, (key, value) in enumerate(self._buffers):
            b.bind_ortvalue_output(s.present_key % i, key)
            b.bind_ortvalue_output(s.present_value % i, value)

    def before_run(self, count: int) -> None:
        """A prompt's first run: keeps the window state it starts from (what a regenerated reply, or a prompt
        that diverges earlier, rewinds to)."""
        if count > 1 and self._snapshots_kept and not self._in_prompt and self.length:
            if self._snapshots and self._snapshots[-1].length == self.length:
                last = self._snapshots[-1]  # the previous prompt's end (or a rewind's point) is this one's start
                last.prompt_start = last.boundary = True
            else:
                self._snapshot(prompt_start=True)

    def after_run(self, fed: Sequence[int]) -> None:
        continuing = self._in_prompt
        self.tokens.extend(fed)
        self._in_prompt = len(fed) > 1  # the next multi-token run continues this prompt (its next chunk)
        if len(fed) > 1 and self._snapshots_kept:
            last = self._snapshots[-1] if self._snapshots else None
            if continuing and last is not None and last.length == self.length - len(fed) and not last.prompt_start:
                # The previous chunk's end stays (a prompt edited near its end, after a long document, rewinds
                # there); the chunk end before it is no boundary any more (it stays only if periodic).
                if self._chunk_end is not None:
                    self._chunk_end.boundary = False
                self._chunk_end = last
            else:
                self._chunk_end = None
            self._snapshot(prompt_start=False, periodic=True)

    @property
    def _snapshots_kept(self) -> bool:
        return bool(self.spec.window_layers and self._host)

    def _snapshot(self, *, prompt_start: bool, periodic: bool = False) -> None:
        """Copies the resident window rows aside; `periodic`: a prefill run's end, which also stands for the
        latest multiple of the spacing it reached when no kept snapshot stands for that one yet."""
        spacing = self._spacing()
        for snap in self._snapshots:
            if not spacing or snap.mark % spacing:
                snap.mark = 0  # thinned: the spacing doubled
        mark = self.length // spacing * spacing if periodic and spacing else 0
        if mark and any(snap.mark >= mark for snap in self._snapshots):
            mark = 0
        rows = self.spec.resident(self.length)
        first = max(0, rows - self.spec.window - 1)
        copies = [a[:, :, first:rows].copy() for i in self.spec.window_layers for a in self._host[i]]
        self._snapshots.append(_Snapshot(self.length, copies, prompt_start, first=first, mark=mark))
        for old in [snap for snap in self._snapshots if snap.boundary][:-self.SNAPSHOTS]:
            old.boundary = False
        self._snapshots = [snap for snap in self._snapshots if snap.boundary or snap.mark]

    def _spacing(self) -> int:
        """The periodic snapshots' spacing now: SNAPSHOT_EVERY, doubled until PERIODIC_SNAPSHOTS spacings cover
        what the cache holds (0: periodic snapshots are off)."""
        if not (self.SNAPSHOT_EVERY > 0 and self.PERIODIC_SNAPSHOTS > 0):
            return 0
        spacing = self.SNAPSHOT_EVERY
        while spacing * self.PERIODIC_SNAPSHOTS < self.length:
            spacing *= 2
        return spacing

    def rewind(self, length: int) -> int:
        length, self._in_prompt, self._chunk_end = min(length, self.length), False, None
        if not self._holds(self.length, length):
            length = self._restore(length)
        del self.tokens[length:]  # stale entries past `length` are never read and are overwritten next
        self._snapshots = [snap for snap in self._snapshots if snap.length <= length]
        return length

    def _holds(self, held: int, length: int) -> bool:
        """Whether window rows as they are after `held` tokens also hold the window state of `length` <= held
        tokens: both keep the same oldest position, so the state of `length` is their first L(length) rows
        (ORT's rollback rule, L(held - k) == L(held) - k). Full-length buffers hold every prefix."""
        s = self.spec
        return not s.window_layers or held - s.resident(held) == length - s.resident(length)

    def _restore(self, length: int) -> int:
        """Writes back the window rows of the latest snapshot that holds a state at or before `length`; returns
        that state's length (0: none, and the cache is empty). A snapshot keeps the latest W + 1 rows, so it holds
        the states whose latest W rows (all that the next tokens attend to) it has: its own and the one a token
        before it (a regenerated reply). Rows older than that keep whatever they held: the kernel masks them."""
        for snap in reversed(self._snapshots):
            kept = min(snap.length, length)
            rows = self.spec.resident(kept)
            if self._holds(snap.length, kept) and max(0, rows - self.spec.window) >= snap.first:
                buffers = [a for i in self.spec.window_layers for a in self._host[i]]
                for buffer, copy in zip(buffers, snap.rows):
                    buffer[:, :, snap.first:rows] = copy[:, :, :rows - snap.first]
                return kept
        self.clear()
        return 0

    def clear(self) -> None:
        self.tokens.clear()
        self._snapshots.clear()
        self._in_prompt, self._chunk_end = False, None


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

    def rewind(self, length: int) -> int:
        if length >= self.length:
            return self.length
        self.clear()
        return 0

    def clear(self) -> None:
        self.tokens.clear()
        self._past = self._empty()
        if self._binding is not None:
            self._bind()  # the binding must not keep the forgotten pasts


@dataclass
class _Snapshot:
    """The window layers' latest W + 1 resident K and V rows (key, value per window layer, in layer order) after
    `length` tokens. Why it is kept: `boundary`, one of the latest prompt boundaries (`prompt_start`: taken before a
    prompt's first run, kept when its chunks' ends are dropped); `mark`, the multiple of the periodic spacing it
    stands for (0: none)."""

    length: int
    rows: list[np.ndarray]
    prompt_start: bool
    first: int = 0  # the buffer row of `rows`' first row
    boundary: bool = True
    mark: int = 0


def make_cache(spec: KVSpec, max_length: int, device: str = "cpu", device_id: int = 0) -> KVCache:
    """The cache for the graph's KV layout."""
    return _cache_class(spec)(spec, max_length, device, device_id)


def _cache_class(spec: KVSpec) -> type[KVCache]:
    """The cache class for the graph's KV layout (KVSpec refuses a layout it does not know)."""
    caches: dict[str, type[KVCache]] = {SHARED_BUFFER: SharedKVCache, CONCAT: ConcatKVCache}
    return caches[spec.layout]


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
