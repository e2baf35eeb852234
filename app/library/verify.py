"""Checking a model folder's bytes against the best reference there is, with one sentence naming a bad file.

A checkpoint is checked against, in this order:
1. `enclave-download.json`, the record a library download leaves in the folder (IT downloads once, copies the
   folder to a USB drive; every laptop that imports it checks the same hashes);
2. the catalog's pins, when the folder holds the pinned files of an official model at their pinned sizes;
3. the blob names of a Hugging Face cache snapshot (`models--org--name/snapshots/<commit>/`, whose LFS files
   are links to `blobs/<sha256>`);
otherwise only its structure is checked (config, index, every shard's header and length) and that is what the
record says. A package is checked against its own manifest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from app.checkpoint.weights import METADATA_FILES, Checkpoint, CheckpointError
from app.library.errors import LibraryError
from app.library.hashing import git_blob_id, sha256_of
from app.library.progress import Meter
from app.model_catalog import load_catalog

DOWNLOAD_RECORD = "enclave-download.json"
STRUCTURE_ONLY = "its structure only (no published hashes came with this folder)"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Reference:
    """Expected SHA-256 (or git blob id) per file name, and where those expectations come from."""

    sha256: dict[str, str]
    git_oid: dict[str, str]
    sizes: dict[str, int]
    against: str


@dataclass(frozen=True)
class CheckpointCheck:
    files: tuple[str, ...]  # every file the exporter reads, relative to the folder
    hashes: dict[str, str]  # their SHA-256, as read now
    against: str


def checkpoint_files(folder: Path) -> tuple[str, ...]:
    """The checkpoint's files Enclave reads, after its structure is validated (CheckpointError -> LibraryError)."""
    try:
        checkpoint = Checkpoint.open(folder)
    except CheckpointError as exc:
        raise LibraryError(_sentence(str(exc))) from exc
    metadata = [n for n in METADATA_FILES if (Path(folder) / n).is_file()]
    return tuple(metadata + sorted(p.name for p in checkpoint.shard_files))


def reference_for(folder: Path, names: tuple[str, ...]) -> Reference | None:
    folder = Path(folder)
    record = folder / DOWNLOAD_RECORD
    if record.is_file():
        return _from_download_record(record)
    sizes = {n: (folder / n).stat().st_size for n in names}
    for model in load_catalog():
        weights = [f for f in model.files if f.path.endswith(".safetensors")]
        if weights and all(sizes.get(f.path) == f.size for f in weights):
            return Reference({f.path: f.sha256 for f in model.files}, {}, {f.path: f.size for f in model.files},
                             f"the catalog's pinned SHA-256 of {model.name}")
    blobs = {}
    for name in names:
        link = folder / name
        if link.is_symlink():
            target = link.resolve()
            if target.parent.name == "blobs" and _SHA256.fullmatch(target.name):
                blobs[name] = target.name
    if blobs and folder.parent.name == "snapshots":
        return Reference(blobs, {}, {}, "the Hugging Face cache's LFS SHA-256")
    return None


def _from_download_record(record: Path) -> Reference:
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        files = data["files"]
        sha = {f["path"]: f["sha256"] for f in files if f.get("sha256")}
        git = {f["path"]: f["git_oid"] for f in files if not f.get("sha256") and f.get("git_oid")}
        sizes = {f["path"]: int(f["size"]) for f in files}
        against = f"the hashes recorded when {data['repo']}@{str(data['commit'])[:12]} was downloaded"
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise LibraryError(f"{record}: the download record cannot be read ({exc}); without it this folder cannot "
                           "be checked, copy it again from its source.") from exc
    return Reference(sha, git, sizes, against)


def verify_checkpoint(folder: Path, meter: Meter) -> CheckpointCheck:
    """Structure first (seconds), then every byte of every file against the reference; nothing is changed."""
    folder = Path(folder)
    names = checkpoint_files(folder)
    reference = reference_for(folder, names)
    if reference is not None:
        missing = [n for n in reference.sizes if not (folder / n).is_file()]
        if missing:
            raise LibraryError(f"{folder / missing[0]} is missing; the folder is incomplete.")
        for name, size in reference.sizes.items():
            actual = (folder / name).stat().st_size
            if actual != size:
                raise LibraryError(f"{folder / name} has {actual:,} bytes but {reference.against} say {size:,}; "
                                   "the file is truncated or was replaced.")
    meter.total = sum((folder / n).stat().st_size for n in names)
    hashes: dict[str, str] = {}
    for name in names:
        meter.phase = f"Checking {name}"
        hashes[name] = sha256_of(folder / name, meter)
        if reference is None:
            continue
        expected = reference.sha256.get(name)
        if expected is not None and hashes[name] != expected:
            raise LibraryError(f"{folder / name} is corrupt: its SHA-256 does not match {reference.against}. "
                               "Copy it again from its source; nothing was imported.")
        oid = reference.git_oid.get(name)
        if expected is None and oid is not None and git_blob_id(folder / name) != oid:
            raise LibraryError(f"{folder / name} is corrupt: it does not match {reference.against}.")
    return CheckpointCheck(files=names, hashes=hashes, against=reference.against if reference else STRUCTURE_ONLY)


def check_tokenizer(path: Path) -> None:
    """tokenizer.json must load in `tokenizers` (a garbage file of the right size otherwise fails much later)."""
    from tokenizers import Tokenizer

    try:
        Tokenizer.from_file(str(path))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception with serde's message
        raise LibraryError(f"{path} is not a valid tokenizer file ({str(exc).strip() or type(exc).__name__}); "
                           "copy it again from the model's source.") from exc


def verify_package(folder: Path, meter: Meter) -> tuple[str, ...]:
    """Every file of an Enclave package against its manifest (sizes, then SHA-256); returns the file names."""
    from app.package.manifest import PackageError
    from app.package.reader import read_package

    from app.package.integrity import IntegrityError, check_files

    folder = Path(folder)
    try:
        package = read_package(folder)
    except PackageError as exc:
        raise LibraryError(_sentence(str(exc))) from exc
    meter.total = sum(f.size for f in package.manifest.files)
    meter.phase = f"Checking {folder.name}"
    last = 0

    def advance(done: int, _total: int) -> None:
        nonlocal last
        meter.add(done - last)  # also where Cancel takes effect
        last = done

    try:  # the one package check (app.package.integrity): sizes of every file first, then SHA-256
        check_files(folder, package.manifest.files, on_progress=advance)
    except IntegrityError as exc:
        raise LibraryError(f"{exc.path} is corrupt: its SHA-256 does not match the package manifest. Copy or export "
                           "the package again." if "SHA-256" in str(exc) else _sentence(str(exc))) from exc
    return tuple(f.path for f in package.manifest.files)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."
