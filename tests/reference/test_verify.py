"""`enclave verify`: good packages of every target pass on this machine's provider (ONNX Runtime CPU), and
packages that are wrong while every checksum matches fail: window, sinks, rope and expert order edited in a
real package whose manifest was then rehashed (tests/support/sabotage.py), and the exporter's own deliberate
mistakes for the targets whose graphs are built differently.

Measured with the tiny model (5 compared positions: the 136-token prompt's last and 4 decode steps), median
per-position RMS error in σ of the reference logits:

    good:      cpu 0.011   cpu-int4 0.008 (on its own int4 weights; they are 7 % from the checkpoint's)
               dml 0.000
    mistakes:  window 127 0.579, window 129 0.437, sinks dropped 0.346, plain rope 0.683, experts 0 and 1
               swapped 0.446 (cpu; cpu-int4 0.41-0.67, and its swapped experts are 145 % off in weight);
               the exporter's own mistakes on dml: 0.34-0.94

so the smallest mistake is 5x cpu's median bound at 3 layers (0.062 σ). At gpt-oss-20b widths
(`python -m tests.reference.measure_verify`) good cpu measures 0.011 and window 129 0.182 (2 layers).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from app.cli.main import main
from app.export.context import ExportOptions
from app.export.exporter import export_model
from app.package.local_record import default_record_path
from app.reference.verify import VerifyError, verify_package
from tests.support import sabotage

CONTEXT = 512


@pytest.fixture(scope="module")
def packages(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("verify")
    return {target: export_model(tiny_checkpoint, folder / target, target,
                                 options=ExportOptions(context_length=CONTEXT)).folder
            for target in ("cpu", "cpu-int4", "dml", "cuda")}


@pytest.mark.parametrize("target", ["cpu", "cpu-int4", "dml"])
def test_good_packages_pass(target: str, packages: dict[str, Path], tiny_checkpoint: Path) -> None:
    result = verify_package(packages[target], provider="cpu")
    print(f"{target}: {result.agreement.summary()} in {result.seconds['total']:.1f} s")
    assert result.passed, result.sentence()
    assert result.checkpoint.resolve() == tiny_checkpoint.resolve()  # found through this computer's record
    assert result.source_check == "unchanged since the export hashed it"
    assert result.agreement.positions == 5
    if target == "cpu-int4":  # compared on its own int4 weights, which are checked against the checkpoint's
        assert result.weights_error is not None and 0.01 < result.weights_error < 0.15
    else:
        assert result.weights_error is None


SABOTAGE = {
    "window 127": lambda p: sabotage.change_window(p, 127),
    "window 129": lambda p: sabotage.change_window(p, 129),
    "sinks dropped": sabotage.drop_sinks,
    "plain rope": sabotage.plain_rope,
    "experts 0 and 1 swapped": sabotage.swap_experts,
}


@pytest.mark.parametrize("target", ["cpu", "cpu-int4"])
@pytest.mark.parametrize("name", list(SABOTAGE))
def test_sabotaged_package_with_matching_checksums_fails(name: str, target: str, packages: dict[str, Path],
                                                         tiny_checkpoint: Path, tmp_path: Path) -> None:
    package = sabotage.copy_package(packages[target], tmp_path / "pkg")
    SABOTAGE[name](package)
    result = verify_package(package, against=tiny_checkpoint, provider="cpu")  # every hash matches ...
    print(f"{target} {name}: {result.agreement.summary()}, weights {result.weights_error}")
    assert not result.passed, result.sentence()  # ... and the logits (or the int4 weights) do not
    assert result.agreement.median > 2 * result.allowed_median or not result.weights_ok
    assert "export it again" in result.sentence()


@pytest.mark.parametrize(("target", "mistake"), [
    ("dml", {"debug_window_offset": 1}), ("dml", {"debug_swap_experts": True}), ("dml", {"debug_drop_sinks": True}),
    ("cpu-int4", {"debug_swap_nibbles": True}), ("cpu-int4", {"debug_no_swiglu_limit": True}),
], ids=["dml window+1", "dml experts swapped", "dml no sinks", "cpu-int4 nibbles swapped", "cpu-int4 no clamp"])
def test_packages_with_the_exporters_mistakes_fail(target: str, mistake: dict[str, object], tiny_checkpoint: Path,
                                                   tmp_path: Path) -> None:
    package = export_model(tiny_checkpoint, tmp_path / "pkg", target,
                           options=ExportOptions(context_length=CONTEXT, **mistake)).folder
    result = verify_package(package, provider="cpu")
    print(f"{target} {mistake}: {result.agreement.summary()}")
    assert not result.passed


def test_the_int4_reader_reads_what_the_exporter_wrote(packages: dict[str, Path]) -> None:
    """app.reference.package_experts reads the cpu-int4 layout on its own; it must agree with the exporter's
    own inverse (app.export.experts.dequantize_int4) on the package's bytes."""
    import onnx

    from app.export.experts import dequantize_int4
    from app.reference.package_experts import PackageExperts

    package = packages["cpu-int4"]
    model = onnx.load(str(package / "model.onnx"), load_external_data=False)
    init = {t.name: t for t in model.graph.initializer}
    node = next(n for n in model.graph.node if n.op_type == "QMoE")
    from app.reference.package_experts import _array

    weight, scales = _array(package, init[node.input[2]]), _array(package, init[node.input[3]])
    assert scales.dtype == np.float16  # the exporter stores cpu-int4 expert scales in float16 where they fit
    ours = PackageExperts(package).decode(weight[3], scales[3], 32)
    np.testing.assert_array_equal(ours, dequantize_int4(np.asarray(weight[3]), np.asarray(scales[3]), 32))


def test_the_embedding_reader_reads_what_the_exporter_wrote(packages: dict[str, Path], tiny_checkpoint: Path) -> None:
    """app.reference.package_experts.PackageEmbedding reads cpu-int4's int8 block-64 rows with float16 scales on
    its own; they must be the exporter's (app.export.experts.quantize_int8 of the checkpoint's bf16 rows)."""
    from app.checkpoint.names import EMBED
    from app.checkpoint.weights import Checkpoint
    from app.checkpoint.safetensors_io import raw_to_f32
    from app.export.experts import quantize_int8
    from app.reference.package_experts import PackageEmbedding

    embedding = PackageEmbedding.of(packages["cpu-int4"])
    assert embedding is not None and (embedding.bits, embedding.block) == (8, 64)
    checkpoint = Checkpoint.open(tiny_checkpoint)
    tokens = np.array([0, 5, 199_999, 201_087])
    rows = raw_to_f32(np.asarray(checkpoint.tensor_raw(EMBED))[tokens], checkpoint.tensor_dtype(EMBED))
    q, scales = quantize_int8(rows, 64)
    expected = (q.astype(np.float32) - 128) * scales.astype(np.float16).astype(np.float32)[..., None]
    np.testing.assert_array_equal(embedding.rows(tokens), expected.reshape(rows.shape))
    assert 0 < embedding.weights_error(rows, tokens) < 0.01


def test_a_changed_file_is_refused_before_anything_runs(packages: dict[str, Path], tmp_path: Path) -> None:
    package = sabotage.copy_package(packages["cpu"], tmp_path / "pkg")
    data = package / "model.onnx.data"
    with open(data, "r+b") as handle:
        handle.seek(data.stat().st_size // 2)
        handle.write(b"\xff" * 16)
    with pytest.raises(VerifyError, match="model.onnx.data: SHA-256 does not match the manifest"):
        verify_package(package, provider="cpu")


def test_another_checkpoint_is_refused(packages: dict[str, Path], tiny_checkpoint: Path, tmp_path: Path) -> None:
    from app.checkpoint.random_checkpoint import PRESETS, write_test_model

    other = write_test_model(tmp_path / "other", PRESETS["tiny"], seed=1)
    with pytest.raises(VerifyError) as info:
        verify_package(packages["cpu"], against=other, provider="cpu")
    message = str(info.value)
    assert "is not the checkpoint this package was exported from" in message and "\n" not in message


def test_a_copied_package_without_a_record_asks_for_the_checkpoint(packages: dict[str, Path], tiny_checkpoint: Path,
                                                                   tmp_path: Path) -> None:
    """On another computer (no record), verify says how to go on; given the checkpoint it hashes it."""
    package = sabotage.copy_package(packages["cpu"], tmp_path / "pkg")
    record = default_record_path()
    saved = record.read_bytes()
    try:
        record.write_text("{}")
        with pytest.raises(VerifyError, match="pass it with --against CHECKPOINT"):
            verify_package(package, provider="cpu")
        result = verify_package(package, against=tiny_checkpoint, provider="cpu")
        assert result.passed and result.source_check == "its files' SHA-256 match the package's record"
    finally:
        record.write_bytes(saved)


def test_a_checkpoint_touched_since_the_export_is_hashed_again(packages: dict[str, Path], tiny_checkpoint: Path,
                                                               tmp_path: Path) -> None:
    from tests.support.test_models import copy_checkpoint

    source = copy_checkpoint(tiny_checkpoint, tmp_path / "src")
    # Another context length than the shared packages: other bytes, so this package has a record of its own.
    package = export_model(source, tmp_path / "pkg", "cpu", options=ExportOptions(context_length=320)).folder
    config = source / "config.json"
    os.utime(config, ns=(time.time_ns(), config.stat().st_mtime_ns + 10**9))  # same bytes, new time
    assert verify_package(package, provider="cpu").source_check == "its files' SHA-256 match the package's record"
    config.write_text(config.read_text().replace('"rms_norm_eps": 1e-05', '"rms_norm_eps": 1e-06'))
    with pytest.raises(VerifyError, match="config.json"):
        verify_package(package, provider="cpu")


def test_a_cuda_package_cannot_be_run_here_and_says_so(packages: dict[str, Path]) -> None:
    with pytest.raises(VerifyError) as info:
        verify_package(packages["cuda"])
    assert "CUDA" in str(info.value) and "\n" not in str(info.value)


def test_cli_exit_codes(packages: dict[str, Path], tiny_checkpoint: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(packages["cpu"]), "--quiet", "--provider", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "worst" in out and "top-1" in out
    broken = sabotage.copy_package(packages["cpu"], tmp_path / "broken")
    sabotage.change_window(broken, 127)
    assert main(["verify", str(broken), "--against", str(tiny_checkpoint), "--quiet", "--provider", "cpu"]) == 1
    assert "FAILED" in capsys.readouterr().out
    for bad in (["verify", str(tmp_path / "nowhere"), "--quiet"],
                ["verify", str(packages["cpu"]), "--quiet", "--provider", "tpu"],
                ["verify", str(packages["cpu"]), "--quiet", "--threads", "0"]):
        assert main(bad) == 2
        err = capsys.readouterr().err
        assert err.startswith("enclave verify: ") and len(err.strip().splitlines()) == 1, err
    manifest = json.loads((broken / "manifest.json").read_text())
    assert manifest["files"], "the sabotaged package still lists its files"


def test_the_first_run_on_a_new_provider_is_verified(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """The app's rule (verify_on_open) for GPU providers, whose kernels no test here runs: a package this computer
    converted and verified on the CPU is verified again the first time it runs on DirectML, and each provider's
    verdict is kept for that provider. There is no DirectML here, so the session is ONNX Runtime's CPU one with
    its provider relabelled DirectML: what is under test is the rule, not DirectML's kernels."""
    from app.engine.providers import CPU, DML, ProviderChoice
    from app.engine.session import load_model
    from app.package.local_record import recall_verdict
    from app.package.reader import read_package
    from app.reference.verify import PASSED, verify_on_open

    # a context length of its own: other bytes than the module's packages, so no verdict is recorded for it yet
    package = export_model(tiny_checkpoint, tmp_path / "dml", "dml", options=ExportOptions(context_length=448)).folder
    model = load_model(package, provider="cpu")
    try:
        def opened() -> tuple[str, bool]:
            progress: list[str] = []
            verdict = verify_on_open(package, model, lambda p: progress.append(p.message))
            return verdict.status, any(m.startswith("Reference forward") for m in progress)

        assert opened() == (PASSED, True)  # converted here: verified on its first open ...
        assert opened() == (PASSED, False)  # ... and not again on the same provider
        model.provider = ProviderChoice(DML, "relabelled by the test")
        assert opened() == (PASSED, True)  # a new provider: verified again
        assert opened() == (PASSED, False)
        manifest = read_package(package).manifest
        assert recall_verdict(manifest, CPU).passed and recall_verdict(manifest, DML).passed
        assert "on Dml" in recall_verdict(manifest, DML).sentence
    finally:
        model.close()


def test_a_copied_package_on_a_new_provider_says_it_is_not_verified(tiny_cpu_package: Path, tmp_path: Path) -> None:
    """IT copied the package here (no record of its checkpoint) and it runs on DirectML: the app cannot verify it
    and says so on that provider, with the command that would (session relabelled as in the test above)."""
    import shutil

    from app.engine.providers import DML, ProviderChoice
    from app.engine.session import load_model
    from app.reference.verify import UNVERIFIED, verify_on_open

    package = Path(shutil.copytree(tiny_cpu_package, tmp_path / "copied"))
    with open(package / "model.onnx.data", "ab") as handle:  # other bytes: another package, without a record
        handle.write(b"\0" * 64)
    sabotage.rehash(package)
    model = load_model(package, provider="cpu")
    try:
        model.provider = ProviderChoice(DML, "relabelled by the test")
        verdict = verify_on_open(package, model)
    finally:
        model.close()
    assert verdict.status == UNVERIFIED
    assert verdict.sentence.startswith("Not verified on Dml: ") and "--against CHECKPOINT" in verdict.sentence
