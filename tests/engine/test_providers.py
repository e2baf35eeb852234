"""Provider choice: CUDA, then DirectML, then CPU, skipping missing, incompatible and too-small ones."""

from __future__ import annotations

import pytest

from app.engine.providers import CPU, CUDA, DML, Environment, ProviderError, choose_provider, normalise

GIB = 2**30
ALL = (CUDA, DML, CPU)


def test_cpu_package_runs_on_cpu_even_when_gpus_exist() -> None:
    choice = choose_provider(Environment(ALL, free_ram=32 * GIB), target="cpu", package_bytes=13 * GIB)
    assert choice.provider == CPU
    assert "exported for the cpu target" in choice.rejected[CUDA]


def test_genai_folder_prefers_cuda_then_dml_then_cpu() -> None:
    env = Environment(ALL, free_ram=64 * GIB, free_vram={CUDA: 24 * GIB, DML: None})
    assert choose_provider(env, target=None, package_bytes=13 * GIB).provider == CUDA
    no_cuda = Environment((DML, CPU), free_ram=64 * GIB)
    choice = choose_provider(no_cuda, target=None, package_bytes=13 * GIB)
    assert choice.provider == DML and "not offered" in choice.rejected[CUDA]


def test_too_little_vram_falls_back_and_says_why() -> None:
    env = Environment(ALL, free_ram=64 * GIB, free_vram={CUDA: 8 * GIB, DML: None})
    choice = choose_provider(env, target=None, package_bytes=13 * GIB)
    assert choice.provider == DML
    assert "too little free GPU memory" in choice.rejected[CUDA]
    assert "not CUDA" in choice.reason


def test_too_little_ram_for_a_cpu_package_is_an_error() -> None:
    with pytest.raises(ProviderError, match="too little free RAM"):
        choose_provider(Environment((CPU,), free_ram=4 * GIB), target="cpu-int4", package_bytes=12 * GIB)


def test_requested_provider_is_used_or_refused_with_the_reason() -> None:
    env = Environment((CPU,), free_ram=64 * GIB)
    assert choose_provider(env, target=None, package_bytes=GIB, requested="cpu").provider == CPU
    with pytest.raises(ProviderError, match="not offered"):
        choose_provider(env, target=None, package_bytes=GIB, requested="cuda")


def test_unknown_memory_skips_the_memory_check() -> None:
    env = Environment(ALL, free_ram=None, free_vram={CUDA: None})
    assert choose_provider(env, target="cuda", package_bytes=100 * GIB).provider == CUDA


def test_provider_names_are_normalised() -> None:
    assert normalise("DirectML") == DML and normalise("CUDAExecutionProvider") == CUDA
    with pytest.raises(ValueError):
        normalise("tpu")


def test_a_dml_package_runs_on_cpu_only_when_the_user_asks() -> None:
    env = Environment((CPU,), free_ram=64 * GIB)
    with pytest.raises(ProviderError, match="exported for the dml target .ask for CPU explicitly"):
        choose_provider(env, target="dml", package_bytes=GIB)
    choice = choose_provider(env, target="dml", package_bytes=GIB, requested="cpu")
    assert choice.provider == CPU and "slower" in choice.note and choice.note in choice.reason
    # Where DirectML exists it is still the automatic choice, with no caveat.
    auto = choose_provider(Environment((DML, CPU), free_ram=64 * GIB), target="dml", package_bytes=GIB)
    assert auto.provider == DML and auto.note == ""


def test_only_standard_operator_graphs_run_elsewhere_on_request() -> None:
    env = Environment(ALL, free_ram=64 * GIB, free_vram={CUDA: None, DML: None})
    with pytest.raises(ProviderError, match="exported for the cuda target"):
        choose_provider(env, target="cuda", package_bytes=GIB, requested="cpu")
    with pytest.raises(ProviderError, match="exported for the cpu-int4 target"):
        choose_provider(env, target="cpu-int4", package_bytes=GIB, requested="dml")
