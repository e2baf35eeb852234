"""A multi-turn chat on one loaded model: harmony prompts in, channel-tagged events out, KV cache kept.

Each turn renders the whole conversation with `build_prompt` (which drops the reasoning of finished turns,
as gpt-oss expects) and hands the ids to the generator. The generator rewinds its cache to the longest
common prefix with what it already holds, so a turn only prefills what changed: the previous answer's
final message (its reasoning was dropped, so the cache diverges right after `<|start|>assistant`) and the
new user message. That is why the second turn's time to first token does not grow with the conversation.

The generator's raw token stream is re-tagged here: `HarmonyStream` turns ids into (channel, text) deltas,
so clients get the answer on Channel.FINAL and the reasoning on Channel.ANALYSIS.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace

from app.engine.events import Channel, GenerationEvent
from app.engine.generator import GenerationConfig, Generator
from app.engine.harmony import (
    STOP_TOKEN_IDS,
    HarmonyCodec,
    HarmonyStream,
    Message,
    ReasoningEffort,
    SystemSettings,
    build_prompt,
)
from app.engine.sampling import Sampler
from app.engine.session import LoadedModel
from app.package.manifest import TOKENIZER_FILE

_NEVER = threading.Event()


class ChatSession:
    """One conversation. Not thread-safe: run turns one at a time (the UI's worker thread does)."""

    def __init__(
        self,
        model: LoadedModel,
        *,
        generator: Generator | None = None,
        system: SystemSettings = SystemSettings(),
        instructions: str | None = None,
        reasoning: ReasoningEffort | str = ReasoningEffort.MEDIUM,
        date: dt.date | str | None = None,
    ) -> None:
        self.model = model
        self.generator = generator or Generator(model)
        self.codec = HarmonyCodec(model.tokenizer, source=str(model.facts.folder / TOKENIZER_FILE))
        self.system = system
        self.instructions = instructions
        self.reasoning = reasoning
        self.date = date or dt.date.today()
        self.history: list[Message] = []
        self.last_prompt: list[int] = []

    def prompt_for(self, history: Sequence[Message]) -> list[int]:
        return build_prompt(self.codec, self.system, self.instructions, (), history, self.reasoning, self.date)

    def send(
        self,
        message: Message | str,
        sampler: Sampler | None = None,
        config: GenerationConfig = GenerationConfig(),
        cancel: threading.Event = _NEVER,
    ) -> Iterator[GenerationEvent]:
        """Adds the user's message, streams the assistant's reply, and records it in the history.

        If the turn fails or is cancelled, the partial reply is still kept in the history (what the user saw
        is what the model will see next turn). `sampler`: see Generator.generate."""
        self.history.append(Message.user(message) if isinstance(message, str) else message)
        prompt = self.prompt_for(self.history)
        self.last_prompt = prompt
        stream = HarmonyStream(self.codec)
        harmony_config = replace(config, skip_special_text=True,
                                 stop_token_ids=config.stop_token_ids or STOP_TOKEN_IDS)
        try:
            for event in self.generator.generate(prompt, sampler, harmony_config, cancel):
                deltas = [d for t in event.token_ids for d in stream.feed(t)]
                if event.finished:
                    deltas += stream.finish()
                if not deltas:
                    yield replace(event, text="", channel=stream.current_channel or Channel.RAW)
                    continue
                for i, delta in enumerate(deltas):
                    last = i == len(deltas) - 1
                    yield replace(event, text=delta.text, channel=delta.channel,
                                  token_ids=event.token_ids if i == 0 else (),
                                  finish_reason=event.finish_reason if last else None,
                                  error=event.error if last else None)
        finally:
            if not stream.done:
                stream.finish()
            self.history.extend(p.message for p in stream.messages)

    def reply_text(self) -> tuple[str, str]:
        """(answer, reasoning) of the last assistant turn in the history."""
        answer, reasoning = [], []
        for message in reversed(self.history):
            if message.role.value != "assistant":
                break
            (reasoning if message.channel == "analysis" else answer).insert(0, message.text)
        return "".join(answer), "".join(reasoning)
