"""The project's NumPy gpt-oss (app.reference) against transformers' GptOssForCausalLM, directly: every checkpoint
form, its MXFP4 decoder, its YaRN, and that it sees each mistake a package could make.

The reference is what `enclave verify` trusts, so it is held to float32 noise: RMS error under 1e-4 σ of
transformers' logits (measured ~5e-6 σ) over the whole 200-token prompt plus 20 positions.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from app.checkpoint.config import GptOssConfig
from app.checkpoint.weights import Checkpoint
from app.reference import model as reference
from app.reference.compare import compare_logits
from app.reference.experts import ExpertReader

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

NOISE = 1e-4  # σ of transformers' logits
POSITIONS = list(range(190, 220))


def _transformers_logits(folder: Path, ids: list[int]) -> np.ndarray:
    from tests.support.test_models import load_reference_model

    with torch.no_grad():
        return load_reference_model(folder)(torch.tensor([ids])).logits[0, POSITIONS].float().numpy()


@pytest.mark.parametrize("form", ["hub-mxfp4", "transformers5-config", "bf16-finetune", "fp32-finetune"])
def test_reference_equals_transformers(form: str, request: pytest.FixtureRequest, reference_ids: list[int]) -> None:
    folder = {
        "hub-mxfp4": lambda: request.getfixturevalue("tiny_checkpoint"),
        "transformers5-config": lambda: request.getfixturevalue("transformers_config_checkpoint"),
        "bf16-finetune": lambda: request.getfixturevalue("finetune_checkpoint")("bfloat16"),
        "fp32-finetune": lambda: request.getfixturevalue("finetune_checkpoint")("float32"),
    }[form]()
    ours = reference.Transformer(Checkpoint.open(folder)).forward(reference_ids, POSITIONS)
    agreement = compare_logits(ours, _transformers_logits(folder, reference_ids))
    print(f"{form}: {agreement.summary()}")
    assert agreement.worst < NOISE and agreement.top1_agreement == len(POSITIONS)


@pytest.fixture(scope="module")
def reference_ids() -> list[int]:
    return np.random.default_rng(1).integers(0, 200_000, 220).tolist()


def test_decoder_equals_transformers_dequantisation(tiny_checkpoint: Path) -> None:
    from tests.support.test_models import load_reference_model

    model = load_reference_model(tiny_checkpoint)
    checkpoint = Checkpoint.open(tiny_checkpoint)
    reader = ExpertReader(checkpoint)
    for layer_index, layer in enumerate(model.model.layers):
        names = checkpoint.layer_names(layer_index)
        for proj, parameter in (("gate_up", layer.mlp.experts.gate_up_proj), ("down", layer.mlp.experts.down_proj)):
            blocks = checkpoint.tensor_raw(names[f"{proj}_blocks"])
            scales = checkpoint.tensor_raw(names[f"{proj}_scales"])
            for expert in (0, 5):
                ours = reader.decode(blocks[expert], scales[expert])  # [N, K]
                theirs = parameter[expert].detach().numpy().T  # transformers keeps [K, N]
                assert np.array_equal(ours, theirs), (layer_index, proj, expert)


@pytest.mark.parametrize("rope", [
    {},
    {"truncate": True},
    {"attention_factor": 1.2, "beta_fast": 16.0, "factor": 8.0},
    {"original_max_position_embeddings": 8192, "beta_slow": 2.0},
], ids=["gpt-oss", "truncate", "attention-factor", "other-original"])
def test_yarn_equals_transformers(rope: dict[str, object]) -> None:
    from transformers import GptOssConfig as HFConfig
    from transformers.models.gpt_oss.modeling_gpt_oss import GptOssRotaryEmbedding

    data = GptOssConfig().to_hf_dict()
    data["rope_scaling"] = {**data["rope_scaling"], **rope}
    data["initial_context_length"] = data["rope_scaling"]["original_max_position_embeddings"]  # both names agree
    ours_config = GptOssConfig.from_dict(data)
    data.pop("quantization_config")
    theirs = GptOssRotaryEmbedding(HFConfig(**data))
    inv_freq, concentration = reference.yarn_inv_freq(ours_config)
    np.testing.assert_allclose(inv_freq, theirs.inv_freq.double().numpy(), rtol=1e-6)
    assert concentration == pytest.approx(theirs.attention_scaling, rel=1e-12)
    # Over the positions verify uses (< 512): transformers' float32 angles drift from our float64 ones by
    # position x 1e-7 rad.
    cos, sin = reference.rotary_tables(ours_config, 512)
    ref_cos, ref_sin = theirs(torch.zeros(1), torch.arange(512)[None])
    assert np.max(np.abs(cos - ref_cos[0].numpy())) < 5e-5 and np.max(np.abs(sin - ref_sin[0].numpy())) < 5e-5


def test_sliding_window_counts_the_query_itself() -> None:
    """With window 2 a query sees itself and the key before it; a uniform score makes that visible as the mean."""
    tokens, d = 4, 2
    q = np.zeros((tokens, 1, 1, d), dtype=np.float32)
    k = np.zeros((tokens, 1, d), dtype=np.float32)
    v = np.arange(tokens, dtype=np.float32)[:, None, None].repeat(d, axis=2)
    out = reference.sdpa(q, k, v, np.array([-np.inf], dtype=np.float32), window=2)
    assert out[:, 0].tolist() == [0.0, 0.5, 1.5, 2.5]
    full = reference.sdpa(q, k, v, np.array([-np.inf], dtype=np.float32), window=0)
    assert full[:, 0].tolist() == [0.0, 0.5, 1.0, 1.5]
    sink = reference.sdpa(q, k, v, np.array([0.0], dtype=np.float32), window=0)  # a sink worth one more key
    assert sink[1, 0] == pytest.approx(1 / 3)


def test_routing_is_softmax_over_the_top_k_logits() -> None:
    logits = np.array([[0.0, 3.0, 1.0, 2.0]], dtype=np.float32)
    chosen, weights = reference.route(logits, 2)
    assert chosen.tolist() == [[1, 3]]
    assert weights[0].tolist() == pytest.approx([math.e / (math.e + 1), 1 / (math.e + 1)])


def test_swiglu_clamps_and_adds_one() -> None:
    x = np.array([[10.0, 10.0, 1.0, -10.0]], dtype=np.float32)  # pairs (gate, up)
    out = reference.swiglu(x, alpha=1.702, limit=7.0)
    assert out[0, 0] == pytest.approx(7.0 / (1 + math.exp(-1.702 * 7.0)) * 8.0)
    assert out[0, 1] == pytest.approx(1.0 / (1 + math.exp(-1.702)) * -6.0)


def test_an_expert_no_token_chooses_is_never_read(tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dequantising lazily is the point of the reader: one token reads exactly its k experts per layer, once
    each for gate_up and down, and none of the others."""
    model = reference.Transformer(Checkpoint.open(tiny_checkpoint))
    asked: list[tuple[int, str, int]] = []
    original = ExpertReader.matmul

    def counting(self, layer, proj, expert, x):  # noqa: ANN001, ANN202
        asked.append((layer, proj, expert))
        return original(self, layer, proj, expert, x)

    monkeypatch.setattr(ExpertReader, "matmul", counting)
    model.forward([4242], [0])
    config = model.config
    assert len(asked) == len(set(asked)) == 2 * config.num_experts_per_tok * config.num_hidden_layers
    assert config.num_experts_per_tok < config.num_local_experts
