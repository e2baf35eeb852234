"""onnxruntime-genai 0.18 runs our cpu package as it is, and its logits agree with our own driver's.

Measured on the tiny model: prefill 7e-5, decode up to 0.11 (the int8 activations of QMoE and of the int8
MatMulNBits projections and lm_head round differently when the last float32 bits differ, as they do when the
KV buffer is bound differently); tolerance 0.3, against 2-15 for a wrong cache position or window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.export.conftest import Reference
from tests.support.ort_runner import PackageRunner

og = pytest.importorskip("onnxruntime_genai")

GENAI_TOL = 0.3
PROMPT = 140  # longer than the 128-token window
STEPS = 8


def test_onnxruntime_genai_loads_and_agrees(cpu_package: Path, reference: Reference) -> None:
    model = og.Model(str(cpu_package))
    params = og.GeneratorParams(model)
    params.set_search_options(max_length=PROMPT + STEPS + 8, do_sample=False)
    generator = og.Generator(model, params)
    ids = reference.ids[:PROMPT + STEPS]
    ours = PackageRunner(cpu_package, max_length=PROMPT + STEPS + 8)

    generator.append_tokens(np.array([ids[:PROMPT]], dtype=np.int32))
    errors = [np.max(np.abs(np.asarray(generator.get_logits()).reshape(-1) - ours.step(ids[:PROMPT])))]
    for token in ids[PROMPT:]:
        generator.append_tokens(np.array([[token]], dtype=np.int32))
        errors.append(np.max(np.abs(np.asarray(generator.get_logits()).reshape(-1) - ours.step([token]))))
    assert max(errors) < GENAI_TOL, errors
