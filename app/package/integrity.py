"""Are a folder's files the ones a record says? Sizes first (instant), then SHA-256 (reads every byte).

One function, `check_files`, serves everything that trusts a package or a checkpoint by its recorded hashes:
`read_package(verify=True)`, `enclave verify`, and opening a model in the app. Every failure is an
`IntegrityError`, one sentence that names the file (its `path` attribute holds it too, for callers that show
it differently). Sizes are checked for every file before any hash is computed, so a truncated copy (the
usual failure of a USB transfer) is reported in milliseconds instead of after reading 13 GB.

Entries come from the manifest, which is outside input: a relative path that leaves the folder (`..`, an
absolute path, a drive letter) is refused rather than followed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Protocol

HASH_CHUNK_BYTES = 8 * 1024 * 1024  # a 60 GB data file is read in 8 MB pieces, never whole

# (bytes hashed so far, bytes to hash in all); called after every chunk. It may raise to stop the check
# (e.g. the user cancelled); the exception propagates unchanged.
HashProgress = Callable[[int, int], None]


class RecordedFile(Protocol):
    """What a record says about one file (app.package.manifest.FileEntry has these fields)."""

    path: str  # relative to the folder, "/"-separated
    size: int
    sha256: str


class IntegrityError(ValueError):
    """A file is missing, has another size, or another SHA-256 than recorded. The message is one sentence."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class CheckedFile:
    """A file that matched its record: where it is and how many bytes it has."""

    path: Path
    size: int


def sha256_file(path: Path, on_chunk: Callable[[int], None] = lambda _n: None) -> str:
    """SHA-256 of a file, read in HASH_CHUNK_BYTES pieces; `on_chunk(n)` after each piece of n bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            on_chunk(len(chunk))
    return digest.hexdigest()


def resolve_entry(folder: Path, relative: str, *, record: str = "the manifest") -> Path:
    """The file a record entry names, refusing names that would leave `folder`."""
    posix, windows = PurePosixPath(relative), PureWindowsPath(relative)
    if (not relative or posix.is_absolute() or windows.is_absolute() or windows.drive
            or ".." in posix.parts or ".." in windows.parts):
        raise IntegrityError(f"{folder}: {record} names the file {relative!r}, which is outside the folder; "
                             "the record is damaged or was tampered with", folder)
    return folder / posix


def check_files(folder: Path, entries: Iterable[RecordedFile], *, hashes: bool = True,
                on_progress: HashProgress = lambda _done, _total: None,
                record: str = "the manifest") -> list[CheckedFile]:
    """Checks that every recorded file exists with its recorded size and, with `hashes`, its SHA-256.

    Returns the checked files in record order. Raises IntegrityError naming the first file that does not
    match (all sizes are compared before the first hash is computed). `record` is how messages refer to the
    record (e.g. "the manifest", "the package's record of its checkpoint").
    """
    folder = Path(folder)
    listed: Sequence[RecordedFile] = list(entries)
    checked = [_check_size(folder, entry, record) for entry in listed]
    if not hashes:
        return checked
    total = sum(f.size for f in checked)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        on_progress(done, total)

    on_progress(0, total)
    for entry, file in zip(listed, checked):
        try:
            actual = sha256_file(file.path, advance)
        except OSError as exc:
            raise IntegrityError(f"{file.path}: cannot be read ({exc.strerror or exc})", file.path) from exc
        if actual != entry.sha256:
            raise IntegrityError(f"{file.path}: SHA-256 does not match {record}; the file is corrupt or was "
                                 "replaced", file.path)
    return checked


def _check_size(folder: Path, entry: RecordedFile, record: str) -> CheckedFile:
    path = resolve_entry(folder, entry.path, record=record)
    if not path.is_file():
        raise IntegrityError(f"{path}: file is missing (listed in {record})", path)
    size = path.stat().st_size
    if size != entry.size:
        raise IntegrityError(f"{path}: has {size} bytes but {record} records {entry.size}; the file is "
                             "truncated or was replaced", path)
    return CheckedFile(path, size)
