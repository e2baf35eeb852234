"""verified.json: when each model folder outside the library was last checked in full, and what it was.

A record holds the folder's fingerprint (size and modification time of each file) at that check, and for a
checkpoint its content key; a record whose fingerprint no longer matches is ignored, so any change to a file
brings the full check back. Losing the file only costs a re-check.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.library.registry import fingerprint, now_utc
from app.storage.settings import atomic_write_text


class VerifiedRecords:
    """verified.json: {folder: {"files": fingerprint, "verified_utc": ...}} for packages outside the library."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return {}  # a lost or damaged record only means the next open checks every byte again
        return data if isinstance(data, dict) else {}

    def matches(self, folder: Path, names: list[str]) -> bool:
        record = self._load().get(str(folder.resolve()))
        return bool(record) and record.get("files") == fingerprint(folder, names)

    def source_key(self, folder: Path, names: list[str]) -> str | None:
        record = self._load().get(str(folder.resolve()))
        if record and record.get("files") == fingerprint(folder, names) and record.get("source_key"):
            return str(record["source_key"])
        return None

    def record(self, folder: Path, names: list[str], *, source_key: str | None = None) -> None:
        data = self._load()
        data[str(folder.resolve())] = {"files": fingerprint(folder, names), "verified_utc": now_utc(),
                                       **({"source_key": source_key} if source_key else {})}
        try:
            atomic_write_text(self.path, json.dumps(data, indent=1) + "\n")
        except OSError:
            pass  # the check passed; failing to remember it only costs a re-check next time

    def forget(self, folder: Path) -> None:
        data = self._load()
        if data.pop(str(folder.resolve()), None) is not None:
            try:
                atomic_write_text(self.path, json.dumps(data, indent=1) + "\n")
            except OSError:
                pass
