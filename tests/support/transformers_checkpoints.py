"""Checkpoints that transformers itself writes from the tiny MXFP4 test model: artefacts Enclave reads but did
not write. Built once per session (seconds each) and shared; copy one before changing it.

- `transformers_config_checkpoint`: the MXFP4 weights with the config.json transformers 5 writes
  (`AutoConfig.from_pretrained(...).save_pretrained(...)`: rope_parameters holding rope_theta, dtype,
  swiglu_alpha, bos_token_id null).
- `finetune_checkpoint(dtype, sharded)`: `GptOssForCausalLM.from_pretrained` dequantises the experts, every expert
  weight moves by N(0, (3% of its tensor's std)²) (a stand-in for fine-tuning, which leaves the weights off the
  MXFP4 grid), and `save_pretrained` writes it in `dtype`: one model.safetensors without an index, or
  (sharded) small shards with model.safetensors.index.json. The tokenizer files are copied, as
  `tokenizer.save_pretrained` would write them.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from app.checkpoint.weights import CONFIG_FILE

FINETUNE_NOISE = 0.03
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def _copy_tokenizer(source: Path, folder: Path) -> None:
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, folder / name)


@pytest.fixture(scope="session")
def transformers_config_checkpoint(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import AutoConfig

    folder = tmp_path_factory.mktemp("transformers_config") / "gpt-oss-tiny"
    folder.mkdir()
    for item in tiny_checkpoint.iterdir():
        if item.name != CONFIG_FILE:
            (folder / item.name).symlink_to(item)
    AutoConfig.from_pretrained(tiny_checkpoint).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def finetune_checkpoint(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    saved: dict[tuple[str, bool], Path] = {}
    model = None

    def make(dtype: str = "bfloat16", sharded: bool = False) -> Path:
        nonlocal model
        key = (dtype, sharded)
        if key in saved:
            return saved[key]
        import torch

        from tests.support.test_models import load_reference_model

        if model is None:
            model = load_reference_model(tiny_checkpoint)
            generator = torch.Generator().manual_seed(7)
            with torch.no_grad():
                for layer in model.model.layers:
                    for weight in (layer.mlp.experts.gate_up_proj, layer.mlp.experts.down_proj):
                        weight += torch.randn(weight.shape, generator=generator) * (FINETUNE_NOISE * weight.std())
        folder = tmp_path_factory.mktemp("finetune") / f"gpt-oss-tiny-{dtype}{'-sharded' if sharded else ''}"
        copy.deepcopy(model).to(getattr(torch, dtype)).save_pretrained(
            folder, max_shard_size="40MB" if sharded else "50GB")
        _copy_tokenizer(tiny_checkpoint, folder)
        saved[key] = folder
        return folder

    return make
