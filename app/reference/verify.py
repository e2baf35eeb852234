"""`verify_package`: does a package compute what its checkpoint means, on the provider it will run on?

1. Its files against the manifest's sizes and SHA-256 (app.package.integrity): bit rot, a bad copy, an edit.
2. Its checkpoint: `against`, or the folder this computer exported it from (app.package.local_record), or a
   format-1 manifest's folder. It must be the checkpoint the manifest names: its files' SHA-256 are compared
   with the manifest's, except when the record shows them unchanged (size and mtime) since the export hashed them.
3. The probe: a fixed English text in the package's own tokenizer, as a prompt one sliding window plus 8 tokens
   long (so every sliding layer must drop keys, and the window edge, sinks and rope positions all matter), then
   DECODE_STEPS more tokens fed one at a time (the decode kernels, a different path from prefill).
4. The package runs through the engine on the provider it will use (ONNX Runtime's CUDA, DirectML or CPU); the
   project's own NumPy gpt-oss (app.reference.model) computes the same positions from the checkpoint.
5. It passes when the per-position RMS error (in σ of the reference logits) has its median and its worst within
   the target's tolerance (TOLERANCES) and top-1 agrees often enough. Checksums cannot catch a package that is
   consistently wrong (a sliding window changed in model.onnx and the manifest rehashed); this step does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.checkpoint.weights import Checkpoint, CheckpointError
from app.package.integrity import IntegrityError, check_files
from app.package.manifest import PackageError
from app.package.local_record import recall_sources
from app.progress import LoadProgress
from app.package.reader import Package, read_package
from app.reference.compare import LogitAgreement, compare_logits
from app.reference.experts import ExpertReader
from app.reference.model import Transformer
from app.reference.package_experts import PackageEmbedding, PackageExperts

DECODE_STEPS = 4
PROMPT_EXTRA = 8  # prompt tokens beyond the sliding window
ProgressCallback = Callable[[LoadProgress], None]

# The probe: plain prose, tokenised by the package's tokenizer and repeated if it is too short.
PROBE_TEXT = (
    "The committee met on a grey Tuesday morning to review the quarterly figures. Revenue had risen by four "
    "percent, but costs had grown faster, driven mostly by the new warehouse and the delayed software project. "
    "Maria, who chaired the meeting, asked each department to explain its numbers in plain words. The logistics "
    "team described how fuel prices and a late shipment from the coast had pushed their budget over the limit. "
    "Finance suggested a careful plan: pause two hiring rounds, renegotiate the cleaning contract, and move the "
    "archive to cheaper storage. Nobody liked every part of it, yet by noon they agreed to try it for three "
    "months and to meet again in April, when the spring orders would show whether the plan was working. After "
    "the meeting, Maria wrote a short summary for the staff, thanking them for their patience and promising that "
    "the changes would be reviewed openly, with every number published on the shared board for anyone to check."
)


@dataclass(frozen=True)
class Tolerance:
    """How far a target's package may be from the reference, in σ of the reference logits per position.

    The median over the compared positions is what a consistent mistake moves (a window, sink, rope or expert
    error shifts every position past the window); the worst position bounds the rest, loosely, because a good
    quantised package can flip one token's router choice and be far off at that one position. Packages from
    floating-point experts are quantised by every target, so their median bound is wider. ONNX Runtime's CPU
    QMoE quantises activations to int8 inside each layer, an error that grows with depth (tiny test model,
    cpu: 0.011 σ at 3 layers, 0.039 at 12, 0.076 at 24): `per_layer` widens the median bound with the layer
    count. `weights` bounds the relative RMS error of a package's re-quantised expert weights against the
    checkpoint's, for the targets whose logits are compared with a reference run on the package's own weights
    (cpu-int4; app.reference.package_experts)."""

    median_mxfp4: float
    median_float: float
    worst: float
    top1: float  # share of positions whose top token must agree
    why: str
    per_layer: float = 0.0
    weights: float | None = None

    def median(self, mxfp4_source: bool, layers: int) -> float:
        return (self.median_mxfp4 if mxfp4_source else self.median_float) + self.per_layer * layers


# One row per export target. Measured on this project's test models (good packages, median / worst σ):
#   cpu      tiny 0.011 / 0.016 (3 layers), 0.076 / 0.112 (24 layers); 20b widths 0.011 / 0.155 (2 layers);
#            from bf16 experts tiny 0.019 / 0.080
#   cpu-int4 against the package's own int4 experts and int8 embedding rows: tiny 0.008 / 0.009 (3 layers),
#            0.007 / 0.008 (24) with float32 dense weights; its int8 projections and lm_head (int8 activations)
#            bring it to 0.042 / 0.051 at block 32 and 0.047 / 0.049 at block 64 (3 layers); at 20b widths
#            (2 layers) 0.046 / 0.053 at block 32 and 0.042 / 0.054 at block 64. Its weights differ
#            from the checkpoint's by 7-8 % RMS (a swapped expert: 145 %). Against the checkpoint's exact experts
#            it measured 0.17 (3 layers) to 0.52 (24).
#   dml      0.000 / 0.000 from MXFP4 at any depth; from floating-point experts (quantised to MXFP4) tiny 0.068 / 0.155
#   cuda     cannot run here: bounds from its design (float16 activations and cache, MXFP4 weights as dml's)
# and the smallest consistent mistake (window 129) moves the median to 0.182 at 20b widths (cpu, 2 layers),
# 0.44 on tiny. See tests/reference/test_verify.py.
TOLERANCES: dict[str, Tolerance] = {
    "cpu": Tolerance(0.05, 0.06, 0.5, 0.6, "lossless int8 experts; ORT's CPU QMoE quantises activations to int8",
                     per_layer=0.004),
    "cpu-int4": Tolerance(0.07, 0.08, 0.5, 0.6, "int4 experts and int8 embedding (compared on their own weights), "
                          "int8 projections and lm_head", weights=0.15),
    "cuda": Tolerance(0.1, 0.2, 0.5, 0.6, "float16 activations and KV cache, MXFP4 experts", per_layer=0.004),
    "dml": Tolerance(0.02, 0.2, 0.4, 0.6, "float32 activations, MXFP4 experts decoded exactly in the graph"),
}


class VerifyError(RuntimeError):
    """The check could not be made; one sentence."""


class PackageDamaged(VerifyError):
    """A package file is missing, truncated or has another SHA-256 than its manifest records."""


class NoCheckpoint(VerifyError):
    """The checkpoint to compare with is not here, or is not the one the package was exported from."""


class VerifyCancelled(Exception):
    """The caller set the cancel event."""


@dataclass(frozen=True)
class VerifyResult:
    package: Path
    target: str
    provider: str
    checkpoint: Path
    source_check: str  # how the checkpoint was identified ("unchanged since the export", "hashes match")
    agreement: LogitAgreement
    tolerance: Tolerance
    mxfp4_source: bool
    layers: int = 0
    weights_error: float | None = None  # relative RMS of the package's expert weights against the checkpoint's
    weights_where: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def allowed_median(self) -> float:
        return round(self.tolerance.median(self.mxfp4_source, self.layers), 4)

    @property
    def weights_ok(self) -> bool:
        limit = self.tolerance.weights
        return self.weights_error is None or limit is None or self.weights_error <= limit

    @property
    def needed_top1(self) -> int:
        return int(np.ceil(self.tolerance.top1 * self.agreement.positions))

    @property
    def passed(self) -> bool:
        a = self.agreement
        return (a.median <= self.allowed_median and a.worst <= self.tolerance.worst
                and a.top1_agreement >= self.needed_top1 and self.weights_ok)

    def sentence(self) -> str:
        """One sentence for the user: what was measured against what, and what to do if it failed."""
        a = self.agreement
        measured = (f"median error {a.median:.3f} σ (allowed {self.allowed_median:g}), worst {a.worst:.3f} σ "
                    f"(allowed {self.tolerance.worst:g}), top-1 agreement {a.top1_agreement} of {a.positions} "
                    f"(needed {self.needed_top1})")
        if self.weights_error is not None:
            measured += (f", expert weights {self.weights_error:.1%} from the checkpoint's "
                         f"(allowed {self.tolerance.weights:.0%}; worst {self.weights_where})")
        provider = self.provider.removesuffix("ExecutionProvider")
        if self.passed:
            return f"The {self.target} package computes what its checkpoint means on {provider}: {measured}."
        return (f"The {self.target} package does not compute what its checkpoint means on {provider} ({measured}); "
                "do not use it: export it again from the checkpoint, or pick another target.")


def probe_tokens(package: Package, length: int) -> list[int]:
    """`length` token ids of PROBE_TEXT in the package's tokenizer (repeated as needed)."""
    from tokenizers import Tokenizer

    ids = Tokenizer.from_file(str(package.tokenizer_path)).encode(PROBE_TEXT, add_special_tokens=False).ids
    if not ids:
        raise VerifyError(f"{package.tokenizer_path}: the tokenizer turns the probe text into no tokens")
    return (ids * (length // len(ids) + 1))[:length]


def find_checkpoint(package: Package, against: Path | None, on_progress: ProgressCallback,
                    cancel: threading.Event | None) -> tuple[Path, str]:
    """(checkpoint folder, how it was identified); raises VerifyError when none can be found or it is not
    the one the manifest names.

    Candidates: `against` alone when given; else the folders this computer exported the package from (newest
    first), then a format-1 manifest's folder. A recorded folder whose files are unchanged since the export
    is taken as it is; otherwise the first candidate whose files hash to the manifest's inputs."""
    manifest = package.manifest
    records = {r.folder: r for r in recall_sources(manifest)}
    if against is not None:
        if not Path(against).is_dir():
            raise NoCheckpoint(f"{against}: no such checkpoint folder")
        candidates = [Path(against)]
    else:
        candidates = [folder for folder in records if folder.is_dir()]
        legacy = manifest.source.legacy_folder
        if legacy and Path(legacy).is_dir() and Path(legacy).resolve() not in records:
            candidates.append(Path(legacy))
        if not candidates:
            raise NoCheckpoint(f"{package.folder}: this computer has no record of the checkpoint the package was "
                              f"exported from ({manifest.source.name}); pass it with --against CHECKPOINT")
    for folder in candidates:
        record = records.get(folder.resolve())
        if record is not None and record.unchanged(manifest):
            return folder, "unchanged since the export hashed it"

    def progress(done: int, total: int) -> None:
        _check(cancel)
        on_progress(LoadProgress("Checking the checkpoint's files", 0.1 + 0.1 * done / max(total, 1)))

    first_problem: IntegrityError | None = None
    for folder in candidates:
        try:
            check_files(folder, manifest.inputs, on_progress=progress,
                        record="the package's record of its checkpoint")
        except IntegrityError as exc:
            first_problem = first_problem or exc
            continue
        return folder, "its files' SHA-256 match the package's record"
    raise NoCheckpoint(f"{candidates[0]} is not the checkpoint this package was exported from ({first_problem})")


def verify_package(
    package_folder: Path,
    *,
    against: Path | None = None,
    provider: str | None = None,
    model: object | None = None,
    threads: int | None = None,
    hash_files: bool = True,
    on_progress: ProgressCallback = lambda _p: None,
    cancel: threading.Event | None = None,
) -> VerifyResult:
    """Runs the whole check (see the module docstring). `model` is an already loaded app.engine.session
    LoadedModel of this package (the app passes the one it is about to chat with); otherwise the package is
    loaded here on `provider` (None: the engine's own choice) and closed afterwards. `hash_files=False` skips
    step 1's SHA-256 (sizes are still compared) for a caller that has just checked them: the app, whose
    opening is verifying (app.library.opening).

    Raises VerifyError (the check cannot be made), VerifyCancelled; a package that fails is a VerifyResult
    with passed False, not an exception."""
    from app.engine.generator import Generator
    from app.engine.session import LoadError, load_model

    started = time.perf_counter()
    seconds: dict[str, float] = {}
    package_folder = Path(package_folder)
    on_progress(LoadProgress("Checking the package's files", 0.0))
    try:
        package = read_package(package_folder)
        check_files(package_folder, package.manifest.files, hashes=hash_files,
                    on_progress=lambda done, total: (_check(cancel), on_progress(
                        LoadProgress("Checking the package's files", 0.1 * done / max(total, 1)))))
    except (PackageError, IntegrityError) as exc:
        raise PackageDamaged(str(exc)) from exc
    seconds["package hashes"] = time.perf_counter() - started

    mark = time.perf_counter()
    checkpoint_folder, source_check = find_checkpoint(package, against, on_progress, cancel)
    try:
        checkpoint = Checkpoint.open(checkpoint_folder)
    except CheckpointError as exc:
        raise NoCheckpoint(str(exc)) from exc
    seconds["checkpoint check"] = time.perf_counter() - mark

    config = package.config
    window = config.sliding_window if any(config.is_sliding(i) for i in range(config.num_hidden_layers)) else 128
    prompt_length = window + PROMPT_EXTRA
    tokens = probe_tokens(package, prompt_length + DECODE_STEPS)
    if prompt_length + DECODE_STEPS > package.context_length:
        raise VerifyError(f"{package_folder}: the package's context ({package.context_length} tokens) is shorter "
                          f"than the probe ({prompt_length + DECODE_STEPS})")
    positions = list(range(prompt_length - 1, prompt_length + DECODE_STEPS))

    mark = time.perf_counter()
    on_progress(LoadProgress("Running the package", 0.2))
    owned = model is None
    try:
        loaded = model if model is not None else load_model(package_folder, provider=provider, threads=threads,
                                                             max_length=prompt_length + DECODE_STEPS)
    except LoadError as exc:
        raise VerifyError(str(exc)) from exc
    try:
        rows = _run_package(Generator(loaded, max_length=prompt_length + DECODE_STEPS), tokens,  # type: ignore[arg-type]
                            prompt_length, cancel)
        used_provider = loaded.provider.provider  # type: ignore[attr-defined]
    finally:
        if owned:  # before the reference runs: the session (and its IO binding) hold the package in memory
            loaded.close()  # type: ignore[attr-defined]
            del loaded
    seconds["package run"] = time.perf_counter() - mark

    mark = time.perf_counter()
    layers = config.num_hidden_layers

    def layer_done(layer: int) -> None:
        _check(cancel)
        on_progress(LoadProgress(f"Reference forward: layer {layer + 1} of {layers}", 0.4 + 0.6 * (layer + 1) / layers))

    tolerance = TOLERANCES[package.target]
    experts, embedding, weights_error, weights_where = None, None, None, ""
    if tolerance.weights is not None:  # compare the logits on the package's own re-quantised weights
        experts = PackageExperts(package_folder)
        if experts.num_layers != layers:
            raise PackageDamaged(f"{package.model_path}: has {experts.num_layers} expert layers, the manifest "
                                 f"{layers}")
        weights_error, weights_where = experts.weights_error(ExpertReader(checkpoint))
        embedding = PackageEmbedding.of(package_folder)
        if embedding is not None:
            sample = np.unique(np.asarray(tokens, dtype=np.int64))
            embedding_error = embedding.weights_error(Transformer(checkpoint).embed(sample), sample)
            if embedding_error > weights_error:
                weights_error, weights_where = embedding_error, "the token embedding"
    expected = Transformer(checkpoint, experts=experts, embedding=embedding).forward(tokens, positions,
                                                                                    on_layer=layer_done)
    seconds["reference"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - started
    return VerifyResult(package=package_folder, target=package.target, provider=used_provider,
                        checkpoint=checkpoint_folder, source_check=source_check,
                        agreement=compare_logits(np.stack(rows), expected), tolerance=tolerance,
                        mxfp4_source=checkpoint.experts_are_mxfp4, layers=layers, weights_error=weights_error,
                        weights_where=weights_where, seconds=seconds)


def _run_package(generator, tokens: list[int], prompt_length: int,  # noqa: ANN001 - an engine Generator
                 cancel: threading.Event | None) -> list[np.ndarray]:
    """The package's logits after the prompt and after each further token fed alone (copies: the generator
    reuses its buffer)."""
    rows = [np.array(generator.forward(tokens[:prompt_length]), dtype=np.float32)]
    for token in tokens[prompt_length:]:
        _check(cancel)
        rows.append(np.array(generator.forward([token]), dtype=np.float32))
    return rows


# --- when the app verifies ---------------------------------------------------------------------------------------
PASSED, FAILED, UNVERIFIED = "passed", "failed", "not verified"


@dataclass(frozen=True)
class OpenVerdict:
    """What the app tells the user about the package it is opening (status PASSED, FAILED or UNVERIFIED)."""

    status: str
    sentence: str


def verify_on_open(package_folder: Path, model: object, on_progress: ProgressCallback = lambda _p: None,
                   cancel: threading.Event | None = None) -> OpenVerdict:
    """The app's rule, run each time it opens a package (with the model it has just loaded):

    - a verdict recorded for this package and provider is reused (a failed one is never retried: the bytes are
      the same, so the result would be);
    - otherwise the package is verified when it was converted on this computer (right after the conversion)
      or runs on a GPU provider (the first time: those kernels never ran in Enclave's tests), and the verdict
      is recorded;
    - a package copied from elsewhere, on the CPU, is not verified on open (ONNX Runtime's CPU kernels are
      the ones the project's tests check), and one whose checkpoint is not on this computer cannot be: both
      open with a sentence saying so. A damaged package fails.
    """
    from app.engine.providers import CPU
    from app.package.local_record import recall_verdict, remember_verdict

    package_folder = Path(package_folder)
    try:
        package = read_package(package_folder)
    except PackageError as exc:
        return OpenVerdict(FAILED, f"{exc}; the package is damaged: copy or export it again.")
    provider = model.provider.provider  # type: ignore[attr-defined]
    short = provider.removesuffix("ExecutionProvider")
    known = recall_verdict(package.manifest, provider)
    if known is not None:
        return OpenVerdict(PASSED if known.passed else FAILED, known.sentence)
    if provider == CPU and not recall_sources(package.manifest):
        return OpenVerdict(UNVERIFIED, f"Not verified on this computer: the package was not converted here "
                                       f"(enclave verify {package_folder} --against CHECKPOINT checks it).")
    try:
        # The app's opening already hashed the package's files (app.library.opening): not again here.
        result = verify_package(package_folder, model=model, hash_files=False, on_progress=on_progress,
                                cancel=cancel)
    except PackageDamaged as exc:  # about the bytes on disk now, not the package: not remembered
        return OpenVerdict(FAILED, f"{exc}; the package is damaged: copy or export it again.")
    except VerifyError as exc:
        return OpenVerdict(UNVERIFIED, f"Not verified on {short}: {exc}.")
    remember_verdict(package.manifest, provider, result.passed, result.sentence())
    return OpenVerdict(PASSED if result.passed else FAILED, result.sentence())


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise VerifyCancelled("verification cancelled")
