"""manifest.json: what a package is, where it came from, and how the engine must drive its graph.

The exporter writes it last (after every other file is complete and hashed), so a package with a valid
manifest is a finished package. The engine reads it through `app.package.reader.read_package`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.package.integrity import sha256_file
from app.package.targets import TARGETS

FORMAT_NAME = "enclave-gpt-oss-onnx"
# 2: the source is named by name and revision only (no folder: packages travel between machines). Version 1
# manifests (Enclave 0.1) are still read: their source.folder is kept as a hint for `enclave verify` only.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
MANIFEST_FILE = "manifest.json"
MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"
TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
GENAI_CONFIG_FILE = "genai_config.json"
REQUIRED_FILES = (MODEL_FILE, DATA_FILE, TOKENIZER_FILE, GENAI_CONFIG_FILE)



class PackageError(ValueError):
    """A package folder is missing, incomplete or corrupt; the message is one sentence naming the file."""


@dataclass(frozen=True)
class FileEntry:
    """One file with its size and SHA-256; `path` is relative to the package (or to the source folder)."""

    path: str
    size: int
    sha256: str

    @classmethod
    def of(cls, root: Path, path: Path) -> FileEntry:
        return cls(path=path.relative_to(root).as_posix(), size=path.stat().st_size, sha256=sha256_file(path))


@dataclass(frozen=True)
class SourceModel:
    name: str  # e.g. "openai/gpt-oss-20b" or the folder name
    revision: str | None = None  # the Hugging Face commit when the folder is a hub snapshot
    # Only in format-1 manifests (an absolute path on the exporting machine); never written any more. Where the
    # checkpoint is on this computer is kept outside the package (app.package.local_record).
    legacy_folder: str | None = None


@dataclass(frozen=True)
class Manifest:
    """Everything manifest.json holds. `io` tells the engine how to feed the graph (see app.export.graph)."""

    target: str
    exporter_version: str
    source: SourceModel
    inputs: tuple[FileEntry, ...]
    files: tuple[FileEntry, ...]
    dtypes: dict[str, str]
    context_length: int
    config: dict[str, Any]
    io: dict[str, Any]
    created_utc: str = ""
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    notes: tuple[str, ...] = field(default_factory=tuple)

    def file(self, name: str) -> FileEntry | None:
        return next((f for f in self.files if f.path == name), None)

    def to_json(self) -> str:
        data = asdict(self)
        data["source"] = {"name": self.source.name, "revision": self.source.revision}
        data["inputs"] = [asdict(f) for f in self.inputs]
        data["files"] = [asdict(f) for f in self.files]
        data["notes"] = list(self.notes)
        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: Path) -> Manifest:
        """Parses a manifest, naming `where` and the field in every error."""
        if data.get("format") != FORMAT_NAME:
            raise PackageError(f"{where}: format is {data.get('format')!r}, expected {FORMAT_NAME!r}")
        version = data.get("format_version")
        if version not in READABLE_VERSIONS:
            raise PackageError(f"{where}: format_version {version!r} is not supported (this Enclave reads "
                               f"{' and '.join(map(str, READABLE_VERSIONS))}); re-export the model")
        try:
            target = str(data["target"])
            if target not in TARGETS:
                raise PackageError(f"{where}: unknown target {target!r}")
            return cls(
                target=target,
                exporter_version=str(data["exporter_version"]),
                source=_source(data["source"]),
                inputs=tuple(FileEntry(**f) for f in data["inputs"]),
                files=tuple(FileEntry(**f) for f in data["files"]),
                dtypes=dict(data["dtypes"]),
                context_length=int(data["context_length"]),
                config=dict(data["config"]),
                io=dict(data["io"]),
                created_utc=str(data.get("created_utc", "")),
                notes=tuple(data.get("notes", ())),
                format_version=int(version),
            )
        except KeyError as exc:
            raise PackageError(f"{where}: the field {exc.args[0]!r} is missing") from exc
        except (TypeError, ValueError) as exc:
            if isinstance(exc, PackageError):
                raise
            raise PackageError(f"{where}: a field has the wrong type ({exc})") from exc


def _source(data: dict[str, Any]) -> SourceModel:
    return SourceModel(name=str(data["name"]), revision=None if data.get("revision") is None else str(data["revision"]),
                       legacy_folder=None if data.get("folder") is None else str(data["folder"]))


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Writes manifest.json into `folder` (flushed to disk: it marks the package as complete)."""
    path = Path(folder) / MANIFEST_FILE
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(manifest.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    return path
