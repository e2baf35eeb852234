"""What this computer knows about its packages, kept outside them: where each one's checkpoint lives, and
how each one fared under `enclave verify` on each execution provider.

Packages are copied between machines, so a manifest names its source only by name, revision and the hashes of
its files, never by a path (which would carry the user's home folder name to wherever the package goes). The
exporter writes this record instead, in the user's data folder: for each package, the checkpoint folder and
the size and modification time of each of its input files at export time. `enclave verify` uses it to find
the checkpoint without being told, and to skip re-hashing 13-65 GB when no file changed since the export
(the exporter hashed exactly those files into the manifest).

A package is identified by the SHA-256 of its files' recorded SHA-256 (package_key): the same package copied
elsewhere keeps its record. Exporting the same checkpoint twice gives the same bytes, so one package may
have several recorded folders (copies of the checkpoint); the newest comes first.

Verdicts let the app verify a package once per provider (after a conversion, the first time it runs on a GPU)
instead of on every start; a package whose bytes change is another package, with no verdict yet.

Both live in one JSON file (`{"sources": {key: [...]}, "verdicts": {key: {provider: {...}}}}`), replaced
atomically on every write. It is a cache of facts, so an unreadable file reads as empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from app.package.integrity import resolve_entry
from app.package.manifest import Manifest

RECORD_FILE = "package-records.json"
MAX_FOLDERS = 4  # recorded checkpoint folders per package


def default_record_path() -> Path:
    return Path(platformdirs.user_data_dir("Enclave", "Enclave")) / RECORD_FILE


def package_key(manifest: Manifest) -> str:
    """The package's identity: a SHA-256 over its files' recorded SHA-256 (graph and weights alike: a window
    changed in model.onnx alone makes another package)."""
    listing = "\n".join(f"{entry.path} {entry.sha256}" for entry in sorted(manifest.files, key=lambda e: e.path))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SourceRecord:
    """The checkpoint folder a package was exported from, and its input files' (size, mtime_ns) then."""

    folder: Path
    files: dict[str, tuple[int, int]]

    def unchanged(self, manifest: Manifest) -> bool:
        """True when every input the manifest lists is still in the folder with the size and modification time
        it had at export time (so its recorded hash still describes it)."""
        if {entry.path for entry in manifest.inputs} != set(self.files):
            return False
        for entry in manifest.inputs:
            try:
                stat = resolve_entry(self.folder, entry.path).stat()
            except (OSError, ValueError):
                return False
            if (stat.st_size, stat.st_mtime_ns) != tuple(self.files[entry.path]) or stat.st_size != entry.size:
                return False
        return True


def remember_source(manifest: Manifest, folder: Path, *, path: Path | None = None) -> bool:
    """Records where `manifest`'s checkpoint is. Called by the exporter; best effort, returning False when the
    record cannot be written (a read-only data folder must not fail an export: verify then needs --against)."""
    folder = Path(folder).resolve()
    target = path or default_record_path()
    try:
        files = {}
        for entry in manifest.inputs:
            stat = (folder / entry.path).stat()
            files[entry.path] = (stat.st_size, stat.st_mtime_ns)
        records = _load(target)
        sources = _section(records, "sources")
        key = package_key(manifest)
        earlier = [e for e in _entries(sources.get(key)) if e.get("folder") != str(folder)]
        sources[key] = [{"folder": str(folder), "files": files}, *earlier][:MAX_FOLDERS]
        _save(target, records)
    except OSError:
        return False
    return True


def recall_sources(manifest: Manifest, *, path: Path | None = None) -> list[SourceRecord]:
    """The recorded checkpoint folders of this package on this computer, newest first (maybe none)."""
    try:
        entries = _entries(_section(_load(path or default_record_path()), "sources").get(package_key(manifest)))
    except ValueError:
        return []
    found = []
    for entry in entries:
        try:
            files = {str(k): (int(v[0]), int(v[1])) for k, v in dict(entry["files"]).items()}
            found.append(SourceRecord(Path(str(entry["folder"])), files))
        except (ValueError, KeyError, TypeError, IndexError):
            continue
    return found


@dataclass(frozen=True)
class Verdict:
    """How a package fared under `enclave verify` on one provider."""

    passed: bool
    sentence: str  # the result as the user was told it
    when: str  # UTC, ISO 8601


def remember_verdict(manifest: Manifest, provider: str, passed: bool, sentence: str, *,
                     path: Path | None = None) -> bool:
    """Records a verification result (best effort, like remember_source)."""
    target = path or default_record_path()
    try:
        records = _load(target)
        verdicts = _section(records, "verdicts")
        per_provider = verdicts.get(package_key(manifest))
        per_provider = per_provider if isinstance(per_provider, dict) else {}
        per_provider[provider] = {"passed": passed, "sentence": sentence,
                                  "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        verdicts[package_key(manifest)] = per_provider
        _save(target, records)
    except OSError:
        return False
    return True


def recall_verdict(manifest: Manifest, provider: str, *, path: Path | None = None) -> Verdict | None:
    try:
        entry = _section(_load(path or default_record_path()), "verdicts").get(package_key(manifest), {})
        found = entry.get(provider) if isinstance(entry, dict) else None
        if not isinstance(found, dict) or not isinstance(found.get("passed"), bool):
            return None
        return Verdict(found["passed"], str(found.get("sentence", "")), str(found.get("when", "")))
    except ValueError:
        return None


def _entries(value: object) -> list[dict]:
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def _section(records: dict[str, object], name: str) -> dict[str, object]:
    section = records.get(name)
    if not isinstance(section, dict):
        section = records[name] = {}
    return section


def _save(path: Path, records: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".records-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(records, out, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load(path: Path) -> dict[str, object]:
    """The whole record (an unreadable or foreign file reads as empty: it is a cache of facts, not data)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
