"""Downloading a checkpoint into the library: plan, check space, fetch with resume, verify every byte, install.

The plan names exactly the files the exporter reads (`app.checkpoint.weights.METADATA_FILES` and the weight
shards, selected with huggingface_hub's own allow_patterns filter), at one commit, each with the hash it must
have: the catalog's pin for the official repositories, else the Hub's LFS SHA-256, else (small non-LFS files)
the git blob id the Hub lists. `original/` and `metal/` are never fetched (26 GB saved on gpt-oss-20b).

Files land in `<library>/.downloads/<repo>@<commit>/` as `<file>.part` and are renamed to `<file>` only after
their hash matched; a rerun (after a kill, a network drop or a reboot) keeps every finished file and resumes
each partial one where it stopped. Only when every file matched is the folder moved into `models/` and
recorded: nothing is ever half-installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from app.checkpoint.weights import METADATA_FILES, SINGLE_FILE
from app.library.errors import LibraryError
from app.library.hashing import git_blob_id
from app.library.hub import HubClient, RemoteFile
from app.library.progress import Meter, ProgressCallback, no_progress
from app.library.space import SpaceNeed, check_free_space
from app.library.verify import DOWNLOAD_RECORD
from app.model_catalog import CatalogModel, find_by_repo, load_catalog

WEIGHT_PATTERNS = (SINGLE_FILE, "model-*-of-*.safetensors")
ALLOW_PATTERNS = (*METADATA_FILES, *WEIGHT_PATTERNS)
REQUIRED = ("config.json", "tokenizer.json")
_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
PIN, LFS, GIT = "the catalog's pinned SHA-256", "the Hub's LFS SHA-256", "the Hub's git blob id"


@dataclass(frozen=True)
class PlannedFile:
    path: str
    size: int
    sha256: str | None  # expected SHA-256 (pin or LFS); None for a small file checked by its git blob id
    git_oid: str | None
    checked_by: str  # PIN, LFS or GIT


@dataclass(frozen=True)
class DownloadPlan:
    repo: str
    revision: str  # what the user asked for
    commit: str
    name: str  # folder/registry name the model gets
    catalog_id: str | None
    files: tuple[PlannedFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def verified_against(self) -> str:
        kinds = sorted({f.checked_by for f in self.files})
        return " and ".join(kinds)


def parse_model_ref(text: str) -> tuple[str, CatalogModel | None]:
    """A catalog id ("gpt-oss-20b") or a repo ("org/name") -> (repo, catalog model or None)."""
    text = text.strip()
    for model in load_catalog():
        if text == model.id:
            return model.hub_repo, model
    if not _REPO.fullmatch(text):
        ids = ", ".join(m.id for m in load_catalog())
        raise LibraryError(f"{text!r} is neither a catalog model ({ids}) nor a Hub repository name like org/name.")
    return text, find_by_repo(text)


def plan_download(client: HubClient, ref: str, revision: str | None = None) -> DownloadPlan:
    from huggingface_hub.utils import filter_repo_objects

    repo, model = parse_model_ref(ref)
    wanted = revision or (model.revision if model else "main")
    commit = client.resolve(repo, wanted)
    pins = model if model is not None and commit == model.revision else None
    remote = client.list_files(repo, commit)
    names = [p for p in filter_repo_objects(list(remote), allow_patterns=list(ALLOW_PATTERNS)) if "/" not in p]
    if pins is not None:
        names = [f.path for f in pins.files]
    for required in REQUIRED:
        if required not in names:
            raise LibraryError(f"{repo}@{commit[:12]} has no {required}; it is not a gpt-oss checkpoint Enclave "
                               "can convert.")
    if not any(n == SINGLE_FILE or n.endswith(".safetensors") for n in names):
        raise LibraryError(f"{repo}@{commit[:12]} has no .safetensors weights at its top level.")
    files = tuple(_planned(name, remote.get(name), pins, repo, commit) for name in sorted(names))
    name = model.id if model is not None else repo.split("/", 1)[1]
    return DownloadPlan(repo=repo, revision=wanted, commit=commit, name=name,
                        catalog_id=model.id if model else None, files=files)


def _planned(name: str, remote: RemoteFile | None, pins: CatalogModel | None, repo: str, commit: str) -> PlannedFile:
    if remote is None:
        raise LibraryError(f"{repo}@{commit[:12]} does not have {name}, which the catalog pins for this revision; "
                           "the server is not serving the published model.")
    pin = pins.pinned(name) if pins is not None else None
    if pin is not None:
        if remote.size != pin.size:
            raise LibraryError(f"The server lists {name} with {remote.size:,} bytes, but the catalog pins "
                               f"{pin.size:,} bytes for {repo}@{commit[:12]}; it serves a different file, so "
                               "nothing was downloaded.")
        return PlannedFile(name, pin.size, pin.sha256, None, PIN)
    if remote.lfs_sha256:
        return PlannedFile(name, remote.size, remote.lfs_sha256.lower(), None, LFS)
    return PlannedFile(name, remote.size, None, remote.git_oid, GIT)


def staging_folder(library: Path, plan: DownloadPlan) -> Path:
    return library / ".downloads" / f"{plan.repo.replace('/', '--')}@{plan.commit}"


def remaining_bytes(staging: Path, plan: DownloadPlan) -> int:
    """Bytes still to fetch: finished files count fully, partial ones by what they already hold."""
    left = 0
    for f in plan.files:
        if (staging / f.path).is_file():
            continue
        part = staging / f"{f.path}.part"
        left += f.size - (part.stat().st_size if part.is_file() else 0)
    return left


def run_download(client: HubClient, plan: DownloadPlan, library: Path, *, extra_space: list[SpaceNeed] | None = None,
                 progress: ProgressCallback = no_progress, cancel: threading.Event | None = None) -> Path:
    """Fetches and verifies every planned file into the staging folder; returns that folder, complete."""
    staging = staging_folder(library, plan)
    staging.mkdir(parents=True, exist_ok=True)
    (staging / DOWNLOAD_RECORD).write_text(json.dumps(plan_record(plan), indent=2) + "\n", encoding="utf-8")
    check_free_space([SpaceNeed(library, remaining_bytes(staging, plan), f"the rest of the {plan.name} download"),
                      *(extra_space or [])])
    meter = Meter(plan.total_bytes, progress, cancel)
    for planned in plan.files:
        final = staging / planned.path
        if final.is_file() and final.stat().st_size == planned.size:
            meter.skip(planned.size)
            continue
        _fetch_one(client, plan, planned, staging, meter)
    return staging


def _fetch_one(client: HubClient, plan: DownloadPlan, planned: PlannedFile, staging: Path, meter: Meter) -> None:
    part = staging / f"{planned.path}.part"
    url, size, etag, commit = client.file_location(plan.repo, plan.commit, planned.path)
    if commit and commit != plan.commit:
        raise LibraryError(f"The server answered for {planned.path} with commit {commit[:12]}, not the requested "
                           f"{plan.commit[:12]}; nothing of it was kept.")
    if size is not None and size != planned.size:
        raise LibraryError(f"The server now says {planned.path} has {size:,} bytes, not the {planned.size:,} it "
                           "listed; the repository changed or the mirror is inconsistent, so nothing of it was kept.")
    if planned.sha256 and etag and re.fullmatch(r"[0-9a-f]{64}", etag) and etag != planned.sha256:
        raise LibraryError(f"The server's hash for {planned.path} ({etag[:12]}…) is not the expected "
                           f"{planned.sha256[:12]}… ({planned.checked_by}); it serves a different file.")
    import hashlib

    digest = hashlib.sha256()
    have = part.stat().st_size if part.exists() else 0
    if have:  # the part already on disk is hashed from disk (a local read, not a download)
        meter.phase = f"Checking the partial {planned.path}"
        with open(part, "rb") as handle:
            while chunk := handle.read(8 * 1024 * 1024):
                digest.update(chunk)
        meter.skip(have)
    meter.phase = f"Downloading {planned.path}"
    client.fetch_to(url, part, planned.size, meter, on_bytes=digest.update)
    actual = part.stat().st_size
    if actual != planned.size:
        raise LibraryError(f"{planned.path}: received {actual:,} bytes instead of {planned.size:,}.")
    if planned.sha256 is not None:
        got = digest.hexdigest()
        if got != planned.sha256:
            part.unlink(missing_ok=True)
            raise LibraryError(
                f"{planned.path} from {plan.repo} does not match {planned.checked_by} (expected "
                f"{planned.sha256[:16]}…, received {got[:16]}…); the damaged file was deleted and nothing was "
                "installed. Try again; if it repeats, the server or mirror holds a damaged copy.")
    elif planned.git_oid is not None and git_blob_id(part) != planned.git_oid:
        part.unlink(missing_ok=True)
        raise LibraryError(f"{planned.path} from {plan.repo} does not match {GIT} the Hub lists; the damaged file "
                           "was deleted and nothing was installed.")
    os.replace(part, staging / planned.path)


def plan_record(plan: DownloadPlan) -> dict:
    return {"repo": plan.repo, "revision": plan.revision, "commit": plan.commit, "name": plan.name,
            "catalog_id": plan.catalog_id, "files": [asdict(f) for f in plan.files]}


def install_staging(staging: Path, destination: Path) -> Path:
    """Moves the verified download into place (a rename: same disk), never over an existing folder."""
    if destination.exists():
        raise LibraryError(f"{destination} already exists; remove it from the library first.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staging, destination)
    return destination


def discard_staging(library: Path, plan: DownloadPlan) -> None:
    shutil.rmtree(staging_folder(library, plan), ignore_errors=True)
