"""What the engine tells its clients while it works: small frozen dataclasses, never Qt signals.

The engine yields these from `generate()`; the command line prints them and the UI's worker re-emits each
one through a queued `Signal(object)`. Keeping them plain data is what lets the engine run (and be tested)
without Qt, and lets the UI be tested with a scripted stream of the same events.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.documents.grounding import Citation
from app.progress import LoadProgress

__all__ = ["Channel", "FinishReason", "GenerationEvent", "LoadProgress", "ModelInfo", "TokenTiming"]


class FinishReason(enum.Enum):
    """Why a generation ended. One enum, not strings, so clients can't misspell a case."""

    STOP = "stop"  # the model ended its turn (<|return|> or <|call|>)
    LENGTH = "length"  # max_new_tokens reached
    CONTEXT_FULL = "context_full"  # the context window has no room for another token
    CANCELLED = "cancelled"  # the caller set the cancel event
    ERROR = "error"  # something failed; see GenerationEvent.error


class Channel(enum.Enum):
    """Harmony output channels (see app.engine.harmony). RAW is used before/without harmony parsing."""

    ANALYSIS = "analysis"
    COMMENTARY = "commentary"
    FINAL = "final"
    RAW = "raw"


@dataclass(frozen=True)
class TokenTiming:
    """Per-token timing, measured by the generator around the ONNX Runtime call."""

    seconds: float  # wall time of the step that produced this token
    ort_seconds: float  # of which inside run_with_iobinding


@dataclass(frozen=True)
class GenerationEvent:
    """One step of a streamed generation.

    `text` is the newly decoded text (never half a UTF-8 character), on `channel`. The last event of a
    generation has `finish_reason` set; counters and rates are cumulative so any event can update a status bar.
    A reply about attached documents starts with one event that carries only `citations`: the passages the
    prompt holds, in marker order ([1] is citations[0]).
    """

    token_ids: tuple[int, ...] = ()
    text: str = ""
    channel: Channel = Channel.RAW
    prompt_tokens: int = 0
    new_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens reused from the KV cache (multi-turn prefix reuse)
    ttft_s: float | None = None
    decode_tok_s: float | None = None
    timing: TokenTiming | None = None
    finish_reason: FinishReason | None = None
    error: str | None = None
    citations: tuple[Citation, ...] = ()

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None


@dataclass(frozen=True)
class ModelInfo:
    """What the UI's status bar shows about the loaded model."""

    name: str
    path: str
    provider: str  # e.g. "CPUExecutionProvider"
    provider_reason: str  # why this provider was chosen, and why others were not
    context_length: int
    target: str  # export target of the package: cpu, cpu-int4, cuda, dml
    load_seconds: float
    peak_rss_bytes: int | None = None
    verification: str = ""  # what `enclave verify` found for this package on this provider (app.reference.verify)
    prepacked_copy: str = ""  # the folder of the prepacked copy the weights are mapped from (app.engine.prepacked)
