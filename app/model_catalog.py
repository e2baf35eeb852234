"""The catalog of supported models (`models/catalog.json`), read through importlib.resources so it works frozen."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class TargetAdvice:
    target: str
    suits: str
    min_memory_gb: float
    package_gb_estimate: float


@dataclass(frozen=True)
class CatalogModel:
    id: str
    name: str
    hub_repo: str
    license: str
    parameters_total: int
    parameters_active: int
    layers: int
    experts: int
    context_length: int
    checkpoint_bytes: int
    targets: tuple[TargetAdvice, ...]


def load_catalog() -> tuple[CatalogModel, ...]:
    """All models in the catalog, in the order listed."""
    raw = json.loads(resources.files("models").joinpath("catalog.json").read_text(encoding="utf-8"))
    return tuple(
        CatalogModel(
            id=m["id"], name=m["name"], hub_repo=m["hub_repo"], license=m["license"],
            parameters_total=int(m["parameters_total"]), parameters_active=int(m["parameters_active"]),
            layers=int(m["layers"]), experts=int(m["experts"]), context_length=int(m["context_length"]),
            checkpoint_bytes=int(m["checkpoint_bytes"]),
            targets=tuple(TargetAdvice(t["target"], t["suits"], float(t["min_memory_gb"]),
                                       float(t["package_gb_estimate"])) for t in m["targets"]),
        )
        for m in raw["models"]
    )


def find_model(model_id: str) -> CatalogModel:
    for model in load_catalog():
        if model.id == model_id:
            return model
    raise KeyError(f"no model {model_id!r} in the catalog")
