"""Every checkpoint form transformers writes exports right, for every target: parity against transformers'
own GptOssForCausalLM on the very folder that was exported.

Forms (tests/support/transformers_checkpoints.py): the Hub's MXFP4 files; the same weights with transformers 5's
config.json (rope_parameters holding rope_theta); a fine-tune saved by transformers with floating-point
experts (bf16 in one model.safetensors, bf16 sharded with an index, fp16, fp32). Targets cpu, cpu-int4 and dml
run on ONNX Runtime's CPU provider; cuda cannot run here, so its structure and its MXFP4 codes are checked.

Measure: the 200-token prompt's last position and 20 single-token decode steps (tests/export/conftest.py);
per position the RMS error over the vocabulary in σ of transformers' logits there (app.reference.compare), the
worst position must stay under the bound, and top-1 must mostly agree. Bounds (TOLERANCE) sit above what was
measured on this machine (printed with -s), which is, as worst σ / median σ / top-1 of 21:

    hub-mxfp4 cpu-int4              0.247 / 0.143 / 16
    transformers5-config cpu        0.018 / 0.013 / 20     (issue 10 measured 1.12 σ when it was ignored)
    transformers5-config cpu-int4   0.247 / 0.143 / 16
    transformers5-config dml        0.000 / 0.000 / 21
    bf16 cpu, bf16-sharded cpu      0.080 / 0.019 / 20     (int8 block-32 experts from bf16; fp16 cpu 0.067 /
                                                            0.019 / 20)
    bf16 cpu-int4                   0.260 / 0.163 / 12
    bf16 dml, fp32 dml              0.155 / 0.068 / 19     (experts re-quantised to MXFP4: most of the
                                                            fine-tune's 3 % moves are below MXFP4's steps)

The tiny model's logits are flat (std ~3 over 201088 tokens), so top-1 flips at small errors; at 20b widths see
the verify measurements in tests/reference/test_verify.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from app.checkpoint import mxfp4
from app.checkpoint.weights import Checkpoint
from app.reference.compare import LogitAgreement, compare_logits
from tests.export.conftest import DECODE_LEN, PROMPT_LEN, export_tiny
from tests.support.ort_runner import PackageRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

# (target, experts of the source) -> (worst per-position RMS error in σ, least top-1 agreement of 21 positions)
TOLERANCE: dict[tuple[str, str], tuple[float, int]] = {
    ("cpu", "mxfp4"): (0.06, 19),
    ("cpu", "float"): (0.15, 18),
    ("cpu-int4", "mxfp4"): (0.35, 8),
    ("cpu-int4", "float"): (0.35, 8),
    ("dml", "mxfp4"): (0.001, 21),
    ("dml", "float"): (0.18, 15),
}

FORMS = ("hub-mxfp4", "transformers5-config", "bf16", "bf16-sharded", "fp16", "fp32")
CASES = [("hub-mxfp4", "cpu-int4")] + [
    ("transformers5-config", "cpu"), ("transformers5-config", "cpu-int4"), ("transformers5-config", "dml"),
    ("bf16", "cpu"), ("bf16", "cpu-int4"), ("bf16", "dml"),
    ("bf16-sharded", "cpu"), ("fp16", "cpu"), ("fp32", "dml"),
]


@pytest.fixture(scope="module")
def form_folder(request: pytest.FixtureRequest, tiny_checkpoint: Path):  # noqa: ANN201
    def folder(form: str) -> Path:
        if form == "hub-mxfp4":
            return tiny_checkpoint
        if form == "transformers5-config":
            return request.getfixturevalue("transformers_config_checkpoint")
        make = request.getfixturevalue("finetune_checkpoint")
        return make({"bf16": "bfloat16", "bf16-sharded": "bfloat16", "fp16": "float16", "fp32": "float32"}[form],
                    sharded=form == "bf16-sharded")

    return folder


@pytest.fixture(scope="module")
def transformers_logits(reference):  # noqa: ANN001, ANN201 - the shared prompt
    import torch

    from tests.support.test_models import load_reference_model

    cache: dict[Path, np.ndarray] = {}

    def logits(folder: Path) -> np.ndarray:
        if folder not in cache:
            model = load_reference_model(folder)
            with torch.no_grad():
                cache[folder] = model(torch.tensor([reference.ids])).logits[0, PROMPT_LEN - 1:].float().numpy()
        return cache[folder]

    return logits


def _agreement(package: Path, ids: list[int], expected: np.ndarray) -> LogitAgreement:
    runner = PackageRunner(package, max_length=PROMPT_LEN + DECODE_LEN + 8)
    outputs = runner.prefill_and_decode(ids[:PROMPT_LEN], ids[PROMPT_LEN:])
    return compare_logits(np.stack(outputs), expected)


def test_the_forms_are_what_they_claim(form_folder) -> None:  # noqa: ANN001
    """The fixtures really are transformers' forms: rope_parameters without a top-level rope_theta, and
    floating-point experts in the dtype asked for, with and without an index."""
    import json

    config = json.loads((form_folder("transformers5-config") / "config.json").read_text())
    assert "rope_parameters" in config and "rope_theta" in config["rope_parameters"] and "rope_theta" not in config
    for form, dtype, index in (("bf16", "BF16", False), ("bf16-sharded", "BF16", True), ("fp16", "F16", False),
                               ("fp32", "F32", False)):
        folder = form_folder(form)
        checkpoint = Checkpoint.open(folder)
        assert not checkpoint.experts_are_mxfp4
        assert checkpoint.tensor_dtype("model.layers.0.mlp.experts.gate_up_proj") == dtype
        assert (folder / "model.safetensors.index.json").is_file() == index
        assert "quantization_config" not in json.loads((folder / "config.json").read_text())


@pytest.mark.parametrize(("form", "target"), CASES, ids=[f"{f}-{t}" for f, t in CASES])
def test_package_matches_transformers(form: str, target: str, form_folder, transformers_logits, reference,  # noqa: ANN001
                                      tmp_path: Path) -> None:
    folder = form_folder(form)
    package = export_tiny(folder, tmp_path / "pkg", target)
    agreement = _agreement(package, reference.ids, transformers_logits(folder))
    print(f"{form} {target}: {agreement.summary()}")
    worst, top1 = TOLERANCE[(target, "mxfp4" if Checkpoint.open(folder).experts_are_mxfp4 else "float")]
    assert agreement.worst < worst and agreement.top1_agreement >= top1, agreement.summary()


def test_cuda_package_from_floating_point_experts_holds_their_mxfp4_codes(form_folder, tmp_path: Path) -> None:  # noqa: ANN001
    """cuda cannot run here: its QMoE weights, decoded by hand, must be app.checkpoint.mxfp4.encode of the
    fine-tune's bf16 experts (an exact comparison), and within MXFP4's rounding of them."""
    folder = form_folder("bf16")
    package = export_tiny(folder, tmp_path / "cuda", "cuda")
    model = onnx.load(str(package / "model.onnx"), load_external_data=False)
    checkpoint = Checkpoint.open(folder)
    cfg = checkpoint.config
    qmoe = [n for n in model.graph.node if n.op_type == "QMoE"]
    inits = {t.name: t for t in model.graph.initializer}
    e, h, i = cfg.num_local_experts, cfg.hidden_size, cfg.intermediate_size
    for layer, node in enumerate(qmoe):
        for proj, (w_in, s_in), (n, k) in (("gate_up", (2, 3), (2 * i, h)), ("down", (5, 6), (h, i))):
            packed = _external(package, inits[node.input[w_in]]).reshape(e, k, n // 2)
            scales = _external(package, inits[node.input[s_in]]).reshape(e, n, k // 32)
            codes = np.empty((e, k, n), dtype=np.uint8)
            codes[..., 0::2], codes[..., 1::2] = packed & 0x0F, packed >> 4
            blocks = mxfp4.pack_nibbles(codes.transpose(0, 2, 1))
            values = checkpoint.experts_f32(layer, proj)
            expected_blocks, expected_scales = mxfp4.encode(values)
            np.testing.assert_array_equal(blocks, expected_blocks)
            np.testing.assert_array_equal(scales, expected_scales)
            decoded = mxfp4.decode(blocks, scales)
            assert np.sqrt(np.mean((decoded - values) ** 2)) < 0.1 * values.std()


def _external(package: Path, tensor: onnx.TensorProto) -> np.ndarray:
    if tensor.raw_data:
        return np.frombuffer(tensor.raw_data, np.uint8)
    info = {e.key: e.value for e in tensor.external_data}
    with open(package / info["location"], "rb") as handle:
        handle.seek(int(info["offset"]))
        return np.frombuffer(handle.read(int(info["length"])), np.uint8)
