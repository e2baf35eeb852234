"""Provider choice: CUDA, then DirectML, then CPU, skipping missing, incompatible and too-small ones."""

from __future__ import annotations

import pytest

from app.engine.providers import CPU, CUDA, DML, Environment, ProviderError, choose_provider, normalise
from app.package.footprint import mapped_bytes, private_bytes

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


def test_cpu_needs_the_private_part_in_ram_and_runs_slower_below_the_whole_package() -> None:
    """The pure rule: below the private part (x 1.1) the CPU is refused; between it and the whole package the
    package loads with a note that mapped weights are re-read from disk; with room, no note."""
    package, private = int(12.8e9), int(4.3e9)
    env = Environment((CPU,), free_ram=int(4.3e9))  # below private x 1.1: it would swap
    with pytest.raises(ProviderError, match="the model's private memory and KV cache need about"):
        choose_provider(env, target="cpu-int4", package_bytes=package, private_bytes=private)
    laptop = Environment((CPU,), free_ram=10 * GIB)
    choice = choose_provider(laptop, target="cpu-int4", package_bytes=package, private_bytes=private)
    assert choice.provider == CPU and "answers more slowly" in choice.note and choice.note in choice.reason
    roomy = choose_provider(Environment((CPU,), free_ram=32 * GIB), target="cpu-int4", package_bytes=package,
                            private_bytes=private)
    assert roomy.note == ""


def test_a_busy_16_gb_laptop_is_refused_for_20b_cpu_int4_with_the_measured_private_memory() -> None:
    """gpt-oss-20b cpu-int4: 12.8 GB package, ORT's prepacked copies 1.08x of it (app.package.footprint), plus
    an 8k-token KV cache: 10 GiB free is refused with a sentence instead of swapping; 24 GiB free loads."""
    package = int(12.81e9)
    kv = 24 * 2 * 8 * 64 * 4 * 8192
    private = private_bytes("cpu-int4", package) + kv
    with pytest.raises(ProviderError, match="too little free RAM"):
        choose_provider(Environment((CPU,), free_ram=10 * GIB), target="cpu-int4", package_bytes=private,
                        private_bytes=private)
    roomy = choose_provider(Environment((CPU,), free_ram=24 * GIB), target="cpu-int4", package_bytes=private,
                            private_bytes=private)
    assert roomy.provider == CPU and roomy.note == ""


def test_a_busy_16_gb_laptop_takes_20b_cpu_int4_from_its_prepacked_copy() -> None:
    """The same laptop with the package's prepacked copy (app.engine.prepacked): the prepacked weights are mapped
    from the copy's file (Footprint.prepacked_private, 0.031 of the package measured at 24 layers), so 10 GiB
    free loads; the mapped weights do not all fit, so it says it answers more slowly."""
    package = int(12.68e9)
    kv = 24 * 2 * 8 * 64 * 4 * 8192
    private = private_bytes("cpu-int4", package, prepacked=True) + kv
    whole = private + mapped_bytes("cpu-int4", package, prepacked=True)
    assert private < 1.5e9 < 12e9 < whole  # what moved out of private memory is still read in place
    choice = choose_provider(Environment((CPU,), free_ram=10 * GIB), target="cpu-int4", package_bytes=whole,
                             private_bytes=private)
    assert choice.provider == CPU and "answers more slowly" in choice.note


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


def test_loading_checks_free_ram_against_the_weights_and_the_kv_cache(tiny_package, monkeypatch) -> None:
    """Before ORT maps anything: a package whose weights fit but whose cache at the asked context does not is
    refused with one sentence that says how much is needed and what to do."""
    from app.engine import session
    from app.engine.session import LoadError, load_model, read_package_facts

    facts = read_package_facts(tiny_package)
    length = facts.context_length
    kv = session.kv_cache_bytes(facts, length)
    # float32 K and V: the full layer spans the context, the two sliding layers only their window buffers, and
    # the cache's snapshots of those at their most: 6 prompt boundaries and 8 periodic ones, each the latest
    # window + 1 rows of a layer
    position = 2 * facts.kv_heads * facts.head_dim * 4
    assert facts.window_layers == (0, 2) and facts.window == 128
    assert kv == position * (length + 2 * facts.window_capacity) + 14 * 2 * 129 * position
    # Room for the private part of the weights (app.package.footprint), the cache's fixed part (window buffers
    # and snapshots) and half of what grows with the context, with headroom.
    fixed = kv - position * length
    free = int((private_bytes("cpu", facts.size_bytes) + fixed + position * length / 2) * 1.1)
    monkeypatch.setattr(session, "detect_environment", lambda: Environment((CPU,), free_ram=free))
    with pytest.raises(LoadError) as caught:
        load_model(tiny_package, max_length=length)
    message = str(caught.value)
    assert "too little free RAM: the model's private memory and KV cache need about" in message
    assert "convert the checkpoint for the smaller cpu-int4 target" in message and "\n" not in message
    short = max(1, length // 8)  # an eighth of the context: its cache fits
    model = load_model(tiny_package, max_length=short)
    assert model.info.context_length == short
    # ORT's prepacked copies are most of what a cpu package holds (Footprint.private 1.2x of the package), so
    # room for them with headroom is room for the whole chat: no "slower" note.
    assert free > facts.size_bytes and "answers more slowly" not in model.info.provider_reason
