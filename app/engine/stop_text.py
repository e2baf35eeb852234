"""Stop strings (the API's `stop`): the answer ends right before the first of them, which is never shown.

Text streams in pieces, and a stop string may be split across two of them ("Obs" + "erve:"). So the filter
holds back the longest tail of what it has seen that could still grow into a stop string, and releases it as
soon as the next piece rules that out. What it releases is exactly the answer a client would get from
cutting the whole text at the earliest stop string, whatever the piece boundaries were.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_STOP_STRINGS = 4  # OpenAI's API takes up to 4
MAX_STOP_CHARS = 256  # longer ones would only delay the stream by as much


class StopText:
    """Feeds pieces of text in, gets back what may be shown now; `matched` once a stop string was seen."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.matched = False
        self._held = ""

    def feed(self, piece: str) -> str:
        """The text that can be shown now. After a match it returns what came before the stop string, then
        nothing: the caller ends the reply."""
        if self.matched:
            return ""
        text = self._held + piece
        cut = min((i for i in (text.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.matched, self._held = True, ""
            return text[:cut]
        keep = self._partial_tail(text)
        self._held = text[len(text) - keep:] if keep else ""
        return text[:len(text) - keep]

    def flush(self) -> str:
        """The held-back tail, at the end of the reply (it never became a stop string)."""
        held, self._held = self._held, ""
        return "" if self.matched else held

    def _partial_tail(self, text: str) -> int:
        """Length of the longest suffix of `text` that is a proper prefix of some stop string."""
        longest = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:n]):
                    longest = n
                    break
        return longest
