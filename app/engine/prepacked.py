"""A per-machine copy of a CPU package whose prepacked weights ONNX Runtime memory-maps instead of copying.

Why: ORT 1.32's CPU kernels (MatMulNBits, QMoE, MatMul/Gemm) re-lay their constant weights at load into private
memory ("prepacking"), 1.08x a cpu-int4 package (app.package.targets, Footprint), so 20b cpu-int4 needs ~14 GB
that the system can never page out. ORT can save an optimised copy of the model whose external data file also
holds the prepacked blobs (`session.save_external_prepacked_constant_initializers`); a session on that copy
maps them from the file (2-layer 20b-width cpu-int4: 246 instead of 1,936 MB private after load).

What the copy is (measured on ORT 1.32, tests/engine/test_prepacked.py):
- ORT's optimised graph plus one data file holding every original initializer and the prepacked blobs; the
  tensor's external_data gains `prepacked_N = "<op>+<hash>|offset;length;align|..."` entries (offsets into the
  same file). ORT's own save makes the same bytes twice (2-layer 20b-width cpu-int4: same SHA-256).
- At load ORT prepacks every weight again from the originals and looks the result's hash up among the saved
  blobs: found, it checks the saved bytes equal its own (a damaged blob fails the load: "Serialized pre-packed
  weights ... do not match") and maps them, freeing its own copy (2-layer 20b-width cpu-int4: 898 MB peak while
  loading, one weight at a time); not found (other originals, another CPU's layout, another ORT's packing) it
  silently keeps its own private copy. So the originals cannot be left out of the copy (ORT reads them at every
  load: with them zeroed it loaded, computed wrong logits and held the private copy again), a foreign copy never
  computes wrong through ORT but silently loses what it was made for, and damaged originals would compute wrong.
  Hence the key file: the copy is trusted only for the package (its manifest's SHA-256), ONNX Runtime version,
  CPU and graph file it was made with, with its data file's size always checked (SHA-256 with `verify`, as the
  package's own files are).
- Making it: one session that prepacks the whole package would hold all of its private copies (~14 GB at 20b),
  so the blobs are made a part at a time (app.engine.prepack_parts), then a session on the copy must hold them
  mapped, and the copy read without prepacking must give the package's logits (read the same way, which needs
  no private copies) bit for bit.
  On the tiny and the 2-layer 20b-width cpu-int4 packages the copy's logits equal the package's bit for bit.

Where it lives: `<package>/prepacked/` when the package folder is writable (deleting the package deletes it),
else the user's cache folder (`<cache>/prepacked/<package folder name>-<manifest hash>`). It is made by
`enclave prepare PKG` (app.cli.prepare) and used by app.engine.session.load_model on the CPU targets.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.json_files import read_json_object
from app.package.integrity import sha256_file
from app.package.manifest import MANIFEST_FILE
from app.package.targets import TARGETS
from app.progress import LoadProgress

if TYPE_CHECKING:
    from app.engine.session import LoadedModel, PackageFacts

COPY_DIR = "prepacked"  # beside the package: <package>/prepacked/
KEY_FILE = "prepacked.json"
COPY_MODEL = "model.onnx"
COPY_DATA = "model.onnx.data"
FORMAT = 1
# The probe: a fixed prompt read through the package and through the copy, then two greedy steps. Ids below the
# smallest vocabulary Enclave exports (o200k_harmony's 201,088), spread over it.
PROBE_TOKENS = tuple(range(1000, 193000, 12000))
PROBE_STEPS = 2
# CPU features that ONNX Runtime's MLAS kernels dispatch on (its platform.cpp: x86 SSE/AVX/AVX2/FMA/AVX-512/VNNI/
# AMX, Arm NEON dot product, i8mm, SVE, fp16/bf16): a copy made where any of these differs has another layout.
CPU_FLAGS = frozenset({
    "sse3", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq",
    "avx512vl", "avx512_vnni", "avx512vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "avx_vnni_int8",
    "avx_ne_convert", "amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "asimd", "asimddp", "asimdhp", "i8mm",
    "sve", "sve2", "bf16", "fphp",
})


class PrepackedError(RuntimeError):
    """A copy cannot be made or used; the message is one sentence for the user."""


class PrepareCancelled(PrepackedError):
    """The caller's cancel event stopped `derive_copy`; nothing it wrote is left and the package is untouched."""


def _stop_if(cancel: threading.Event | None, package: Path) -> None:
    """Where making a copy can stop: between its steps (ORT's session calls themselves cannot be interrupted)."""
    if cancel is not None and cancel.is_set():
        raise PrepareCancelled(f"Making the prepacked copy of {package} was cancelled; no copy was kept and the "
                               "package is unchanged.")


@dataclass(frozen=True)
class CopyKey:
    """What a copy was made from and with (the key file). A copy is used only where every field but the copy's
    own file facts equals this machine's and the package's."""

    format: int
    package: str  # SHA-256 of the package's manifest.json (which holds every package file's SHA-256)
    onnxruntime: str
    machine: str
    cpu: str
    model_sha256: str  # the copy's graph file
    data_size: int  # the copy's data file
    data_sha256: str

    @classmethod
    def read(cls, path: Path, fix: str) -> CopyKey:
        """The key in `path`, refused with PrepackedError (ending in `fix`) unless it has exactly this format's
        fields and types."""
        data = read_json_object(path, lambda sentence: PrepackedError(f"{sentence}; {fix}."))
        names = {f.name: f.type for f in fields(cls)}
        if set(data) != set(names) or data.get("format") != FORMAT:
            raise PrepackedError(f"{path} is not a prepacked-copy key this Enclave knows (format {FORMAT}); {fix}.")
        for name, kind in names.items():
            if type(data[name]) is not {"int": int, "str": str}[str(kind)]:
                raise PrepackedError(f"{path} has an invalid {name!r}; {fix}.")
        return cls(**data)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class CopyLookup:
    """The valid copy of a package on this machine (its `folder` and `key`, both None when there is none), or why
    none is used (`refusal`: one sentence, "" when there simply is none)."""

    folder: Path | None = None
    key: CopyKey | None = None
    refusal: str = ""

    @property
    def model_file(self) -> Path | None:
        """The graph file a session opens instead of the package's."""
        return None if self.folder is None else self.folder / COPY_MODEL


def _cpu_identity() -> str:
    """This CPU as ONNX Runtime's kernels see it: vendor, model and the dispatch features (Linux: /proc/cpuinfo);
    elsewhere the platform's processor string (the model, which fixes the features)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    flags = info.get("flags") or info.get("Features")
    if flags is None:
        return f"{platform.processor() or 'unknown'}"
    model = info.get("model name") or info.get("CPU part", "")
    vendor = info.get("vendor_id") or info.get("CPU implementer", "")
    return f"{vendor} {model} | " + " ".join(sorted(set(flags.split()) & CPU_FLAGS))


def machine_identity() -> dict[str, str]:
    """The fields of a copy's key that describe this machine and its ONNX Runtime build."""
    import onnxruntime as ort

    return {"onnxruntime": ort.__version__, "machine": platform.machine(), "cpu": _cpu_identity()}


def _package_hash(package: Path) -> str:
    return hashlib.sha256((package / MANIFEST_FILE).read_bytes()).hexdigest()


def cache_root() -> Path:
    """Copies of packages in folders this user cannot write (a read-only share, a USB drive)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("Enclave", "Enclave")) / "prepacked"


def candidate_folders(package: Path) -> tuple[Path, ...]:
    """Where a copy of `package` may be, in the order they are looked at: beside it, then the user's cache."""
    package = Path(package).absolute()
    return package / COPY_DIR, cache_root() / f"{package.name}-{_package_hash(package)[:16]}"


def copy_folder_for(package: Path, *, in_cache: bool = False) -> Path:
    """Where `enclave prepare` writes the copy: beside the package when its folder is writable (and not
    `in_cache`), else the user's cache."""
    beside, cached = candidate_folders(package)
    return beside if os.access(package, os.W_OK) and not in_cache else cached


def applies_to(facts: PackageFacts) -> bool:
    """Copies exist for Enclave packages of the CPU targets only (other providers do not prepack this way)."""
    return facts.target in TARGETS and TARGETS[facts.target].runs_on_cpu


def find_copy(facts: PackageFacts, *, verify: bool = False) -> CopyLookup:
    """The valid copy of the package `facts` describes on this machine, checked before it is trusted; a copy
    that exists but fails a check is refused with one sentence (and left on disk for `enclave prepare`)."""
    if not applies_to(facts):
        return CopyLookup()
    refusal = ""
    for folder in candidate_folders(facts.folder):
        if not (folder / KEY_FILE).is_file():
            continue
        try:
            return check_copy(folder, facts, verify=verify)
        except PrepackedError as exc:
            refusal = str(exc)
    return CopyLookup(refusal=refusal)


def check_copy(folder: Path, facts: PackageFacts, *, verify: bool = False) -> CopyLookup:
    """The copy in `folder` if it was made for this package on this machine and its files are whole."""
    from app.engine.session import LoadError, check_external_data

    fix = f"run `enclave prepare {facts.folder}` to make it again"
    key = CopyKey.read(folder / KEY_FILE, fix)
    here = {"package": _package_hash(facts.folder), **machine_identity()}
    what = {"package": "another version of the package", "onnxruntime": "another ONNX Runtime version",
            "machine": "another kind of computer", "cpu": "another CPU"}
    for name, value in here.items():
        if getattr(key, name) != value:
            raise PrepackedError(f"the prepacked copy in {folder} was made for {what[name]} "
                                 f"({getattr(key, name)!r}, here {value!r}); {fix}.")
    model_file, data_file = folder / COPY_MODEL, folder / COPY_DATA
    if not model_file.is_file() or not data_file.is_file():
        raise PrepackedError(f"the prepacked copy in {folder} lacks {COPY_MODEL} or {COPY_DATA}; {fix}.")
    if hashlib.sha256(model_file.read_bytes()).hexdigest() != key.model_sha256:
        raise PrepackedError(f"the prepacked copy's {model_file} is not the one it was made with; {fix}.")
    if data_file.stat().st_size != key.data_size:
        raise PrepackedError(f"the prepacked copy's {data_file} has {data_file.stat().st_size:,} bytes instead of "
                             f"{key.data_size:,}; {fix}.")
    try:
        check_external_data(model_file)
    except LoadError as exc:
        reason = str(exc).split("; ")[0].rstrip(".")  # the engine's sentence without its advice for packages
        raise PrepackedError(f"the prepacked copy is damaged: {reason}; {fix}.") from exc
    if verify and sha256_file(data_file) != key.data_sha256:
        raise PrepackedError(f"the prepacked copy's {data_file} is damaged (its SHA-256 differs); {fix}.")
    return CopyLookup(folder, key)


def copy_bytes_estimate(facts: PackageFacts) -> int:
    """Disk the copy will take: the package's graph data times the target's measured copy ratio."""
    return int(TARGETS[facts.target].footprint.prepacked_copy * facts.size_bytes)


def probe_logits(model: LoadedModel) -> np.ndarray:
    """The fixed probe's logits (prompt, then PROBE_STEPS greedy steps) as float32 rows."""
    from app.engine.generator import Generator

    generator = Generator(model, max_length=len(PROBE_TOKENS) + PROBE_STEPS + 1)
    logits, _ = generator.prefill(list(PROBE_TOKENS))
    rows = [np.array(logits, dtype=np.float32).ravel()]
    for _ in range(PROBE_STEPS):
        rows.append(np.array(generator.forward([int(np.argmax(rows[-1]))]), dtype=np.float32).ravel())
    return np.stack(rows)


@dataclass(frozen=True)
class DeriveResult:
    """What `derive_copy` made."""

    folder: Path
    key: CopyKey
    bytes: int
    seconds: dict[str, float]
    # the copy's probe (prepacked) against the package read without prepacking, relative RMS: ORT's int8
    # kernels quantise the activations only when prepacked (tiny cpu-int4 0.021-0.040, 2-layer 20b width
    # 0.022-0.028, 24 layers 0.83: the error compounds), so this is information, not the check
    probe_error: float


# A session on a copy whose blobs ORT took holds almost nothing privately (2-layer 20b-width cpu-int4: 20 MB of
# 2,171 MB of weights); one whose blobs it silently rejected re-packs every weight (1.1x of them).
TAKEN_SHARE = 0.5


def derive_copy(package: Path | str, *, threads: int | None = None, destination: Path | None = None,
                progress: Callable[[LoadProgress], None] = lambda _p: None,
                cancel: threading.Event | None = None) -> DeriveResult:
    """Makes the copy of `package` for this machine in bounded memory: ORT saves the package's optimised graph
    without prepacking (the originals only), app.engine.prepack_parts adds the prepacked blobs one part at a
    time, then a session on the copy must hold its blobs mapped (not re-packed privately) and the copy read
    without prepacking must give the probe logits of the package read so, bit for bit. Written into a partial
    folder renamed into place at the end, so an interrupted run leaves no copy that looks valid. `cancel` is
    looked at between the steps, between the parts and between the checksum's reads (at 24 layers a step takes
    up to a minute): set, PrepareCancelled is raised with the partial folder removed (an existing copy stays)."""
    import onnxruntime as ort

    from app.engine.memory import process_memory, release_free_heap
    from app.library.errors import LibraryError
    from app.library.space import SpaceNeed, check_free_space
    from app.engine.prepack_parts import PartsCancelled, prepack_in_parts
    from app.engine.session import LoadedModel, load_model, read_package_facts, session_options

    package = Path(package).absolute()
    facts = read_package_facts(package)
    if not applies_to(facts):
        raise PrepackedError(f"{package} is not an Enclave package for a CPU target ({facts.target or 'no manifest'}); "
                             "only cpu and cpu-int4 packages have prepacked copies.")
    folder = destination or copy_folder_for(package)
    try:  # before anything is written, for the window's offer as for `enclave prepare`
        check_free_space([SpaceNeed(folder.parent, copy_bytes_estimate(facts), "the prepacked copy")])
    except LibraryError as exc:
        raise PrepackedError(str(exc)) from exc
    partial = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    seconds: dict[str, float] = {}
    try:
        started = time.perf_counter()
        progress(LoadProgress("Saving the optimised graph", 0.02))
        ort.InferenceSession(str(facts.model_file), providers=["CPUExecutionProvider"],
                             sess_options=session_options(threads, prepack=False, save_prepacked_to=partial / COPY_MODEL))
        seconds["graph"] = time.perf_counter() - started
        started = time.perf_counter()
        try:
            tensors = prepack_in_parts(
                partial / COPY_MODEL, TARGETS[str(facts.target)].float_type, lambda: session_options(threads),
                lambda done, total: progress(LoadProgress(f"Prepacking the weights, part {min(done + 1, total)} of "
                                                          f"{total}", 0.05 + 0.55 * done / max(total, 1))),
                cancel)
        except PartsCancelled:
            _stop_if(cancel, package)
            raise
        seconds["prepack"] = time.perf_counter() - started
        _stop_if(cancel, package)
        started = time.perf_counter()
        progress(LoadProgress("Checking the copy", 0.6))
        reference = load_model(package, provider="cpu", threads=threads, prepack=False, use_copy=False)
        release_free_heap()
        before = process_memory().get("RssAnon")
        session = ort.InferenceSession(str(partial / COPY_MODEL), sess_options=session_options(threads),
                                       providers=["CPUExecutionProvider"])
        release_free_heap()
        after = process_memory().get("RssAnon")
        weights = _blob_tensor_bytes(partial / COPY_MODEL) or _prepackable_bytes(partial / COPY_MODEL)
        if before is not None and after is not None and after - before > TAKEN_SHARE * weights:
            raise PrepackedError(f"ONNX Runtime did not take the prepacked copy of {package} ({tensors} weights): "
                                 f"it copied {(after - before) / 1e6:,.0f} MB into memory again; no copy was kept.")
        _stop_if(cancel, package)
        progress(LoadProgress("Running the probe through the copy", 0.65))
        through_copy = probe_logits(LoadedModel(reference.facts, session, reference.tokenizer, reference.provider,
                                                reference.info, reference.max_length))
        del session
        _stop_if(cancel, package)
        # The check that holds at any depth: without prepacking, the copy's graph and originals must compute
        # exactly what the package's do (its blobs are ORT's to check: it compares them with its own re-pack).
        progress(LoadProgress("Comparing the copy with the package", 0.7))
        unpacked = ort.InferenceSession(str(partial / COPY_MODEL), sess_options=session_options(threads, prepack=False),
                                        providers=["CPUExecutionProvider"])
        copy_unpacked = probe_logits(LoadedModel(reference.facts, unpacked, reference.tokenizer, reference.provider,
                                                 reference.info, reference.max_length))
        del unpacked
        _stop_if(cancel, package)
        expected = probe_logits(reference)
        reference.close()
        error = float(np.max(np.sqrt(np.mean((through_copy - expected) ** 2, axis=1)) / expected.std(axis=1)))
        seconds["check"] = time.perf_counter() - started
        if not np.array_equal(copy_unpacked, expected):
            worst = float(np.max(np.abs(copy_unpacked - expected)))
            raise PrepackedError(f"the prepacked copy of {package} computes other logits than the package "
                                 f"(both without prepacking; largest difference {worst:.3g}); no copy was kept.")
        _stop_if(cancel, package)
        started = time.perf_counter()
        data = partial / COPY_DATA
        size = data.stat().st_size
        done = [0]

        def hashed(n: int) -> None:
            _stop_if(cancel, package)
            done[0] += n
            progress(LoadProgress("Recording the copy's checksum", 0.75 + 0.24 * done[0] / max(size, 1)))

        key = CopyKey(format=FORMAT, package=_package_hash(package), **machine_identity(),
                      model_sha256=hashlib.sha256((partial / COPY_MODEL).read_bytes()).hexdigest(),
                      data_size=size, data_sha256=sha256_file(data, hashed))
        key.write(partial / KEY_FILE)
        seconds["checksum"] = time.perf_counter() - started
        _stop_if(cancel, package)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    progress(LoadProgress("Prepacked copy ready", 1.0))
    check_copy(folder, facts)
    return DeriveResult(folder, key, sum(p.stat().st_size for p in folder.iterdir() if p.is_file()), seconds, error)


def _prepackable_bytes(model_file: Path) -> int:
    """Bytes of the weights ORT's CPU kernels prepack in the saved graph `model_file` (whether or not it names
    blobs for them)."""
    import onnx

    from app.engine.prepack_parts import parts_of, weight_bytes

    graph = onnx.load(str(model_file), load_external_data=False).graph
    return sum(weight_bytes(graph, node) for part in parts_of(graph) for node in part)


def _blob_tensor_bytes(model_file: Path) -> int:
    """Bytes of the tensors that have prepacked blobs in the saved graph `model_file`."""
    import onnx

    total = 0
    for tensor in onnx.load(str(model_file), load_external_data=False).graph.initializer:
        info = {e.key: e.value for e in tensor.external_data}
        if any(k.startswith("prepacked_") for k in info):
            total += int(info.get("length", 0))
    return total


def remove_copies(package: Path) -> list[Path]:
    """Deletes every copy of `package` (beside it and in the cache); returns the folders removed."""
    removed = []
    for folder in candidate_folders(package):
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(folder)
    return removed
