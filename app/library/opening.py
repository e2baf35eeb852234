"""Opening is verifying: what every client does with a folder before the engine loads it.

- An Enclave package has every file hashed against its manifest the first time it is opened (and when it is
  imported); after that each open compares sizes and modification times with the record (milliseconds) and
  hashes again only when they changed. Packages in the library keep that record in registry.json; any other
  folder in `<library>/verified.json`, so a read-only USB drive is never written to.
- A Hugging Face checkpoint is never loaded directly: the answer says which package was converted from
  exactly this content (matched by its files' SHA-256, never by folder name) or that it must be converted.
- Anything else is one sentence naming the folder.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from app.library import paths
from app.library.errors import LibraryError
from app.library.hashing import source_key
from app.library.library import Library
from app.library.progress import Meter, ProgressCallback, no_progress
from app.library.registry import fingerprint, now_utc
from app.library.verify import checkpoint_files, verify_checkpoint, verify_package
from app.model_folder import FolderKind, NotAModelFolder, classify_model_folder
from app.storage.settings import atomic_write_text


@dataclass(frozen=True)
class OpenDecision:
    folder: Path  # what to load (a package or genai folder), or the checkpoint that needs converting
    kind: FolderKind
    package_for_checkpoint: Path | None = None  # a checkpoint's converted package found by content
    source_key: str | None = None  # a checkpoint's content key (for the conversion that follows)

    @property
    def needs_conversion(self) -> bool:
        return self.kind is FolderKind.HF_CHECKPOINT and self.package_for_checkpoint is None

    @property
    def loadable(self) -> Path | None:
        if self.kind is FolderKind.HF_CHECKPOINT:
            return self.package_for_checkpoint
        return self.folder


def checkpoint_sentence(folder: Path) -> str:
    return (f"{folder} is a Hugging Face checkpoint, not a model package: convert it once with "
            f"`enclave models import \"{folder}\"` (it is then listed by `enclave models list`), or with "
            f"`enclave export \"{folder}\" OUT --target cpu-int4`.")


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

    def record(self, folder: Path, names: list[str]) -> None:
        data = self._load()
        data[str(folder.resolve())] = {"files": fingerprint(folder, names), "verified_utc": now_utc()}
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


def prepare_open(folder: Path | str, library: Library | None = None, *, progress: ProgressCallback = no_progress,
                 cancel: threading.Event | None = None) -> OpenDecision:
    """Classifies and checks `folder`; raises LibraryError with the sentence to show when it cannot be opened."""
    folder = Path(folder).absolute()
    try:
        kind = classify_model_folder(folder).kind
    except NotAModelFolder as exc:
        raise LibraryError(str(exc)) from exc
    library = library or Library()
    if kind is FolderKind.ENCLAVE_PACKAGE:
        check_package(folder, library, progress=progress, cancel=cancel)
        return OpenDecision(folder, kind)
    if kind is FolderKind.GENAI_FOLDER:
        return OpenDecision(folder, kind)
    key = checkpoint_key(folder, library, progress=progress, cancel=cancel)
    package = library.package_for_source(key)
    if package is not None:
        check_package(Path(package.folder), library, progress=progress, cancel=cancel)
    return OpenDecision(folder, kind, Path(package.folder) if package else None, key)


def check_package(folder: Path, library: Library, *, progress: ProgressCallback = no_progress,
                  cancel: threading.Event | None = None) -> None:
    entry = library.entry_for_folder(folder)
    if entry is not None:
        library.check_on_open(entry, progress=progress, cancel=cancel)
        return
    records = VerifiedRecords(library.root / paths.VERIFIED_FILE)
    names = _package_names(folder)
    if records.matches(folder, names):
        return
    try:
        verify_package(folder, Meter(0, progress, cancel))
    except LibraryError:
        records.forget(folder)
        raise
    records.record(folder, names)


def checkpoint_key(folder: Path, library: Library, *, progress: ProgressCallback = no_progress,
                   cancel: threading.Event | None = None) -> str:
    """The content key of a checkpoint: from the library's record when its files are unchanged, else hashed."""
    entry = library.entry_for_folder(folder)
    if entry is not None and entry.source_key and fingerprint(folder, list(entry.files)) == entry.files:
        return entry.source_key
    records = VerifiedRecords(library.root / paths.VERIFIED_FILE)
    names = list(checkpoint_files(folder))
    stored = records._load().get(str(folder.resolve()))
    if stored and stored.get("files") == fingerprint(folder, names) and stored.get("source_key"):
        return str(stored["source_key"])
    check = verify_checkpoint(folder, Meter(0, progress, cancel))
    key = source_key(check.hashes)
    data = records._load()
    data[str(folder.resolve())] = {"files": fingerprint(folder, names), "verified_utc": now_utc(), "source_key": key}
    try:
        atomic_write_text(records.path, json.dumps(data, indent=1) + "\n")
    except OSError:
        pass
    return key


def _package_names(folder: Path) -> list[str]:
    from app.package.manifest import PackageError
    from app.package.reader import read_package

    try:
        package = read_package(folder)
    except PackageError as exc:
        text = str(exc).strip()
        raise LibraryError(text if text.endswith(".") else text + ".") from exc
    return [f.path for f in package.manifest.files] + ["manifest.json"]
