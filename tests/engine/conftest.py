"""Engine fixtures: the tiny checkpoint exported once per session (cpu target) and a loaded model on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.session import LoadedModel, load_model


@pytest.fixture(scope="session")
def tiny_package(tiny_cpu_package: Path) -> Path:
    """The tiny checkpoint exported for the cpu target, shared with the other test folders (copy to modify)."""
    return tiny_cpu_package


@pytest.fixture(scope="session")
def tiny_model(tiny_package: Path) -> LoadedModel:
    return load_model(tiny_package, threads=2)
