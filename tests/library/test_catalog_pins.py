"""models/catalog.json: every file a download fetches is pinned (size and SHA-256) at a commit, and a catalog
that is not what this Enclave reads is refused with one sentence instead of guessed around."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from app.checkpoint.weights import METADATA_FILES
from app.model_catalog import CatalogError, load_catalog, parse_catalog


def test_each_official_model_pins_exactly_what_the_exporter_reads() -> None:
    for model in load_catalog():
        names = {f.path for f in model.files}
        assert set(METADATA_FILES) <= names  # config, generation config, index, tokenizer, tokenizer config
        shards = {n for n in names if n.endswith(".safetensors")}
        assert shards and all(n.startswith("model-") for n in shards)
        assert not any(n.startswith(("original", "metal")) for n in names)
        assert len(model.revision) == 40
    twenty = next(m for m in load_catalog() if m.id == "gpt-oss-20b")
    assert round(twenty.checkpoint_bytes / 1e9, 1) == 13.8  # what the first-run screen says


def _raw() -> dict:
    return json.loads(resources.files("models").joinpath("catalog.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("damage, words", [
    (lambda m: m.update(revision="main"), "is not a 40-digit commit id"),
    (lambda m: m["files"][0].update(sha256="abc"), "is not a file name with a size and a SHA-256"),
    (lambda m: m["files"][0].update(path="original/model.safetensors"), "is not a file name"),
    (lambda m: m.pop("files"), "the field 'files' is missing"),
    (lambda m: m["targets"][3].update(min_memory_gb_prepaked=16), "'min_memory_gb_prepaked' is not one this Enclave"),
    (lambda m: m["targets"][3].pop("prepacked_copy_gb_estimate"), "is given without 'prepacked_copy_gb_estimate'"),
    (lambda m: m["targets"][3].update(min_memory_gb_prepacked="16"), "min_memory_gb_prepacked is '16', not a pos"),
    (lambda m: m["targets"][3].update(min_memory_gb_prepacked=True), "min_memory_gb_prepacked is True, not a pos"),
    (lambda m: m["targets"][3].update(min_memory_gb=-1), "target 'cpu-int4': min_memory_gb is -1, not a positive"),
    (lambda m: m["targets"][3].pop("min_memory_gb"), "the field 'min_memory_gb' is missing"),
    (lambda m: m["targets"].append([]), "a target entry is list, not an object"),
])
def test_a_damaged_catalog_entry_is_one_sentence(damage, words) -> None:
    raw = _raw()
    damage(raw["models"][0])
    with pytest.raises(CatalogError, match=words):
        parse_catalog(raw)
    raw = _raw()
    raw["schema"] = 3
    with pytest.raises(CatalogError, match="this Enclave reads 2"):
        parse_catalog(raw)
