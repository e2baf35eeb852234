"""The YaRN caches against transformers' own GptOssRotaryEmbedding for the real gpt-oss-20b configuration."""

from __future__ import annotations

import numpy as np
import pytest

from app.checkpoint.config import GptOssConfig
from app.export.rope import cos_sin_cache, plain_inv_freq, yarn_inv_freq


@pytest.fixture(scope="module")
def hf_rotary():  # noqa: ANN201 - a transformers module
    from transformers import GptOssConfig as HFConfig
    from transformers.models.gpt_oss.modeling_gpt_oss import GptOssRotaryEmbedding

    data = GptOssConfig().to_hf_dict()
    data.pop("quantization_config")
    return GptOssRotaryEmbedding(HFConfig(**data))


def test_inv_freq_and_concentration_match_transformers(hf_rotary) -> None:  # noqa: ANN001
    inv_freq, factor = yarn_inv_freq(GptOssConfig())
    np.testing.assert_allclose(inv_freq, hf_rotary.inv_freq.numpy(), rtol=2e-7, atol=0)
    assert factor == pytest.approx(hf_rotary.attention_scaling) == pytest.approx(0.1 * np.log(32) + 1)


def test_cos_sin_match_transformers_over_the_first_4096_positions(hf_rotary) -> None:  # noqa: ANN001
    import torch

    cos, sin = cos_sin_cache(GptOssConfig(), 4096)
    ref_cos, ref_sin = hf_rotary(torch.zeros(1), torch.arange(4096)[None])
    assert np.max(np.abs(cos - ref_cos[0].numpy())) < 1e-4
    assert np.max(np.abs(sin - ref_sin[0].numpy())) < 1e-4


def test_yarn_differs_from_plain_rope() -> None:
    yarn, _ = yarn_inv_freq(GptOssConfig())
    plain, _ = plain_inv_freq(GptOssConfig())
    assert yarn[0] == plain[0]  # the fastest frequencies are extrapolated unchanged
    assert yarn[-1] == pytest.approx(plain[-1] / 32, rel=1e-6)  # the slowest are interpolated by the factor
