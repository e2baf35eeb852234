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

import threading
from dataclasses import dataclass
from pathlib import Path

from app.library import paths
from app.library.errors import LibraryError
from app.library.hashing import source_key
from app.library.library import Library
from app.library.progress import Meter, ProgressCallback, no_progress
from app.library.records import VerifiedRecords
from app.library.registry import fingerprint
from app.library.verify import checkpoint_files, verify_checkpoint, verify_package
from app.model_folder import FolderKind, NotAModelFolder, classify_model_folder
from app.package.manifest import MANIFEST_FILE


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


def prepare_open(folder: Path | str, library: Library | None = None, *, progress: ProgressCallback = no_progress,
                 cancel: threading.Event | None = None, hash_checkpoints: bool = True) -> OpenDecision:
    """Classifies and checks `folder`; raises LibraryError with the sentence to show when it cannot be opened.

    `hash_checkpoints=False` finds a checkpoint's package only from records (no full read): for the CLI, which
    answers at once instead of reading 13-65 GB to say "convert it first".
    """
    folder = Path(folder).absolute()
    try:
        kind = classify_model_folder(folder).kind
    except NotAModelFolder as exc:
        raise LibraryError(str(exc)) from exc
    library = library or Library()
    if kind is FolderKind.ENCLAVE_PACKAGE:
        check_package(folder, library, progress=progress, cancel=cancel)
        check_allowed(folder)
        return OpenDecision(folder, kind)
    if kind is FolderKind.GENAI_FOLDER:
        return OpenDecision(folder, kind)
    key = checkpoint_key(folder, library, progress=progress, cancel=cancel, known_only=not hash_checkpoints)
    package = library.package_for_source(key) if key else None
    if package is not None:
        check_package(Path(package.folder), library, progress=progress, cancel=cancel)
        check_allowed(Path(package.folder))
    return OpenDecision(folder, kind, Path(package.folder) if package else None, key)


def check_allowed(package: Path) -> None:
    """AllowedModels: the package's manifest.json SHA-256, or the content key of the checkpoint it was converted
    from (what `enclave models list --json` shows as source_key), must be on the organisation's list."""
    from app.library.library import _package_source_key
    from app.policy import current_policy

    policy = current_policy()
    if policy.allowed_models is None:
        return
    import hashlib

    digest = hashlib.sha256((package / MANIFEST_FILE).read_bytes()).hexdigest()
    key = _package_source_key(package)
    if policy.model_allowed(digest) or (key is not None and policy.model_allowed(key)):
        return
    raise LibraryError(f"Your organisation's policy does not allow opening {package} (its manifest.json has SHA-256 "
                       f"{digest[:16]}…); ask IT for an approved model.")


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
                   cancel: threading.Event | None = None, known_only: bool = False) -> str | None:
    """The content key of a checkpoint: from the library's record when its files are unchanged, else hashed
    (or None with `known_only`)."""
    entry = library.entry_for_folder(folder)
    if entry is not None and entry.source_key and fingerprint(folder, list(entry.files)) == entry.files:
        return entry.source_key
    records = VerifiedRecords(library.root / paths.VERIFIED_FILE)
    names = list(checkpoint_files(folder))
    known = records.source_key(folder, names)
    if known or known_only:
        return known
    check = verify_checkpoint(folder, Meter(0, progress, cancel))
    key = source_key(check.hashes)
    records.record(folder, names, source_key=key)
    return key


def _package_names(folder: Path) -> list[str]:
    from app.package.manifest import PackageError
    from app.package.reader import read_package

    try:
        package = read_package(folder)
    except PackageError as exc:
        text = str(exc).strip()
        raise LibraryError(text if text.endswith(".") else text + ".") from exc
    return [f.path for f in package.manifest.files] + [MANIFEST_FILE]
