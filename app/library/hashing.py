"""Hashes of files as the Hub and the catalog state them: SHA-256 (LFS files, pins) and git blob ids (small files)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from app.library.progress import Meter

CHUNK = 8 * 1024 * 1024


def sha256_of(path: Path, meter: Meter | None = None) -> str:
    """SHA-256 of a file read in 8 MB pieces, reporting to `meter` (and honouring its Cancel) as it goes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if meter is not None:
                meter.add(len(chunk))
    return digest.hexdigest()


def git_blob_id(path: Path) -> str:
    """The id git gives a file's content (`sha1("blob <size>\\0" + bytes)`): the Hub's `oid` for non-LFS files."""
    data = Path(path).read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def source_key(hashes: dict[str, str]) -> str:
    """One id for a checkpoint's exact content: SHA-256 over its files' names and SHA-256s, sorted.

    Converted packages are found by this key, so a different checkpoint in a folder of the same name never
    opens another checkpoint's package.
    """
    text = "\n".join(f"{name}\t{digest}" for name, digest in sorted(hashes.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
