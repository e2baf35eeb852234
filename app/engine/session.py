"""Loading a model folder into an ONNX Runtime session: checks, provider choice, timing, memory.

Accepts an Enclave package (manifest.json + genai_config.json + model.onnx + model.onnx.data) or a plain
onnxruntime-genai folder (genai_config.json + its model file). genai_config.json is the common ground: it
names the graph file and the cache inputs; the manifest (read through app.package) adds the export target
and the KV layout. Everything about the cache that the graph itself can tell (dtype, position_ids input,
vocabulary width) is read from the session's own input/output metadata, so the two can never disagree.

Before ONNX Runtime sees the graph, every external-data reference is checked against the files on disk:
a missing or truncated `model.onnx.data` becomes one sentence naming the file and the tensor, instead of
an ORT stack trace (or a crash while memory-mapping). External data is memory-mapped by ORT's CPU provider
when tensors are page aligned (the exporter aligns them), so loading costs page-cache, not a copy, except for
the weights ORT's kernels prepack into private copies (see session_options).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from app.engine.events import LoadProgress, ModelInfo
from app.engine.kv_cache import KVSpec, cache_bytes
from app.engine.memory import peak_rss, release_free_heap
from app.engine.providers import (
    CPU,
    CUDA,
    DML,
    Environment,
    ProviderChoice,
    ProviderError,
    choose_provider,
    detect_environment,
    normalise,
)
from app.package.footprint import mapped_bytes, private_bytes
from app.json_files import read_json_object
from app.package.manifest import GENAI_CONFIG_FILE, MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE, PackageError
from app.package.reader import Package, read_package
from app.package.targets import (
    ATTENTION_MASK,
    CONCAT,
    INPUT_IDS,
    KV_LAYOUTS,
    LOGITS,
    PAST_KEY,
    PAST_VALUE,
    POSITION_IDS,
    PRESENT_KEY,
    PRESENT_VALUE,
    SHARED_BUFFER,
    TARGETS,
)

# KV buffers are allocated for this many positions unless the caller asks for more (or the model allows
# fewer). 8k tokens is a long chat; the full 131k context would reserve 13 GB of address space per 24 layers.
DEFAULT_MAX_LENGTH = 8192

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(bfloat16)": np.uint16}


class LoadError(RuntimeError):
    """The folder cannot be loaded; the message is one sentence for the user."""


class CopyWouldFit(LoadError):
    """The CPU was refused for memory, and with a prepacked copy of the package (app.engine.prepacked) it would
    fit: the app offers to make one, the CLI names `enclave prepare`."""

    def __init__(self, message: str, package: Path) -> None:
        super().__init__(message)
        self.package = package


@dataclass(frozen=True)
class PackageFacts:
    """What the engine knows about a folder before creating a session."""

    folder: Path
    name: str
    model_file: Path
    target: str | None  # None for onnxruntime-genai folders without a manifest
    context_length: int
    kv_layout: str
    stop_token_ids: tuple[int, ...]
    num_layers: int
    kv_heads: int
    head_dim: int
    query_heads: int  # attention heads; sizes the CPU prefill's score matrix (see Generator.prefill)
    # genai_config's decoder.sliding_window: layers whose KV buffers hold only window + slack positions
    window_layers: tuple[int, ...] = ()
    window: int = 0
    window_capacity: int = 0
    inputs: dict[str, str] = field(default_factory=dict)  # genai_config names
    outputs: dict[str, str] = field(default_factory=dict)
    data_files: tuple[Path, ...] = ()

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.model_file, *self.data_files) if p.exists())


def read_package_facts(folder: Path, *, verify: bool = False) -> PackageFacts:
    """Reads genai_config.json (and manifest.json when present) and checks the graph's data files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LoadError(f"{folder} is not a folder; point at an exported model package.")
    genai = _read_json(folder / GENAI_CONFIG_FILE, GENAI_CONFIG_FILE)
    try:
        model = genai["model"]
        decoder = model["decoder"]
        model_file = folder / decoder.get("filename", MODEL_FILE)
        eos = model.get("eos_token_id", [])
        stop_ids = tuple(int(e) for e in (eos if isinstance(eos, list) else [eos]))
        num_layers = int(decoder["num_hidden_layers"])
        kv_heads = int(decoder["num_key_value_heads"])
        query_heads = int(decoder["num_attention_heads"])
        head_dim = int(decoder["head_size"])
        context_length = int(model["context_length"])
        share = bool(genai.get("search", {}).get("past_present_share_buffer", True))
        inputs, outputs = dict(decoder.get("inputs", {})), dict(decoder.get("outputs", {}))
        sliding = decoder.get("sliding_window")
        window_layers, window, capacity = (), 0, 0
        if sliding is not None:
            window_layers, window, capacity = _window_cache(sliding, num_layers, folder / GENAI_CONFIG_FILE)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LoadError(f"{folder / GENAI_CONFIG_FILE} lacks a required field ({exc}).") from exc
    target, kv_layout, name = None, SHARED_BUFFER if share else CONCAT, folder.name
    if (folder / MANIFEST_FILE).exists():
        package = _read_package(folder, verify)
        target = package.target
        kv_layout = str(package.io.get("kv_layout", kv_layout))
        name = package.manifest.source.name or name
        if kv_layout not in KV_LAYOUTS:
            raise LoadError(f"{folder / MANIFEST_FILE} names the KV-cache layout {kv_layout!r}, which this Enclave "
                            f"does not know ({' or '.join(KV_LAYOUTS)}); export the model again.")
    if not model_file.is_file():
        raise LoadError(f"{model_file.name} is missing from {folder}; the package is incomplete, export it again.")
    data_files = check_external_data(model_file)
    return PackageFacts(folder=folder, name=name, model_file=model_file, target=target,
                        context_length=context_length, kv_layout=kv_layout, stop_token_ids=stop_ids,
                        num_layers=num_layers, kv_heads=kv_heads, head_dim=head_dim, query_heads=query_heads,
                        window_layers=window_layers, window=window, window_capacity=capacity, inputs=inputs,
                        outputs=outputs, data_files=data_files)


_SLIDING_KEYS = {"window_size", "slide_key_value_cache", "slide_inputs", "layers", "cache_slack"}


def _window_cache(sliding: Any, num_layers: int, path: Path) -> tuple[tuple[int, ...], int, int]:
    """(window layers, window, capacity) from genai_config's decoder.sliding_window, refused with one sentence
    unless it is exactly what the exporter writes: the cache's buffer sizes follow it, so a value guessed
    wrong would run attention over the wrong positions instead of failing."""
    if not isinstance(sliding, dict) or set(sliding) - _SLIDING_KEYS:
        raise LoadError(f"{path} has a sliding_window section with fields this Enclave does not know "
                        f"({sorted(set(sliding) - _SLIDING_KEYS) if isinstance(sliding, dict) else sliding!r}); "
                        "export the model again.")
    if sliding.get("slide_key_value_cache") is not False or sliding.get("slide_inputs") is not False:
        raise LoadError(f"{path} asks for a sliding key/value cache or sliding inputs, which this Enclave does "
                        "not drive; export the model again.")
    layers, window, slack = sliding.get("layers"), sliding.get("window_size"), sliding.get("cache_slack")
    ints = isinstance(layers, list) and all(type(i) is int for i in layers) and type(window) is int \
        and type(slack) is int
    if not ints or not layers or len(set(layers)) != len(layers) or not all(0 <= i < num_layers for i in layers) \
            or window <= 0 or slack < 0:
        raise LoadError(f"{path} has a sliding_window section that is not valid (layers {layers!r}, window_size "
                        f"{window!r}, cache_slack {slack!r}); export the model again.")
    return tuple(layers), window, window + slack


def kv_cache_bytes(facts: PackageFacts, length: int, dtype: np.dtype = np.dtype(np.float32)) -> int:
    """Bytes of the KV cache at `length` positions, window snapshots included (float32 by default: an upper
    bound for float16 packages)."""
    return cache_bytes(kv_spec(facts, dtype), length)


def kv_spec(facts: PackageFacts, dtype: np.dtype, **names: str) -> KVSpec:
    """The KV cache's shape from the package's facts, in `dtype` (the graph's), with the graph's I/O names."""
    return KVSpec(num_layers=facts.num_layers, kv_heads=facts.kv_heads, head_dim=facts.head_dim, dtype=dtype,
                  layout=facts.kv_layout, window_layers=facts.window_layers, window=facts.window,
                  window_capacity=facts.window_capacity, **names)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    return read_json_object(path, lambda sentence: LoadError(f"{sentence}."),
                            missing=f"{path.parent} has no {what}; it is not an exported model package")


def _read_package(folder: Path, verify: bool) -> Package:
    """The Enclave manifest through app.package (sizes always checked; SHA-256 too with `verify`)."""
    try:
        return read_package(folder, verify=verify)
    except PackageError as exc:
        raise LoadError(f"{exc}.") from exc


def check_external_data(model_file: Path) -> tuple[Path, ...]:
    """Every external-data file the graph references must exist and be long enough for its tensors.

    Reads only the graph structure (the weights stay on disk), so this costs milliseconds.
    """
    import onnx

    try:
        proto = onnx.load(str(model_file), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises assorted errors for damaged files
        raise LoadError(f"{model_file} is damaged and cannot be parsed ({type(exc).__name__}).") from exc
    needed: dict[str, tuple[int, str]] = {}  # file -> (bytes needed, tensor that needs the most)
    for tensor in proto.graph.initializer:
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        try:
            ends = [int(info.get("offset", 0)) + int(info.get("length", 0)),
                    *(_prepacked_end(value) for key, value in info.items() if key.startswith("prepacked_"))]
        except ValueError as exc:
            raise LoadError(f"{model_file} is damaged: tensor {tensor.name!r} has an invalid external-data "
                            f"entry ({exc}).") from exc
        end = max(ends)
        if end > needed.get(location, (-1, ""))[0]:
            needed[location] = (end, tensor.name)
    files = []
    for location, (end, tensor_name) in needed.items():
        path = model_file.parent / location
        if not path.is_file():
            raise LoadError(f"the weights file {path.name} is missing from {model_file.parent}; "
                            "copy it back or export the model again.")
        size = path.stat().st_size
        if size < end:
            raise LoadError(f"the weights file {path} is damaged: it has {size:,} bytes but tensor "
                            f"{tensor_name!r} needs {end:,}; export the model again.")
        files.append(path)
    return tuple(files)


def _prepacked_end(entry: str) -> int:
    """Where the last blob of an ORT prepacked-weights entry ("<op>+<hash>|offset;length;align|...", which ORT
    1.32 writes into a saved optimised model's external data, app.engine.prepacked) ends in the tensor's file."""
    _kernel, *blobs = entry.split("|")
    if not blobs:
        raise ValueError(f"prepacked entry {entry[:60]!r} names no blob")
    ends = []
    for blob in blobs:
        parts = blob.split(";")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ValueError(f"prepacked blob {blob[:60]!r} is not offset;length;alignment")
        ends.append(int(parts[0]) + int(parts[1]))
    return max(ends)


def session_options(threads: int | None = None, *, spinning: bool = False, prepack: bool = True,
                    save_prepacked_to: Path | None = None) -> ort.SessionOptions:
    """Options shared by every session we create (and documented so benchmarks can quote them).

    - spinning off: ORT's pool threads otherwise busy-wait between kernels. On a desktop that steals the
      cores the UI and other programs need; on the shared 2-core benchmark machine spinning-off decode
      measured 0.9-1.3x of spinning-on, never clearly worse.
    - denormals flushed to zero: subnormal floats (|x| < 1.2e-38) take a slow microcode path on x86.
      Flushing them changes logits by far less than float32 rounding, and on the 20b-layers cpu-int4
      package it halved TTFT (1.47 s -> 0.80 s for 512 tokens) and doubled decode (10 -> 20 tok/s).
    - prepack on: ORT's CPU matrix kernels re-lay their constant weights at load into private copies and
      drop the memory-mapped originals. Measured per operator at gpt-oss-20b widths (ORT 1.32, 2 threads,
      single-operator graphs with page-aligned external data, prepacking on vs off in alternating runs,
      load 7-12; docs/benchmarks.md "Where the memory goes"): MatMulNBits int8 (accuracy_level 4) copies
      1.11-1.22x its stored bytes and without prepacking is 90-190x slower at M=1 (QKV 1.0 vs 159 ms, lm_head
      101-160 ms vs 13.5-14.1 s); QMoE int4 copies 1.145x (int8: 1.31x) and without it is 8-11x slower at M=1
      (32-40 vs 316-341 ms) and 1.8x at M=512; float32 MatMul/Gemm copy 1.0x and gain nothing measurable at
      M=1 (lm_head Gemm at a quarter of the vocabulary 99-106 vs 78-100 ms); GatherBlockQuantized copies
      nothing. ORT 1.32 has one switch for all operators, and the int8/int4 kernels need it, so it stays on:
      a cpu-int4 package's private memory is about 1.08x its size (measured at 24 distinct layers;
      app.package.targets, Footprint).
      ORT also shares prepacked buffers whose contents are identical (two identical QMoE layers 648 MB, two
      different 1,047 MB), so a checkpoint with repeated layers understates this.
      Per operator, the graph form decides: ORT prepacks only constant initializers, and a weight also listed
      as a graph input is not one (float32 QKV MatMul: 1.4 instead of 60.4 MB private, no slower). Not used:
      unprepacked MatMul's rows then depend on the batch shape, so chunked and whole prompts disagreed
      (app.package.targets, the cpu footprint's comment).
      `prepack=False` keeps every weight mapped (for checks on machines without the memory); it is far
      slower (2-layer cpu-int4 package: 22.3 s per decoded token against 0.23-0.53 s, and a 3.2 GB transient
      peak while MatMulNBits dequantises the lm_head). Memory-mapping the prepacked weights themselves
      (ORT's optimized-model save with session.save_external_prepacked_constant_initializers) measured
      246 instead of 1,936 MB private on the 2-layer cpu-int4 package at no loss of speed (at 24 distinct
      layers: 100 instead of 13,420 MB, the first round after a load 0.66-0.84x the package's speed while the
      page cache fills), but needs a machine-local copy of the package (its layout depends on this CPU and
      ORT build) of 1.74x its size at 2 layers and 1.96x at 24,
      app.engine.prepacked makes it in parts (`save_prepacked_to`: the session saves its optimised graph
      there, with one data file holding the originals and, when prepacking, their prepacked blobs) and
      load_model uses it.
    - CPU arena and memory pattern at ORT's defaults (on): on the 2-layer cpu-int4 package without the arena
      the kernels kept no prepacked weights (412 MB private, 22 s per token); without the memory pattern
      nothing was saved (decode 489 vs 228-248 ms at 512 tokens, 462 vs 555 ms at 8k; alternating runs).
    """
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # errors only: ORT's warnings about unused initializers are noise to users
    if threads:
        so.intra_op_num_threads = threads
    so.add_session_config_entry("session.set_denormal_as_zero", "1")
    if not spinning:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    so.add_session_config_entry("session.disable_prepacking", "0" if prepack else "1")
    if save_prepacked_to is not None:
        so.optimized_model_filepath = str(save_prepacked_to)
        so.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                    save_prepacked_to.name + ".data")
        so.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
        so.add_session_config_entry("session.save_external_prepacked_constant_initializers", "1")
    return so


class LoadedModel:
    """A ready session plus everything needed to drive it. Create with `load_model`."""

    def __init__(self, facts: PackageFacts, session: ort.InferenceSession, tokenizer: Tokenizer,
                 choice: ProviderChoice, info: ModelInfo, max_length: int) -> None:
        self.facts = facts
        self.session = session
        self.tokenizer = tokenizer
        self.provider = choice
        self.info = info
        self.max_length = max_length
        inputs = {i.name: i for i in session.get_inputs()}
        outputs = {o.name: o for o in session.get_outputs()}
        names_in, names_out = facts.inputs, facts.outputs
        self.input_ids_name = names_in.get("input_ids", INPUT_IDS)
        self.attention_mask_name = names_in.get("attention_mask", ATTENTION_MASK)
        position_name = names_in.get("position_ids", POSITION_IDS)
        self.position_ids_name = position_name if position_name in inputs else None
        self.logits_name = names_out.get("logits", LOGITS)
        past_key = names_in.get("past_key_names", PAST_KEY)
        first_past = inputs.get(past_key % 0)
        if first_past is None or self.logits_name not in outputs:
            raise LoadError(f"{facts.model_file} does not have the expected inputs/outputs "
                            f"({past_key % 0}, {self.logits_name}); it is not a decoder exported for this app.")
        kv_dtype = _ORT_TYPES.get(first_past.type)
        logits_dtype = _ORT_TYPES.get(outputs[self.logits_name].type)
        if kv_dtype is None or logits_dtype is None:
            raise LoadError(f"{facts.model_file} uses an unsupported tensor type ({first_past.type}).")
        self.logits_dtype = np.dtype(logits_dtype)
        logits_shape = outputs[self.logits_name].shape
        # Enclave graphs output only the last position ([batch, 1, vocab]); onnxruntime-genai's own exports
        # output every position ([batch, sequence_length, vocab]), which the generator handles in prefill.
        self.logits_all_positions = not (len(logits_shape) == 3 and logits_shape[1] == 1)
        vocab = logits_shape[-1]
        self.vocab_size = int(vocab) if isinstance(vocab, int) else tokenizer.get_vocab_size()
        self.kv_spec = kv_spec(facts, np.dtype(kv_dtype), past_key=past_key,
                               past_value=names_in.get("past_value_names", PAST_VALUE),
                               present_key=names_out.get("present_key_names", PRESENT_KEY),
                               present_value=names_out.get("present_value_names", PRESENT_VALUE))
        self.device = {CUDA: "cuda", DML: "dml"}.get(choice.provider, "cpu")

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`. Chat prompts are built by app.engine.harmony instead; note that a HarmonyCodec
        created on this tokenizer makes special-token spellings in `text` encode as plain text."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def close(self) -> None:
        """Drops the session (and with it the memory-mapped weights)."""
        self.session = None  # type: ignore[assignment]


def load_model(
    folder: Path | str,
    *,
    provider: str | None = None,
    max_length: int | None = None,
    threads: int | None = None,
    prepack: bool = True,
    verify: bool = False,
    use_copy: bool = True,
    progress: Callable[[LoadProgress], None] = lambda _p: None,
) -> LoadedModel:
    """Loads a package: checks its files, picks the provider, creates the session, loads the tokenizer.

    `verify` re-hashes every file against the manifest (catches bit rot, costs a full read of the weights), and
    a prepacked copy's data file against its key. `use_copy`: on the CPU, open the package's valid prepacked copy
    on this machine when there is one (app.engine.prepacked: the prepacked weights are then memory-mapped, not
    private); a copy that fails a check is named in the provider reason and the package itself is loaded.
    """
    from app.engine import prepacked as prepacked_copies

    started = time.perf_counter()
    progress(LoadProgress("Checking model files", 0.0))
    facts = read_package_facts(Path(folder), verify=verify)
    length = min(max_length or DEFAULT_MAX_LENGTH, facts.context_length)
    on_cpu = provider is None or _normalised(provider) == CPU
    lookup = prepacked_copies.CopyLookup()
    if use_copy and prepack and on_cpu:
        lookup = prepacked_copies.find_copy(facts, verify=verify)
    env = detect_environment()
    try:
        # Without prepacking (or from a prepacked copy) the weights stay memory-mapped: the copy's budget.
        choice = _choose(env, facts, length, provider, prepacked=lookup.folder is not None or not prepack)
    except ProviderError as exc:
        hint = _prepare_hint(env, facts, length, provider, lookup)
        if hint:
            raise CopyWouldFit(str(exc) + hint, facts.folder) from exc
        raise LoadError(str(exc)) from exc
    tokenizer_path = facts.folder / TOKENIZER_FILE
    if not tokenizer_path.is_file():
        raise LoadError(f"{TOKENIZER_FILE} is missing from {facts.folder}; the package is incomplete.")
    try:
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception carrying serde's message
        raise LoadError(f"{tokenizer_path} is not a valid tokenizer file ({str(exc).strip() or type(exc).__name__}); "
                        "copy or export the model again.") from exc
    progress(LoadProgress(f"Loading weights on {choice.provider.removesuffix('ExecutionProvider')}", 0.1))
    providers: list[Any] = [choice.provider] if choice.provider == CPU else [choice.provider, CPU]
    # Windows builds report session events through ETW, which this call switches off; the 1DS uploader of the
    # Linux and macOS wheels ignores it and is off through ORT_DISABLE_TELEMETRY (app/offline_env.py).
    getattr(ort, "disable_telemetry_events", lambda: None)()
    options = session_options(threads, prepack=prepack)
    session, notes, mapped_from = None, [], ""
    if lookup.folder is not None and choice.provider == CPU:
        try:
            session = ort.InferenceSession(str(lookup.model_file), sess_options=options, providers=providers)
            mapped_from = str(lookup.folder)
            notes.append(f"weights memory-mapped from the prepacked copy in {mapped_from}")
        except Exception as exc:  # noqa: BLE001 - ORT refuses a damaged blob ("do not match the buffers ...")
            notes.append(f"the prepacked copy in {lookup.folder} was refused by ONNX Runtime "
                         f"({_first_line(exc)}); loaded the package itself")
            try:  # the package's own budget holds every prepacked weight privately
                choice = _choose(env, facts, length, provider, prepacked=False)
            except ProviderError as again:
                raise LoadError(f"{notes[-1]}, but {again}") from again
    elif lookup.refusal:
        notes.append(lookup.refusal.rstrip("."))
    if session is None:
        try:
            session = ort.InferenceSession(str(facts.model_file), sess_options=options, providers=providers)
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types (Fail, InvalidGraph, ...)
            raise LoadError(f"ONNX Runtime could not load {facts.model_file.name} from {facts.folder}: "
                            f"{_first_line(exc)}") from exc
    release_free_heap()
    reason = choice.reason + "".join(f"; {note}" for note in notes)
    info = ModelInfo(name=facts.name, path=str(facts.folder), provider=choice.provider,
                     provider_reason=reason, context_length=length, target=facts.target or "genai",
                     load_seconds=time.perf_counter() - started, peak_rss_bytes=peak_rss(),
                     prepacked_copy=mapped_from)
    progress(LoadProgress("Model loaded", 1.0))
    return LoadedModel(facts, session, tokenizer, choice, info, length)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _normalised(provider: str) -> str:
    try:
        return normalise(provider)
    except ValueError as exc:
        raise LoadError(str(exc)) from exc


def _choose(env: Environment, facts: PackageFacts, length: int, provider: str | None, *,
            prepacked: bool) -> ProviderChoice:
    """The provider, after the free-memory check. It counts the weights and the KV cache at the context the
    session will allow (full-length buffers are touched as the conversation grows, so that is what a long chat
    reaches). On the CPU, full speed holds ORT's private copies and the mapped weights it reads in place
    (app.package.footprint; `prepacked`: loaded from a prepacked copy, whose prepacked weights are mapped); an
    onnxruntime-genai folder is counted as the whole package."""
    kv = kv_cache_bytes(facts, length)
    private, whole = None, facts.size_bytes + kv
    if facts.target in TARGETS:
        private = private_bytes(facts.target, facts.size_bytes, prepacked=prepacked) + kv
        if TARGETS[facts.target].runs_on_cpu:
            whole = private + mapped_bytes(facts.target, facts.size_bytes, prepacked=prepacked)
    try:
        return choose_provider(env, target=facts.target, package_bytes=whole, requested=provider,
                               private_bytes=private)
    except ValueError as exc:
        raise LoadError(str(exc)) from exc


def _prepare_hint(env: Environment, facts: PackageFacts, length: int, provider: str | None, lookup: Any) -> str:
    """When the CPU was refused for memory and a prepacked copy would make the package fit: how to make one."""
    from app.engine.prepacked import applies_to, copy_bytes_estimate

    if lookup.folder is not None or not applies_to(facts) or not TARGETS[facts.target].footprint.prepacked_copy:
        return ""
    try:
        _choose(env, facts, length, provider, prepacked=True)
    except (ProviderError, LoadError):
        return ""
    refused = f" ({lookup.refusal.rstrip('.')})" if lookup.refusal else ""
    return (f"; with a prepacked copy of its weights it fits{refused}: run `enclave prepare {facts.folder}` once "
            f"(about {copy_bytes_estimate(facts) / 1e9:.1f} GB of disk)")
