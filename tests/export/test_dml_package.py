"""The exported `dml` package end to end: only DirectML operators, 4-bit-sized, and the same logits as
transformers' GptOssForCausalLM on the same tiny MXFP4 checkpoint (run on ORT's CPU provider).

Tolerance: |logit difference| <= 5e-4 (logits have magnitude ~15). The graph computes in float32 and dequantises
MXFP4 exactly; what is left is float32 summation order (measured ~3e-5).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from app.export.context import ExportOptions
from app.export.dml_operators import all_nodes, check_model, typed_graph
from app.export.exporter import export_model
from app.package.reader import read_package
from tests.export.dml_reference import cpu_session
from tests.support.test_models import load_reference_model

LOGIT_ATOL = 5e-4
PROMPT = 150  # longer than the 128-token sliding window
DECODE = 6
MAX_SIZE_RATIO = 1.3  # the bound: package bytes / MXFP4 checkpoint bytes


@pytest.fixture(scope="module")
def token_ids() -> np.ndarray:
    return np.random.default_rng(2).integers(0, 200_000, PROMPT + DECODE)


@pytest.fixture(scope="module")
def reference_logits(tiny_checkpoint: Path, token_ids: np.ndarray) -> np.ndarray:
    """transformers' float32 logits at every position of the whole sequence (one forward pass)."""
    import torch

    model = load_reference_model(tiny_checkpoint)
    with torch.no_grad():
        return model(torch.tensor(token_ids[None])).logits[0].numpy()


@pytest.fixture(scope="module")
def dml_package(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_model(tiny_checkpoint, tmp_path_factory.mktemp("dml") / "package", "dml").folder


def _generate(package: Path, token_ids: np.ndarray) -> list[np.ndarray]:
    """Last-position logits after the prompt, then after each decode step, feeding the concat KV cache."""
    pkg = read_package(package)
    assert pkg.io["kv_layout"] == "concat"
    cfg = pkg.config
    session = cpu_session(str(pkg.model_path))
    names = [o.name for o in session.get_outputs()]
    empty = np.zeros((1, cfg.num_key_value_heads, 0, cfg.head_dim), np.float32)
    cache = {f"past_key_values.{i}.{kind}": empty for i in range(cfg.num_hidden_layers) for kind in ("key", "value")}
    logits = []
    start = 0
    for end in [PROMPT] + list(range(PROMPT + 1, PROMPT + DECODE + 1)):
        feed = {"input_ids": token_ids[None, start:end], "attention_mask": np.ones((1, end), np.int64), **cache}
        result = dict(zip(names, session.run(None, feed)))
        assert result["logits"].shape == (1, 1, cfg.vocab_size)
        logits.append(result["logits"][0, 0])
        cache = {f"past_key_values.{i}.{kind}": result[f"present.{i}.{kind}"]
                 for i in range(cfg.num_hidden_layers) for kind in ("key", "value")}
        start = end
    return logits


def _max_error(logits: list[np.ndarray], reference: np.ndarray) -> float:
    positions = [PROMPT - 1] + list(range(PROMPT, PROMPT + DECODE))
    return max(float(np.abs(got - reference[pos]).max()) for got, pos in zip(logits, positions))


def test_every_node_has_a_directml_kernel(dml_package: Path) -> None:
    model = onnx.load(str(dml_package / "model.onnx"), load_external_data=False)
    assert check_model(model) == []
    # The element-type half of the check is only as good as type inference: every value must be typed.
    inferred, types = typed_graph(model)
    untyped = {v for node in all_nodes(inferred.graph) for v in [*node.input, *node.output] if v and v not in types}
    assert not untyped
    ops = {(n.domain or "ai.onnx", n.op_type) for n in model.graph.node}
    assert ("com.microsoft", "GroupQueryAttention") not in ops and ("com.microsoft", "QMoE") not in ops


def test_package_is_at_most_1_3x_the_mxfp4_checkpoint(dml_package: Path, tiny_checkpoint: Path) -> None:
    package = sum(f.stat().st_size for f in dml_package.glob("model.onnx*"))
    checkpoint = sum(f.stat().st_size for f in tiny_checkpoint.glob("*.safetensors"))
    assert package <= MAX_SIZE_RATIO * checkpoint, f"package {package} B is {package / checkpoint:.2f}x the checkpoint"


def test_prefill_and_decode_match_transformers(dml_package: Path, token_ids: np.ndarray,
                                               reference_logits: np.ndarray) -> None:
    logits = _generate(dml_package, token_ids)
    assert _max_error(logits, reference_logits) <= LOGIT_ATOL


@pytest.mark.parametrize("mutation", ["debug_window_offset", "debug_no_yarn", "debug_drop_sinks",
                                      "debug_no_swiglu_limit", "debug_swap_nibbles", "debug_swap_experts"])
def test_each_mutation_breaks_parity(tiny_checkpoint: Path, tmp_path: Path, token_ids: np.ndarray,
                                     reference_logits: np.ndarray, mutation: str) -> None:
    """The parity test is sensitive: every deliberate bug moves the logits far past the tolerance."""
    value = 1 if mutation == "debug_window_offset" else True
    package = export_model(tiny_checkpoint, tmp_path / "package", "dml",
                           options=ExportOptions(**{mutation: value})).folder
    assert _max_error(_generate(package, token_ids), reference_logits) > 20 * LOGIT_ATOL
