"""The exported `dml` package end to end: only DirectML operators, 4-bit-sized, and the same logits as
transformers' GptOssForCausalLM on the same tiny MXFP4 checkpoint (run on ORT's CPU provider).

Tolerance: max |logit difference| over the 200-token prompt's last position and 20 single-token decode steps
(tests/export/conftest.py; both past the 128-token window) <= DML_TOL = 2e-4, for logits of max ~17. The dml
graph computes in float32 and dequantises MXFP4 exactly, so what is left is float32 summation order:
measured 3.2e-5 to 5.6e-5 over three prompts. Every mutation must move the logits by more than
MUTATION_MIN = 1.5 (the `cpu` parity tests' threshold); measured 6.5 (sinks dropped) to 16.6 (nibbles swapped).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import onnx
import pytest

from app.engine.generator import GenerationConfig, Generator
from app.engine.session import LoadError, load_model
from app.export.context import ExportOptions
from app.export.dml_operators import all_nodes, check_model, typed_graph
from app.export.exporter import export_model
from tests.export.conftest import DECODE_LEN, PROMPT_LEN, Reference, export_tiny
from tests.support.ort_runner import PackageRunner

DML_TOL = 2e-4
MUTATION_MIN = 1.5
MAX_SIZE_RATIO = 1.3  # the bound: package bytes / MXFP4 checkpoint bytes


@pytest.fixture(scope="module")
def dml_package(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tiny(tiny_checkpoint, tmp_path_factory.mktemp("export") / "tiny-dml", "dml")


def _max_error(package: Path, reference: Reference) -> float:
    runner = PackageRunner(package, max_length=PROMPT_LEN + DECODE_LEN)
    assert runner.package.io["kv_layout"] == "concat"
    outputs = runner.prefill_and_decode(reference.ids[:PROMPT_LEN], reference.ids[PROMPT_LEN:])
    return float(np.max(np.abs(np.stack(outputs) - reference.expected())))


def test_every_node_has_a_directml_kernel(dml_package: Path) -> None:
    model = onnx.load(str(dml_package / "model.onnx"), load_external_data=False)
    assert check_model(model) == []
    ops = {(n.domain or "ai.onnx", n.op_type) for n in all_nodes(model.graph)}
    assert ("com.microsoft", "GroupQueryAttention") not in ops and ("com.microsoft", "QMoE") not in ops
    # The element-type half of the check is only as good as type inference: every value must be typed.
    inferred, types = typed_graph(model)
    untyped = {v for node in all_nodes(inferred.graph) for v in [*node.input, *node.output] if v and v not in types}
    assert not untyped


def test_package_is_at_most_1_3x_the_mxfp4_checkpoint(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """At the model's full context (131072): nothing in a dml package grows with the context length."""
    package_dir = export_model(tiny_checkpoint, tmp_path / "full-context", "dml").folder
    package = sum(f.stat().st_size for f in package_dir.glob("model.onnx*"))
    checkpoint = sum(f.stat().st_size for f in tiny_checkpoint.glob("*.safetensors"))
    assert package <= MAX_SIZE_RATIO * checkpoint, f"package {package} B is {package / checkpoint:.2f}x the checkpoint"


def test_prefill_and_decode_match_transformers(dml_package: Path, reference: Reference) -> None:
    assert _max_error(dml_package, reference) <= DML_TOL


def test_prefill_in_chunks_equals_one_prefill(dml_package: Path, reference: Reference) -> None:
    """Multi-token steps on top of a cache (chunked prefill) take the per-expert path with a past: same logits."""
    runner = PackageRunner(dml_package, max_length=PROMPT_LEN + DECODE_LEN)
    runner.step(reference.ids[:150])
    logits = runner.step(reference.ids[150:PROMPT_LEN])
    assert np.max(np.abs(logits - reference.logits[PROMPT_LEN - 1])) <= DML_TOL


def _mutations() -> list[dict[str, object]]:
    """Every debug_* knob of ExportOptions (so a new one is covered automatically); the window both ways."""
    knobs = [f.name for f in fields(ExportOptions) if f.name.startswith("debug_")]
    return [{knob: value} for knob in knobs for value in ((1, -1) if knob == "debug_window_offset" else (True,))]


@pytest.mark.parametrize("mutation", _mutations(), ids=lambda m: "".join(f"{k[6:]}={v}" for k, v in m.items()))
def test_each_mutation_breaks_parity(mutation: dict[str, object], tiny_checkpoint: Path, reference: Reference,
                                     tmp_path: Path) -> None:
    """The parity test is sensitive: every deliberate bug moves the logits far past the tolerance."""
    package = export_tiny(tiny_checkpoint, tmp_path / "mutant", "dml", **mutation)
    assert _max_error(package, reference) > MUTATION_MIN


def test_onnxruntime_genai_runs_the_dml_package(dml_package: Path, reference: Reference) -> None:
    """onnxruntime-genai 0.18 drives the concat-cache graph as it is (its DirectML provider option cleared, so
    it runs on CPU here) and gets our driver's logits exactly: measured difference 0.0."""
    og = pytest.importorskip("onnxruntime_genai")
    config = og.Config(str(dml_package))
    config.clear_providers()
    model = og.Model(config)
    params = og.GeneratorParams(model)
    params.set_search_options(max_length=PROMPT_LEN + 16, do_sample=False)
    generator = og.Generator(model, params)
    ours = PackageRunner(dml_package, max_length=PROMPT_LEN + 16)
    ids = reference.ids
    generator.append_tokens(np.array([ids[:PROMPT_LEN]], dtype=np.int32))
    errors = [np.abs(np.asarray(generator.get_logits()).reshape(-1) - ours.step(ids[:PROMPT_LEN])).max()]
    for token in ids[PROMPT_LEN:PROMPT_LEN + 4]:
        generator.append_tokens(np.array([[token]], dtype=np.int32))
        errors.append(np.abs(np.asarray(generator.get_logits()).reshape(-1) - ours.step([token])).max())
    assert max(errors) <= DML_TOL, errors


def test_the_engine_runs_the_dml_package_on_cpu_when_asked(dml_package: Path, reference: Reference) -> None:
    """The engine's own driver (IO binding, concat cache re-bound each step) on the dml graph: never picked for
    CPU on its own, but an explicit CPU request runs it with a note, with the same logits as transformers."""
    with pytest.raises(LoadError, match="ask for CPU explicitly"):
        load_model(dml_package)
    model = load_model(dml_package, provider="cpu", max_length=PROMPT_LEN + DECODE_LEN, threads=2)
    assert model.kv_spec.layout == "concat" and "DirectML" in model.provider.note
    generator = Generator(model)
    rows = [generator.forward(reference.ids[:PROMPT_LEN]).copy()]
    rows += [generator.forward([token]).copy() for token in reference.ids[PROMPT_LEN:]]
    assert np.max(np.abs(np.stack(rows) - reference.expected())) <= DML_TOL

    # A concat cache cannot be truncated: a turn that shares only a prefix re-prefills, and matches a cold start.
    # Both turns after the forwards above share a prefix with the cache, so both rewind it (an emptied cache
    # whose binding kept the old pasts made the first of them fail "while reading the prompt").
    config = GenerationConfig(max_new_tokens=6, ignore_eos=True)
    first = list(generator.generate(reference.ids[:120], None, config))
    assert first[-1].error is None and len(first) == 6
    second = reference.ids[:90] + reference.ids[150:180]
    warm = list(generator.generate(second, None, config))
    cold = list(Generator(model).generate(second, None, config))
    assert warm[-1].error is None and warm[-1].cached_tokens == 0
    assert [e.token_ids for e in warm] == [e.token_ids for e in cold] and len(warm) == 6
