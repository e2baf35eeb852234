"""Adapts the engine (package loading, generator, harmony, grounding) to what the engine worker needs.

Runs entirely on the engine worker's thread. It turns a GenerateRequest (chat history + settings + attached
documents) into harmony prompt ids, streams the generator's tokens through the harmony parser, and yields
GenerationEvents tagged with their channel (analysis = the model's reasoning, final = the answer).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import platformdirs

from app.engine.events import Channel, GenerationEvent, LoadProgress, ModelInfo
from app.engine.generator import GenerationConfig, Generator
from app.engine.harmony import STOP_TOKEN_IDS, HarmonyCodec, HarmonyStream, Message, build_prompt
from app.engine.sampling import SamplingParams
from app.engine.session import LoadedModel, load_model
from app.ui.requests import ExportRequest, GenerateRequest, HistoryTurn


class EngineBackend:
    """One loaded model and its generator (which keeps the KV cache of the last conversation)."""

    def __init__(self, model: LoadedModel) -> None:
        self.model = model
        self.info: ModelInfo = model.info
        self.generator = Generator(model)
        self.codec = HarmonyCodec.from_file(model.facts.folder)

    def count_tokens(self, text: str) -> int:
        return len(self.codec.encode_ordinary(text))

    def reply(self, request: GenerateRequest) -> Iterator[GenerationEvent]:
        history = harmony_history(request.history)
        user_text, citations = request.user_text, []
        if request.documents:
            user_text, citations = self._ground(request, history)
            yield GenerationEvent(extra={"citations": citations})
        prompt = build_prompt(
            self.codec, developer_instructions=request.system_prompt.strip() or None,
            history_messages=[*history, Message.user(user_text)], reasoning_effort=request.reasoning_effort,
            date=dt.date.today())
        s = request.sampling
        params = SamplingParams(temperature=s.temperature, top_p=s.top_p if s.top_p > 0 else 1.0, top_k=s.top_k,
                                min_p=s.min_p, repetition_penalty=s.repetition_penalty, seed=s.seed)
        config = GenerationConfig(max_new_tokens=s.max_new_tokens, stop_token_ids=STOP_TOKEN_IDS,
                                  skip_special_text=True)
        stream = HarmonyStream(self.codec)
        for event in self.generator.generate(prompt, params, config, request.cancel):
            deltas = [d for token in event.token_ids for d in stream.feed(token)]
            if event.finished:
                deltas += stream.finish()
            counters = dict(prompt_tokens=event.prompt_tokens, new_tokens=event.new_tokens,
                            cached_tokens=event.cached_tokens, ttft_s=event.ttft_s, decode_tok_s=event.decode_tok_s,
                            timing=event.timing)
            for delta in deltas:
                yield GenerationEvent(text=delta.text, channel=delta.channel, **counters)
            if event.finished:
                yield dataclasses.replace(event, text="", channel=Channel.FINAL)
                return
            if not deltas:  # a special token: no text, but the status bar still wants the counters
                yield GenerationEvent(token_ids=event.token_ids, **counters)

    def _ground(self, request: GenerateRequest, history: list[Message]) -> tuple[str, list[dict[str, object]]]:
        from app.documents.grounding import context_budget, ground_question

        base = build_prompt(self.codec, developer_instructions=request.system_prompt.strip() or None,
                            history_messages=history, reasoning_effort=request.reasoning_effort)
        budget = context_budget(history_tokens=len(base), reply_tokens=request.sampling.max_new_tokens,
                                context_tokens=self.generator.max_length)
        grounded = ground_question(request.documents, request.user_text, budget, self.count_tokens)
        return grounded.text, [dataclasses.asdict(c) for c in grounded.citations]

    def close(self) -> None:
        self.model.close()


def harmony_history(turns: tuple[HistoryTurn, ...]) -> list[Message]:
    """Earlier turns as harmony messages; build_prompt drops reasoning that a later answer closed."""
    messages: list[Message] = []
    for turn in turns:
        if turn.role == "user":
            messages.append(Message.user(turn.text))
            continue
        if turn.reasoning:
            messages.append(Message.assistant(turn.reasoning, channel="analysis"))
        messages.append(Message.assistant(turn.text, channel="final"))
    return messages


def open_backend(path: Path, progress: Callable[[LoadProgress], None]) -> EngineBackend:
    return EngineBackend(load_model(path, progress=progress))


def packages_folder() -> Path:
    return Path(platformdirs.user_data_dir("Enclave", "Enclave")) / "models"


def suggest_export(checkpoint: Path) -> tuple[str, Path, str]:
    """(target, output folder, why) for converting `checkpoint` on this computer."""
    import onnxruntime as ort
    import psutil

    from app.model_folder import recommend_target

    size = sum(p.stat().st_size for p in checkpoint.glob("*.safetensors"))
    ram = psutil.virtual_memory().total
    target = recommend_target(ort.get_available_providers(), ram, size)
    reasons = {"cuda": "an NVIDIA GPU was found", "dml": "a DirectML GPU was found",
               "cpu": f"no supported GPU; {ram / 2**30:.0f} GB of memory fits the lossless CPU package",
               "cpu-int4": f"no supported GPU; {ram / 2**30:.0f} GB of memory needs the smaller CPU package"}
    return target, packages_folder() / f"{checkpoint.name}-{target}", reasons[target]


def export_checkpoint(request: ExportRequest, progress: Callable[[LoadProgress], None]) -> Path:
    from app.export.exporter import export_model

    os.makedirs(request.output.parent, exist_ok=True)
    result = export_model(request.source, request.output, request.target, on_progress=progress,
                          cancel=request.cancel)
    return result.folder
