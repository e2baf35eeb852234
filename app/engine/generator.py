"""The decode loop, in three layers (after mlx-lm): `step()` -> `generate()` -> `complete()`.

- `Generator.forward(tokens)` runs the graph once on new tokens with IO binding. The KV buffers are bound
  once as both past input and present output (see kv_cache.py); per call only `input_ids` and
  `attention_mask` are re-bound, as raw pointers into buffers preallocated for the whole context, and the
  logits land in a preallocated [1, 1, vocab] array. Nothing is allocated or copied per token except what
  ORT does inside the graph. (onnxruntime-genai's own exports return logits for every prompt position; for
  those, a multi-token prefill lets ORT allocate [1, n, vocab] and keeps the last row.)
- `step()` is the decode loop, the one place that samples and runs the model (mlx-lm's `generate_step`): it
  yields `(token, logits)` pairs, sampling from the last logits and feeding each token back.
- `generate()` turns steps into `GenerationEvent`s (mlx-lm's `stream_generate`), with one sampler argument:
  text deltas from the incremental detokenizer, stop reasons, cancellation (one `threading.Event`, checked
  before every forward), per-token timing, model failures as one-sentence errors.
- `complete()` joins the text.

The generator keeps its cache between calls. A new prompt that starts with tokens already in the cache
(the previous turns of a chat) is only prefilled from the first differing token: the cache is rewound to
the longest common prefix (or as far as the cache can rewind exactly: see kv_cache.py), which for the
shared-buffer layout costs nothing. `make_cache` picks the cache
class for the graph's KV layout (kv_cache.py).

Per-token Python overhead (time per step outside `run_with_iobinding`) is reported in every event's
`timing`; with greedy sampling it is an argmax over the vocabulary plus two pointer re-binds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from app.engine.detokenizer import IncrementalDecoder
from app.engine.events import FinishReason, GenerationEvent, TokenTiming
from app.engine.kv_cache import common_prefix_length, make_cache
from app.engine.sampling import DEFAULT_MAX_NEW_TOKENS, SAMPLING_BOUNDS, Sampler, argmax_sampler
from app.engine.session import LoadedModel

_NEVER = threading.Event()  # default cancel event: never set, so the loop needs no None checks
# ONNX Runtime's CPU GroupQueryAttention holds a float32 score matrix [heads, new tokens, cached + new] per call:
# one 16k-token prefill is 4.3 GB on the 4-head test model and 68 GB on gpt-oss (64 heads), which is how a
# 20 KB document took the window to 1.1 GB. On the CPU the prompt is therefore fed in chunks whose matrix stays
# under this size. Other providers' kernels do not build the matrix and get the prompt in one run.
PREFILL_SCRATCH_BYTES = 256 * 2**20
MIN_PREFILL_CHUNK = 32  # below this a chunk costs a weight pass for too little work


@dataclass(frozen=True)
class GenerationConfig:
    """Limits and stop rules of one generation."""

    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    stop_token_ids: tuple[int, ...] | None = None  # None: the package's (genai_config eos_token_id)
    ignore_eos: bool = False  # keep going through stop tokens (benchmarks)
    skip_special_text: bool = False  # special tokens yield no text (their ids are still reported)

    def __post_init__(self) -> None:
        SAMPLING_BOUNDS["max_new_tokens"].check("max_new_tokens", self.max_new_tokens)


class Generator:
    """Drives one loaded model for one conversation at a time (not thread-safe: one generation at once)."""

    def __init__(self, model: LoadedModel, *, max_length: int | None = None,
                 prefill_scratch_bytes: int | None = None) -> None:
        self.model = model
        if prefill_scratch_bytes is None and model.info.provider == "CPUExecutionProvider":
            prefill_scratch_bytes = PREFILL_SCRATCH_BYTES
        self.prefill_scratch_bytes = prefill_scratch_bytes  # None: the whole prompt in one run
        self.max_length = min(max_length or model.max_length, model.facts.context_length)
        self.cache = make_cache(model.kv_spec, self.max_length, device=model.device)
        self._binding = model.session.io_binding()
        # Preallocated inputs: ids/positions for the longest possible step and an all-ones mask for the
        # whole context; each run binds a prefix of them by pointer.
        self._ids = np.zeros((1, self.max_length), dtype=np.int64)
        self._mask = np.ones((1, self.max_length), dtype=np.int64)
        self._positions = np.arange(self.max_length, dtype=np.int64).reshape(1, -1)
        self._logits = np.zeros((1, 1, model.vocab_size), dtype=model.logits_dtype)
        self._ids_ptr = self._ids.ctypes.data
        self._mask_ptr = self._mask.ctypes.data
        self._positions_ptr = self._positions.ctypes.data
        self._bind_logits()
        self.cache.bind(self._binding, present_offset=1)  # logits is output 0, the presents follow
        self.last_ort_seconds = 0.0
        self.prefill_reused = 0  # prompt tokens the last step() found in the cache

    # --- layer 0: one forward pass -------------------------------------------------------------------------
    def forward(self, tokens: Sequence[int]) -> np.ndarray:
        """Feeds `tokens` after what is cached; returns the last position's logits (a view, valid until
        the next call). Raises ValueError when they do not fit in the context."""
        n, start = len(tokens), self.cache.length
        if n == 0:
            raise ValueError("forward() needs at least one token")
        if start + n > self.max_length:
            raise ValueError(f"{start + n} tokens do not fit in the context of {self.max_length}")
        m, b = self.model, self._binding
        if n == 1:
            self._ids[0, 0] = tokens[0]
        else:
            self._ids[0, :n] = tokens
        b.bind_input(m.input_ids_name, "cpu", 0, np.int64, [1, n], self._ids_ptr)
        b.bind_input(m.attention_mask_name, "cpu", 0, np.int64, [1, start + n], self._mask_ptr)
        if m.position_ids_name is not None:
            b.bind_input(m.position_ids_name, "cpu", 0, np.int64, [1, n], self._positions_ptr + 8 * start)
        self.cache.before_run(n)
        every_position = n > 1 and m.logits_all_positions
        if every_position:  # [1, n, vocab] does not fit the preallocated row: let ORT allocate, once per prefill
            b.bind_output(m.logits_name, "cpu")
        t0 = time.perf_counter()
        m.session.run_with_iobinding(b)
        self.last_ort_seconds = time.perf_counter() - t0
        if every_position:
            self._logits[0, 0] = b.get_outputs()[0].numpy()[0, -1]
            self._bind_logits()
        self.cache.after_run(tokens)
        return self._logits[0, 0]

    def _bind_logits(self) -> None:
        self._binding.bind_output(self.model.logits_name, "cpu", 0, self._logits.dtype, list(self._logits.shape),
                                  self._logits.ctypes.data)

    def prefill(self, prompt: Sequence[int]) -> tuple[np.ndarray, int]:
        """Rewinds the cache to its longest common prefix with `prompt` and feeds the rest.

        Returns (logits after the prompt, number of prompt tokens reused from the cache). At least one token
        is always fed, because the logits of the last prompt token are not kept between calls.
        """
        if len(prompt) == 0:
            raise ValueError("the prompt is empty")
        reuse = self.cache.rewind(min(common_prefix_length(self.cache.tokens, prompt), len(prompt) - 1))
        rest, fed = prompt[reuse:], 0
        while True:
            n = self._chunk_length(len(rest) - fed)
            logits = self.forward(rest[fed:fed + n])
            fed += n
            if fed == len(rest):
                return logits, reuse

    def _chunk_length(self, remaining: int) -> int:
        """How many of the `remaining` prompt tokens the next run takes (see PREFILL_SCRATCH_BYTES)."""
        if self.prefill_scratch_bytes is None:
            return remaining
        per_token = 4 * self.model.facts.query_heads * (self.cache.length + remaining)  # float32 scores
        return max(1, min(remaining, max(MIN_PREFILL_CHUNK, self.prefill_scratch_bytes // per_token)))

    def reset(self) -> None:
        """Forgets the cached conversation (the next prompt is prefilled from the start)."""
        self.cache.clear()

    # --- layer 1: tokens ----------------------------------------------------------------------------------
    def step(self, prompt: Sequence[int], sampler: Sampler = argmax_sampler, *, max_new_tokens: int,
             cancel: threading.Event = _NEVER) -> Iterator[tuple[int, np.ndarray]]:
        """The decode loop (the only place that samples and runs the model): prefills `prompt`, then yields
        (token, logits it was sampled from) up to `max_new_tokens` times, stopping early when `cancel` is set
        or the context is full.

        The next forward runs only when the caller asks for the next pair, so a caller that stops iterating
        (a stop token, a cancel it saw) costs no extra run. `logits` is a view of the preallocated output
        buffer: the next step overwrites it (copy to keep). Model failures propagate (RuntimeError or ORT's
        Fail) from the call that ran the model; `self.prefill_reused` says how many prompt tokens the cache
        gave back."""
        if cancel.is_set():
            return
        logits, self.prefill_reused = self.prefill(prompt)
        history = list(prompt)
        for i in range(max_new_tokens):
            token = sampler(logits, history)
            history.append(token)
            yield token, logits
            if i + 1 == max_new_tokens or cancel.is_set() or self.cache.free < 1:
                return
            logits = self.forward((token,))

    # --- layer 2: events ----------------------------------------------------------------------------------
    def generate(
        self,
        prompt: Sequence[int],
        sampler: Sampler | None = None,
        config: GenerationConfig = GenerationConfig(),
        cancel: threading.Event = _NEVER,
    ) -> Iterator[GenerationEvent]:
        """Streams one reply to `prompt` (token ids) as events; the last one has `finish_reason` set.

        `sampler` picks each token (`make_sampler(SamplingParams(...))`; None: greedy). Events come from
        `step()`: this layer adds text, stop reasons, timing and one-sentence errors."""
        started = time.perf_counter()
        stops = frozenset(() if config.ignore_eos else
                          (config.stop_token_ids if config.stop_token_ids is not None
                           else self.model.facts.stop_token_ids))
        decoder = IncrementalDecoder(self.model.tokenizer, skip_special=config.skip_special_text)
        n_prompt = len(prompt)
        if cancel.is_set():
            yield GenerationEvent(prompt_tokens=n_prompt, finish_reason=FinishReason.CANCELLED)
            return
        if n_prompt >= self.max_length:
            yield GenerationEvent(prompt_tokens=n_prompt, finish_reason=FinishReason.CONTEXT_FULL,
                                  error=f"the prompt has {n_prompt} tokens but the context holds "
                                        f"{self.max_length}; start a new chat or shorten the messages")
            return
        steps = self.step(prompt, sampler or argmax_sampler, max_new_tokens=config.max_new_tokens, cancel=cancel)
        first_at = ttft = rate = None
        new = reused = 0
        step_started = started
        try:
            while True:
                try:
                    token, _logits = next(steps)
                except StopIteration:  # the loop saw `cancel` set between our check and its own
                    yield GenerationEvent(prompt_tokens=n_prompt, new_tokens=new, cached_tokens=reused,
                                          ttft_s=ttft, decode_tok_s=rate, finish_reason=FinishReason.CANCELLED)
                    return
                except (RuntimeError, ort.capi.onnxruntime_pybind11_state.Fail) as exc:  # type: ignore[attr-defined]
                    self.reset()
                    if new == 0:
                        yield GenerationEvent(prompt_tokens=n_prompt, finish_reason=FinishReason.ERROR,
                                              error=f"the model failed while reading the prompt: {exc}")
                    else:
                        yield GenerationEvent(prompt_tokens=n_prompt, new_tokens=new, cached_tokens=reused,
                                              finish_reason=FinishReason.ERROR, error=f"the model failed: {exc}")
                    return
                new += 1
                now = time.perf_counter()
                if first_at is None:
                    first_at = now
                    ttft = now - started
                    reused = self.prefill_reused
                text = decoder.add(token)
                reason = None
                if token in stops:
                    reason = FinishReason.STOP
                elif new >= config.max_new_tokens:
                    reason = FinishReason.LENGTH
                elif cancel.is_set():
                    reason = FinishReason.CANCELLED
                elif self.cache.free < 1:
                    reason = FinishReason.CONTEXT_FULL
                if reason is not None:
                    text += decoder.flush()
                rate = (new - 1) / (now - first_at) if new > 1 else None
                yield GenerationEvent(
                    token_ids=(token,), text=text, prompt_tokens=n_prompt, new_tokens=new, cached_tokens=reused,
                    ttft_s=ttft, decode_tok_s=rate, timing=TokenTiming(now - step_started, self.last_ort_seconds),
                    finish_reason=reason,
                )
                if reason is not None:
                    return
                if cancel.is_set():  # set by the consumer while handling this event: stop before computing more
                    yield GenerationEvent(prompt_tokens=n_prompt, new_tokens=new, cached_tokens=reused,
                                          ttft_s=ttft, decode_tok_s=rate, finish_reason=FinishReason.CANCELLED)
                    return
                step_started = time.perf_counter()
        finally:
            steps.close()

    # --- layer 3: text ------------------------------------------------------------------------------------
    def complete(self, prompt: Sequence[int], sampler: Sampler | None = None,
                 config: GenerationConfig = GenerationConfig(),
                 cancel: threading.Event = _NEVER) -> tuple[str, GenerationEvent]:
        """The whole reply as one string, with the final event (counts, rates, finish reason)."""
        parts: list[str] = []
        last = GenerationEvent()
        for event in self.generate(prompt, sampler, config, cancel):
            parts.append(event.text)
            last = event
        return "".join(parts), last
