"""registry.json: one record per installed model, written atomically (a crash leaves the old file or the new one).

A record says what the model is (kind, source, revision, target), where it is (inside the library, or a folder
the user chose to use in place), how it was last verified and against what, and a cheap fingerprint of its
files (size and modification time of each) so that opening it again only re-hashes when something changed.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from app.library.errors import LibraryError
from app.storage.settings import atomic_write_text

REGISTRY_VERSION = 1
KINDS = ("checkpoint", "package", "genai")
VERIFIED, FAILED, UNCHECKED = "verified", "failed", "unchecked"

Fingerprint = dict[str, list[int]]  # relative path -> [size, mtime_ns]


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def fingerprint(folder: Path, names: list[str]) -> Fingerprint:
    """Size and modification time of each named file (missing files are left out, so they never match)."""
    result: Fingerprint = {}
    for name in names:
        try:
            stat = (Path(folder) / name).stat()
        except OSError:
            continue
        result[name] = [stat.st_size, stat.st_mtime_ns]
    return result


@dataclass(frozen=True)
class LibraryEntry:
    name: str  # unique in the library; what `enclave models remove NAME` takes
    kind: str  # checkpoint | package | genai
    folder: str  # absolute
    in_place: bool  # a folder outside the library used where it is: removing the entry never deletes it
    source: str  # "openai/gpt-oss-20b", or the folder it was imported from
    revision: str | None = None  # the Hub commit, when known
    target: str | None = None  # export target of a package
    size_bytes: int = 0
    verified: str = UNCHECKED  # verified | failed | unchecked
    verified_against: str = ""  # "the catalog's pinned SHA-256", "the Hub's LFS SHA-256", "the package manifest", ...
    verified_utc: str = ""
    problem: str = ""  # the sentence of the last failed check
    files: Fingerprint = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)  # checkpoint files' SHA-256 (keys its packages)
    source_key: str | None = None  # checkpoint: its own key; package: the key of the checkpoint it was made from
    added_utc: str = ""
    last_used_utc: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], where: Path) -> LibraryEntry:
        known = {f.name for f in fields(cls)}
        try:
            entry = cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise LibraryError(f"{where}: a model record is incomplete ({exc}).") from exc
        if entry.kind not in KINDS:
            raise LibraryError(f"{where}: model {entry.name!r} has an unknown kind {entry.kind!r}.")
        return entry

    def with_changes(self, **changes: Any) -> LibraryEntry:
        return replace(self, **changes)


class Registry:
    """The records in registry.json. Every change is written through at once."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._entries: dict[str, LibraryEntry] = {}
        self._unknown: dict[str, Any] = {}
        self.reload()

    def reload(self) -> None:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._entries = {}
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise LibraryError(f"{self.path}: cannot be read ({exc}).") from exc
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise LibraryError(f"{self.path}: is not valid JSON ({exc}); it was left as it is, fix or remove it.") from exc
        if not isinstance(data, dict) or not isinstance(data.get("models"), list):
            raise LibraryError(f"{self.path}: is not a model library registry (no \"models\" list).")
        if data.get("registry_version") != REGISTRY_VERSION:
            raise LibraryError(f"{self.path}: registry_version {data.get('registry_version')!r} is not one this "
                               f"Enclave reads ({REGISTRY_VERSION}); it was written by another version.")
        self._unknown = {k: v for k, v in data.items() if k not in ("registry_version", "models")}
        entries = [LibraryEntry.from_json(item, self.path) for item in data["models"] if isinstance(item, dict)]
        self._entries = {e.name: e for e in entries}

    def _save(self) -> None:
        data = {**self._unknown, "registry_version": REGISTRY_VERSION,
                "models": [e.to_json() for e in self._entries.values()]}
        try:
            atomic_write_text(self.path, json.dumps(data, indent=2) + "\n")
        except OSError as exc:
            raise LibraryError(f"Cannot save the model library record {self.path}: {exc.strerror or exc}.") from exc

    def entries(self) -> list[LibraryEntry]:
        return list(self._entries.values())

    def get(self, name: str) -> LibraryEntry | None:
        return self._entries.get(name)

    def find_folder(self, folder: Path) -> LibraryEntry | None:
        wanted = str(Path(folder).resolve())
        return next((e for e in self._entries.values() if str(Path(e.folder).resolve()) == wanted), None)

    def put(self, entry: LibraryEntry) -> None:
        self._entries[entry.name] = entry
        self._save()

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)
        self._save()

    def unique_name(self, wanted: str) -> str:
        if wanted not in self._entries:
            return wanted
        n = 2
        while f"{wanted}-{n}" in self._entries:
            n += 1
        return f"{wanted}-{n}"
