"""The catalog of supported models (`models/catalog.json`), read through importlib.resources so it works frozen.

Each model names its Hugging Face repository, the commit Enclave downloads (never a moving branch), and the size
and SHA-256 of every file it fetches from that commit: a download or an import of the official checkpoint is
checked against these pins, whatever a mirror says. The file is ours, so anything unexpected in it is a bug and
refused with a sentence instead of being guessed around.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

CATALOG_SCHEMA = 2
_ADVICE_FIELDS = ("min_memory_gb", "package_gb_estimate")
_COPY_FIELDS = ("min_memory_gb_prepacked", "prepacked_copy_gb_estimate")  # both or neither
_COMMIT = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class CatalogError(ValueError):
    """models/catalog.json is not what this Enclave reads (one sentence naming the entry)."""


@dataclass(frozen=True)
class TargetAdvice:
    """What the catalog tells a user about one target of a model (app.package.footprint's figures, rounded).

    `min_memory_gb_prepacked` and `prepacked_copy_gb_estimate` (CPU targets): the RAM once Enclave has made the
    package's memory-mapped prepacked copy (app.engine.prepacked), and the disk that copy takes besides the
    package; None where the target has no copies."""

    target: str
    suits: str
    min_memory_gb: float
    package_gb_estimate: float
    min_memory_gb_prepacked: float | None = None
    prepacked_copy_gb_estimate: float | None = None


@dataclass(frozen=True)
class PinnedFile:
    """One file of the pinned revision: what a download or an import must find, byte for byte."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class CatalogModel:
    id: str
    name: str
    hub_repo: str
    revision: str  # the commit downloads are pinned to
    license: str
    parameters_total: int
    parameters_active: int
    layers: int
    experts: int
    context_length: int
    files: tuple[PinnedFile, ...]
    targets: tuple[TargetAdvice, ...]

    @property
    def checkpoint_bytes(self) -> int:
        """What a download of the model fetches (every pinned file)."""
        return sum(f.size for f in self.files)

    def pinned(self, path: str) -> PinnedFile | None:
        return next((f for f in self.files if f.path == path), None)

    def target_advice(self, target: str) -> TargetAdvice | None:
        return next((t for t in self.targets if t.target == target), None)


def load_catalog() -> tuple[CatalogModel, ...]:
    """All models in the catalog, in the order listed."""
    raw = json.loads(resources.files("models").joinpath("catalog.json").read_text(encoding="utf-8"))
    return parse_catalog(raw)


def parse_catalog(raw: Any) -> tuple[CatalogModel, ...]:
    if not isinstance(raw, dict) or raw.get("schema") != CATALOG_SCHEMA:
        raise CatalogError(f"models/catalog.json: schema is {raw.get('schema') if isinstance(raw, dict) else None!r}, "
                           f"this Enclave reads {CATALOG_SCHEMA}")
    return tuple(_model(m) for m in raw["models"])


def _model(m: dict[str, Any]) -> CatalogModel:
    where = f"models/catalog.json model {m.get('id')!r}"
    try:
        revision = str(m["revision"])
        if not _COMMIT.fullmatch(revision):
            raise CatalogError(f"{where}: revision {revision!r} is not a 40-digit commit id")
        files = tuple(PinnedFile(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in m["files"])
        for f in files:
            if not _SHA256.fullmatch(f.sha256) or f.size <= 0 or "/" in f.path or f.path.startswith("."):
                raise CatalogError(f"{where}: the pin for {f.path!r} is not a file name with a size and a SHA-256")
        return CatalogModel(
            id=str(m["id"]), name=str(m["name"]), hub_repo=str(m["hub_repo"]), revision=revision,
            license=str(m["license"]), parameters_total=int(m["parameters_total"]),
            parameters_active=int(m["parameters_active"]), layers=int(m["layers"]), experts=int(m["experts"]),
            context_length=int(m["context_length"]), files=files,
            targets=tuple(_advice(t, where) for t in m["targets"]),
        )
    except KeyError as exc:
        raise CatalogError(f"{where}: the field {exc.args[0]!r} is missing") from exc
    except (TypeError, ValueError) as exc:
        if isinstance(exc, CatalogError):
            raise
        raise CatalogError(f"{where}: a field has the wrong type ({exc})") from exc


def _advice(t: dict[str, Any], where: str) -> TargetAdvice:
    """One target's advice; a field this Enclave does not read, half of the copy's figures or a size that is not a
    positive number is refused (a typo would otherwise drop the advice silently)."""
    if not isinstance(t, dict):
        raise CatalogError(f"{where}: a target entry is {type(t).__name__}, not an object")
    where = f"{where} target {t.get('target')!r}"
    unknown = sorted(set(t) - {"target", "suits", *_ADVICE_FIELDS, *_COPY_FIELDS})
    if unknown:
        raise CatalogError(f"{where}: the field {unknown[0]!r} is not one this Enclave reads")
    copy = [name for name in _COPY_FIELDS if name in t]
    if copy and len(copy) != len(_COPY_FIELDS):
        missing = next(name for name in _COPY_FIELDS if name not in t)
        raise CatalogError(f"{where}: {copy[0]!r} is given without {missing!r}")
    sizes = {name: _gigabytes(t[name], where, name) for name in (*_ADVICE_FIELDS, *copy)}
    return TargetAdvice(str(t["target"]), str(t["suits"]), **sizes)


def _gigabytes(value: Any, where: str, name: str) -> float:
    if type(value) not in (int, float) or not 0 < value < float("inf"):
        raise CatalogError(f"{where}: {name} is {value!r}, not a positive number of GB")
    return float(value)


def find_model(model_id: str) -> CatalogModel:
    for model in load_catalog():
        if model.id == model_id:
            return model
    raise KeyError(f"no model {model_id!r} in the catalog")


def find_by_repo(repo_id: str) -> CatalogModel | None:
    """The catalog model published in `repo_id` (case-insensitive, as the Hub treats repo names), if any."""
    return next((m for m in load_catalog() if m.hub_repo.lower() == repo_id.lower()), None)
