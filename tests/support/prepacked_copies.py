"""Making a prepacked copy (app.engine.prepacked) that ORT loads without using its blobs, as one made for another
computer would be: the tests of the load's check need a real one, not a mock of ORT."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import onnx

from app.engine.prepacked import COPY_MODEL, KEY_FILE


def name_foreign_blobs(copy: Path) -> None:
    """Gives every prepacked blob of the copy's graph another hash, as a copy made for another CPU's layout or
    another ORT build names blobs that ORT here never makes (ORT then silently re-packs those weights into
    private memory), and records the new graph in the key so that every check of the key still passes."""
    model_file = copy / COPY_MODEL
    model = onnx.load(str(model_file), load_external_data=False)
    renamed = 0
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key.startswith("prepacked_"):
                kernel, *blobs = entry.value.split("|")
                op, _, digest = kernel.partition("+")
                entry.value = "|".join([f"{op}+{int(digest) ^ 1}", *blobs])
                renamed += 1
    assert renamed >= 10
    onnx.save(model, str(model_file))
    key = json.loads((copy / KEY_FILE).read_text())
    key["model_sha256"] = hashlib.sha256(model_file.read_bytes()).hexdigest()
    (copy / KEY_FILE).write_text(json.dumps(key))
