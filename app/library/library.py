"""`Library`: the installed models and every operation on them (download, import, verify, convert, remove).

The CLI and the window both drive this class; it never touches Qt and never prints. Long operations take a
progress callback and a cancel Event, raise LibraryError (one sentence) or Cancelled, and change the registry
only after they succeeded, so a failed or cancelled job leaves the library exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from app.library import paths
from app.library.download import install_staging, plan_download, run_download
from app.library.errors import Cancelled, LibraryError
from app.library.hashing import source_key
from app.library.hub import HubAccess, hub_session
from app.library.progress import Meter, ProgressCallback, no_progress
from app.library.records import VerifiedRecords
from app.library.registry import FAILED, VERIFIED, LibraryEntry, Registry, fingerprint, now_utc
from app.library.space import SpaceNeed, check_free_space
from app.library.verify import check_tokenizer, checkpoint_files, verify_checkpoint, verify_package
from app.model_catalog import find_by_repo
from app.model_folder import FolderKind, NotAModelFolder, classify_model_folder
from app.package.manifest import MANIFEST_FILE


@dataclass(frozen=True)
class Removed:
    entry: LibraryEntry
    freed_bytes: int  # 0 when the entry was a folder used in place (it is left on disk)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())


def conversion_estimate(checkpoint_bytes: int, target: str, repo: str | None = None) -> int:
    """Bytes a conversion writes: the catalog's figure for official models, else the measured ratio of package
    to checkpoint bytes (app.package.footprint)."""
    from app.package.footprint import package_bytes

    model = find_by_repo(repo) if repo else None
    advice = model.target_advice(target) if model else None
    if advice is not None:
        return int(advice.package_gb_estimate * 1e9)
    return package_bytes(target, checkpoint_bytes)


class Library:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else paths.library_folder()
        self.registry = Registry(self.root / paths.REGISTRY_FILE)

    # ------------------------------------------------------------------ looking
    def entries(self) -> list[LibraryEntry]:
        return self.registry.entries()

    def get(self, name: str) -> LibraryEntry:
        entry = self.registry.get(name)
        if entry is None:
            known = ", ".join(e.name for e in self.entries()) or "none yet"
            raise LibraryError(f"There is no model named {name!r} in the library (installed: {known}).")
        return entry

    def entry_for_folder(self, folder: Path) -> LibraryEntry | None:
        return self.registry.find_folder(folder)

    def package_for_source(self, key: str, target: str | None = None) -> LibraryEntry | None:
        """A converted package made from the checkpoint with this content key (never matched by folder name)."""
        for entry in self.entries():
            if (entry.kind == "package" and entry.source_key == key and (target is None or entry.target == target)
                    and entry.verified != FAILED and Path(entry.folder).is_dir()):
                return entry
        return None

    def mark_used(self, folder: Path) -> None:
        entry = self.entry_for_folder(folder)
        if entry is not None:
            self.registry.put(entry.with_changes(last_used_utc=now_utc()))

    # ------------------------------------------------------------------ downloading
    def download(self, ref: str, access: HubAccess, *, revision: str | None = None, convert_to: str | None = None,
                 progress: ProgressCallback = no_progress, cancel: threading.Event | None = None) -> LibraryEntry:
        """Downloads (or finishes downloading) a checkpoint and installs it; converts it when `convert_to` is set."""
        with hub_session(access) as client:
            plan = plan_download(client, ref, revision)
            existing = next((e for e in self.entries() if e.kind == "checkpoint" and e.source == plan.repo
                             and e.revision == plan.commit and Path(e.folder).is_dir()), None)
            if existing is None:
                extra = []
                if convert_to:
                    extra.append(SpaceNeed(self.root, conversion_estimate(plan.total_bytes, convert_to, plan.repo),
                                           f"converting it for {convert_to}"))
                staging = run_download(client, plan, self.root, extra_space=extra, progress=progress, cancel=cancel)
        if existing is not None:
            entry = existing
        else:
            entry = self._install_download(plan, staging)
        if convert_to:
            return self.convert(entry.name, convert_to, progress=progress, cancel=cancel)
        return entry

    def _install_download(self, plan, staging: Path) -> LibraryEntry:
        names = checkpoint_files(staging)  # config, index and every shard's header: before anything is installed
        check_tokenizer(staging / "tokenizer.json")
        hashes = {f.path: f.sha256 for f in plan.files if f.sha256}
        for name in names:  # small non-LFS files were checked by git blob id; record their SHA-256 too
            if name not in hashes:
                hashes[name] = hashlib.sha256((staging / name).read_bytes()).hexdigest()
        name = self.registry.unique_name(paths.safe_name(plan.name))
        folder = install_staging(staging, self.root / paths.MODELS_DIR / name)
        entry = LibraryEntry(
            name=name, kind="checkpoint", folder=str(folder), in_place=False, source=plan.repo,
            revision=plan.commit, size_bytes=folder_size(folder), verified=VERIFIED,
            verified_against=plan.verified_against, verified_utc=now_utc(), files=fingerprint(folder, list(names)),
            hashes=hashes, source_key=source_key(hashes), added_utc=now_utc())
        self.registry.put(entry)
        return entry

    # ------------------------------------------------------------------ importing
    def import_folder(self, folder: Path, *, copy: bool, convert_to: str | None = None,
                      progress: ProgressCallback = no_progress,
                      cancel: threading.Event | None = None) -> LibraryEntry:
        """Checks a folder from a USB drive or a share, then copies it in (or records it in place)."""
        folder = Path(folder).absolute()
        try:
            kind = classify_model_folder(folder).kind
        except NotAModelFolder as exc:
            raise LibraryError(str(exc)) from exc
        known = self.entry_for_folder(folder)
        if known is not None and not copy:
            raise LibraryError(f"{folder} is already in the library as {known.name!r}.")
        meter = Meter(0, progress, cancel)
        if kind is FolderKind.ENCLAVE_PACKAGE:
            names = (*verify_package(folder, meter), MANIFEST_FILE)
            against, hashes, key = "the package manifest", {}, _package_source_key(folder)
        elif kind is FolderKind.HF_CHECKPOINT:
            check = verify_checkpoint(folder, meter)
            check_tokenizer(folder / "tokenizer.json")
            names, against, hashes, key = check.files, check.against, check.hashes, source_key(check.hashes)
            # the source folder is now known by content too: opening it later finds its package without a re-read
            VerifiedRecords(self.root / paths.VERIFIED_FILE).record(folder, list(names), source_key=key)
        else:
            names, against, hashes, key = tuple(p.name for p in folder.iterdir() if p.is_file()), \
                "its structure only (onnxruntime-genai folders carry no hashes)", {}, None
        kind_name = {FolderKind.ENCLAVE_PACKAGE: "package", FolderKind.HF_CHECKPOINT: "checkpoint",
                     FolderKind.GENAI_FOLDER: "genai"}[kind]
        name = self.registry.unique_name(paths.safe_name(folder.name))
        target_folder = folder
        if copy:
            target_folder = self._copy_in(folder, names, name, hashes, progress, cancel)
        entry = LibraryEntry(
            name=name, kind=kind_name, folder=str(target_folder), in_place=not copy, source=str(folder),
            target=_package_target(target_folder) if kind_name == "package" else None,
            revision=_package_revision(target_folder) if kind_name == "package" else None,
            size_bytes=sum((target_folder / n).stat().st_size for n in names), verified=VERIFIED,
            verified_against=against, verified_utc=now_utc(), files=fingerprint(target_folder, list(names)),
            hashes=hashes, source_key=key, added_utc=now_utc())
        self.registry.put(entry)
        if convert_to and kind_name == "checkpoint":
            return self.convert(entry.name, convert_to, progress=progress, cancel=cancel)
        return entry

    def _copy_in(self, folder: Path, names: tuple[str, ...], name: str, hashes: dict[str, str],
                 progress: ProgressCallback, cancel: threading.Event | None) -> Path:
        total = sum((folder / n).stat().st_size for n in names)
        destination = self.root / paths.MODELS_DIR / name
        check_free_space([SpaceNeed(destination.parent, total, f"a copy of {folder.name}")])
        temporary = destination.parent / f".{name}.copying-{os.getpid()}"
        temporary.mkdir(parents=True)
        meter = Meter(total, progress, cancel)
        try:
            for file_name in names:
                meter.phase = f"Copying {file_name}"
                digest = _copy_file(folder / file_name, temporary / file_name, meter)
                expected = hashes.get(file_name)
                if expected is not None and digest != expected:
                    raise LibraryError(f"{folder / file_name} changed while it was copied (its SHA-256 differs from "
                                       "the check a moment ago); nothing was imported.")
            os.rename(temporary, destination)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        return destination

    # ------------------------------------------------------------------ checking
    def verify(self, name: str, *, progress: ProgressCallback = no_progress,
               cancel: threading.Event | None = None) -> LibraryEntry:
        """Reads every byte of an installed model again; the record says the outcome either way."""
        entry = self.get(name)
        folder = Path(entry.folder)
        meter = Meter(0, progress, cancel)
        try:
            if entry.kind == "package":
                names = verify_package(folder, meter)
            elif entry.kind == "checkpoint":
                check = verify_checkpoint(folder, meter)
                names = check.files
                if entry.hashes:
                    for file_name, digest in entry.hashes.items():
                        if check.hashes.get(file_name) not in (None, digest):
                            raise LibraryError(f"{folder / file_name} changed since it was installed (its SHA-256 "
                                               "differs from the library's record).")
            else:
                names = tuple(entry.files)
        except LibraryError as exc:
            self.registry.put(entry.with_changes(verified=FAILED, problem=str(exc), verified_utc=now_utc()))
            raise
        updated = entry.with_changes(verified=VERIFIED, problem="", verified_utc=now_utc(),
                                     files=fingerprint(folder, list(names)))
        self.registry.put(updated)
        return updated

    def check_on_open(self, entry: LibraryEntry, progress: ProgressCallback = no_progress,
                      cancel: threading.Event | None = None) -> LibraryEntry:
        """The cheap check (sizes and times against the record); the full one when they changed."""
        if entry.verified == VERIFIED and fingerprint(Path(entry.folder), list(entry.files)) == entry.files:
            return entry
        return self.verify(entry.name, progress=progress, cancel=cancel)

    # ------------------------------------------------------------------ converting
    def convert(self, name: str, target: str, *, progress: ProgressCallback = no_progress,
                cancel: threading.Event | None = None) -> LibraryEntry:
        """The package for `target` made from checkpoint `name` (an existing one is reused, matched by content)."""
        from app.export.exporter import ExportError, export_model
        from app.export.graph import ExportCancelled
        from app.progress import LoadProgress
        from app.checkpoint.weights import CheckpointError

        entry = self.get(name)
        if entry.kind != "checkpoint":
            raise LibraryError(f"{name} is a {entry.kind}, not a checkpoint; only checkpoints are converted.")
        existing = self.package_for_source(entry.source_key or "", target)
        if existing is not None:
            return existing
        out_name = self.registry.unique_name(paths.safe_name(f"{entry.name}-{target}"))
        out = self.root / paths.MODELS_DIR / out_name
        check_free_space([SpaceNeed(out.parent, conversion_estimate(entry.size_bytes, target, entry.source),
                                    f"converting {entry.name} for {target}")])
        out.parent.mkdir(parents=True, exist_ok=True)

        def relay(p: LoadProgress) -> None:
            fraction = p.fraction if p.fraction is not None else 0.0
            progress_report(progress, p.message, fraction)

        try:
            result = export_model(Path(entry.folder), out, target, on_progress=relay, cancel=cancel)
        except (CheckpointError, ExportError) as exc:
            raise LibraryError(str(exc).rstrip(".") + ".") from exc
        except ExportCancelled as exc:
            raise Cancelled("cancelled") from exc
        names = [f.path for f in result.manifest.files] + [MANIFEST_FILE]
        package = LibraryEntry(
            name=out_name, kind="package", folder=str(out), in_place=False, source=entry.name,
            revision=entry.revision, target=target, size_bytes=folder_size(out), verified=VERIFIED,
            verified_against="the package manifest (written by this conversion)", verified_utc=now_utc(),
            files=fingerprint(out, names), source_key=entry.source_key, added_utc=now_utc())
        self.registry.put(package)
        return package

    def register_package(self, folder: Path, source_key_value: str | None, source: str) -> LibraryEntry:
        """Records a package converted outside `convert` (the window's export) so that it is found by content."""
        folder = Path(folder)
        names = [f for f in verify_names(folder)]
        entry = LibraryEntry(
            name=self.registry.unique_name(paths.safe_name(folder.name)), kind="package", folder=str(folder),
            in_place=not _inside(folder, self.root), source=source, target=_package_target(folder),
            size_bytes=folder_size(folder), verified=VERIFIED, verified_against="the package manifest (written by "
            "this conversion)", verified_utc=now_utc(), files=fingerprint(folder, names),
            source_key=source_key_value, added_utc=now_utc())
        self.registry.put(entry)
        return entry

    # ------------------------------------------------------------------ removing
    def remove(self, name: str) -> Removed:
        """Forgets a model; deletes its folder when the library holds it (a folder used in place stays)."""
        entry = self.get(name)
        folder = Path(entry.folder)
        freed = 0
        if not entry.in_place and folder.exists():
            if not _inside(folder, self.root):
                raise LibraryError(f"{folder} is outside the library folder {self.root}; it was not deleted.")
            freed = folder_size(folder)
            shutil.rmtree(folder)
        self.registry.remove(name)
        return Removed(entry, freed)


def verify_names(folder: Path) -> list[str]:
    from app.package.reader import read_package

    package = read_package(folder)
    return [f.path for f in package.manifest.files] + [MANIFEST_FILE]


def progress_report(progress: ProgressCallback, message: str, fraction: float) -> None:
    from app.library.progress import Progress

    progress(Progress(message, int(fraction * 1000), 1000))


def _inside(folder: Path, root: Path) -> bool:
    try:
        Path(folder).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return False
    return True


def _copy_file(source: Path, destination: Path, meter: Meter) -> str:
    digest = hashlib.sha256()
    with open(source, "rb") as src, open(destination, "wb") as dst:
        while chunk := src.read(8 * 1024 * 1024):
            dst.write(chunk)
            digest.update(chunk)
            meter.add(len(chunk))
        dst.flush()
        os.fsync(dst.fileno())
    shutil.copystat(source, destination)
    return digest.hexdigest()


def _read_manifest(folder: Path):
    from app.package.reader import read_package

    try:
        return read_package(folder).manifest
    except Exception:  # noqa: BLE001 - only used to describe an already verified package
        return None


def _package_target(folder: Path) -> str | None:
    manifest = _read_manifest(folder)
    return manifest.target if manifest else None


def _package_revision(folder: Path) -> str | None:
    manifest = _read_manifest(folder)
    return manifest.source.revision if manifest else None


def _package_source_key(folder: Path) -> str | None:
    """A package's source key from the input hashes its manifest records (the checkpoint it was made from)."""
    manifest = _read_manifest(folder)
    if manifest is None or not manifest.inputs:
        return None
    return source_key({Path(f.path).name: f.sha256 for f in manifest.inputs})
