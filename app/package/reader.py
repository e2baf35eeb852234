"""Opening an exported package: the one way the engine (and anything else) gets at a package's files.

`read_package` checks that the manifest parses, that every file it lists is present with the recorded size
(cheap, catches truncated copies), and, with `verify=True`, that each SHA-256 matches (slow: reads every
byte; both through app.package.integrity.check_files). Any problem is a PackageError with one sentence
naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.checkpoint.config import GptOssConfig, RopeScaling
from app.json_files import read_json_object
from app.package.integrity import IntegrityError, check_files
from app.package.manifest import (
    DATA_FILE,
    GENAI_CONFIG_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    REQUIRED_FILES,
    TOKENIZER_FILE,
    Manifest,
    PackageError,
)


@dataclass(frozen=True)
class Package:
    """A validated package folder."""

    folder: Path
    manifest: Manifest
    config: GptOssConfig

    @property
    def target(self) -> str:
        return self.manifest.target

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL_FILE

    @property
    def data_path(self) -> Path:
        return self.folder / DATA_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.folder / TOKENIZER_FILE

    @property
    def genai_config_path(self) -> Path:
        return self.folder / GENAI_CONFIG_FILE

    @property
    def io(self) -> dict[str, Any]:
        return self.manifest.io

    @property
    def context_length(self) -> int:
        return self.manifest.context_length


def config_from_manifest(data: dict[str, Any]) -> GptOssConfig:
    """Rebuilds the GptOssConfig the exporter recorded (GptOssConfig.as_dict() output). Manifests of Enclave
    0.1 recorded a single `eos_token_id` and only MXFP4 sources; they read as such."""
    values = dict(data)
    values["rope_scaling"] = RopeScaling(**values.get("rope_scaling", {}))
    values["layer_types"] = tuple(values.get("layer_types", ()))
    if "eos_token_id" in values:
        values["eos_token_ids"] = (values.pop("eos_token_id"),)
    values["eos_token_ids"] = tuple(values.get("eos_token_ids", ()))
    return GptOssConfig(**values)


def read_package(folder: Path, *, verify: bool = False) -> Package:
    """Opens and validates a package folder; `verify` also re-hashes every file against the manifest."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PackageError(f"{folder}: no such model package folder")
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise PackageError(f"{manifest_path}: the manifest is missing; the export did not finish or this is not "
                           "an Enclave model package")
    data = read_json_object(manifest_path, PackageError)
    manifest = Manifest.from_dict(data, manifest_path)
    listed = {entry.path for entry in manifest.files}
    for required in REQUIRED_FILES:
        if required not in listed:
            raise PackageError(f"{manifest_path}: does not list the required file {required}")
    try:
        check_files(folder, manifest.files, hashes=verify)
    except IntegrityError as exc:
        raise PackageError(str(exc)) from exc
    try:
        config = config_from_manifest(manifest.config)
    except (TypeError, ValueError) as exc:
        raise PackageError(f"{manifest_path}: the recorded model configuration is invalid ({exc})") from exc
    return Package(folder=folder, manifest=manifest, config=config)
