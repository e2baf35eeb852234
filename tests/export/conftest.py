"""Session fixtures for the exporter tests: the tiny checkpoint exported once per target, and the transformers
reference logits for one long prompt computed once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from app.export.context import ExportOptions
from app.export.exporter import export_model

# 200 prompt tokens + 20 decoded one by one: both well past the 128-token sliding window.
PROMPT_LEN = 200
DECODE_LEN = 20
CONTEXT = 1024  # a short rotary cache keeps the test packages small; parity does not depend on it


@dataclass(frozen=True)
class Reference:
    ids: list[int]
    logits: np.ndarray  # float32 [PROMPT_LEN + DECODE_LEN, vocab] from transformers

    def expected(self) -> np.ndarray:
        """Rows matching PackageRunner.prefill_and_decode: the prompt's last position, then each decode step."""
        return self.logits[PROMPT_LEN - 1:]


def export_tiny(checkpoint: Path, out: Path, target: str, **options: object) -> Path:
    export_model(checkpoint, out, target, options=ExportOptions(context_length=CONTEXT, **options))
    return out


@pytest.fixture(scope="session")
def reference(tiny_checkpoint: Path) -> Reference:
    import torch

    from tests.support.test_models import load_reference_model

    model = load_reference_model(tiny_checkpoint)
    ids = np.random.default_rng(1).integers(0, model.config.vocab_size, PROMPT_LEN + DECODE_LEN).tolist()
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float().numpy()
    return Reference(ids=ids, logits=logits)


@pytest.fixture(scope="session")
def cpu_package(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tiny(tiny_checkpoint, tmp_path_factory.mktemp("export") / "tiny-cpu", "cpu")


@pytest.fixture(scope="session")
def cpu_int4_package(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tiny(tiny_checkpoint, tmp_path_factory.mktemp("export") / "tiny-cpu-int4", "cpu-int4")


@pytest.fixture(scope="session")
def cuda_package(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tiny(tiny_checkpoint, tmp_path_factory.mktemp("export") / "tiny-cuda", "cuda")
