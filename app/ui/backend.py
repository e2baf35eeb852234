"""How the window uses the engine: opening a model folder with the choices a desktop app makes, and
converting a checkpoint. No Qt: these run on the engine thread (app.ui.engine_host calls them).

The chat itself is app.engine.assistant.Assistant, the same use case `enclave chat` drives.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from app.engine.assistant import Assistant
from app.engine.events import LoadProgress
from app.engine.session import load_model
from app.storage.settings import EngineSettings
from app.ui.i18n import translate
from app.ui.requests import ExportRequest


def prepare_model(path: Path, progress: Callable[[LoadProgress], None]) -> Path:
    """Opening is verifying (app.library.opening): the folder to load, after its checks; raises with the sentence.

    Runs before the model in use is closed, so a folder that fails never costs the user the model they had. A
    checkpoint opens the package converted from exactly its content, if there is one.
    """
    from app.library.errors import LibraryError
    from app.library.library import Library
    from app.library.opening import checkpoint_sentence, prepare_open

    def relay(p) -> None:
        progress(LoadProgress(p.describe(), p.fraction))

    library = Library()
    decision = prepare_open(path, library, progress=relay)
    if decision.loadable is None:
        raise LibraryError(checkpoint_sentence(decision.folder))
    library.mark_used(decision.loadable)
    return decision.loadable


class PackageRefused(RuntimeError):
    """The package failed verification on this computer; the message says why and what to do."""


def default_cpu_threads() -> int:
    """One core stays free for the window: ORT's pool busy-waits between kernels, and a UI thread that
    competes with it for every core stutters while the reply streams."""
    return max(1, (os.cpu_count() or 2) - 1)


def open_backend(path: Path, progress: Callable[[LoadProgress], None],
                 engine: EngineSettings = EngineSettings()) -> Assistant:
    """Opens a package the way the window does; `engine` is what Preferences set (None fields: automatic).

    The first time a package runs here after a conversion or on a GPU, it is proved against its checkpoint
    (app.reference.verify.verify_on_open); a package that fails is closed and refused."""
    from app.engine.session import read_package_facts
    from app.reference.verify import FAILED, verify_on_open

    def step(p: LoadProgress) -> None:
        progress(_not_ready_yet(p))

    provider, max_length = load_choices(path)
    model = load_model(path, progress=step, provider=provider,
                       threads=engine.cpu_threads or default_cpu_threads(),
                       max_length=engine.context_length or max_length)
    if read_package_facts(path).target is None:  # an onnxruntime-genai folder: no manifest, no checkpoint
        return Assistant(model)
    verdict = verify_on_open(path, model, step)
    if verdict.status == FAILED:
        model.close()
        raise PackageRefused(translate("Backend", "Enclave will not chat with {name}: {reason}").format(
            name=Path(path).name, reason=verdict.sentence))
    model.info = dataclasses.replace(model.info, verification=f"{verdict.status}: {verdict.sentence}")
    return Assistant(model)


def _not_ready_yet(progress: LoadProgress) -> LoadProgress:
    """The engine says "Model loaded" when its session exists; the window is ready only once the chat is set up
    too, so the last step shows as a step, not as done (the window says "Loaded …" when it really is)."""
    if progress.fraction is not None and progress.fraction >= 1.0:
        return LoadProgress(translate("Backend", "Preparing the chat"), 0.95)
    return progress


# On the CPU the KV buffers are zero-filled on demand, so a long context costs memory only as it is used;
# there it fits the document budget (16k tokens) plus a long chat. On a GPU the buffers are real allocations
# next to a 13-65 GB model, so the engine's default (8k) stays.
CPU_APP_CONTEXT = 32768


def load_choices(path: Path) -> tuple[str | None, int | None]:
    """(provider, context length) the window asks the engine for; None means the engine's own choice.

    The provider is "cpu" for a package whose own provider this computer lacks but which runs on CPU (a dml
    package on a machine without DirectML): the engine does that only when asked, and opening the model in
    the window is the user asking.
    """
    from app.engine.providers import CPU, detect_environment
    from app.engine.session import LoadError, read_package_facts
    from app.package.targets import TARGETS

    try:
        target = read_package_facts(path).target
    except LoadError:
        return None, None  # load_model reports the problem with the folder
    record = TARGETS.get(target or "")
    max_length = CPU_APP_CONTEXT if record and record.runs_on_cpu else None
    if record is None or CPU not in record.on_request:
        return None, max_length
    if any(p in detect_environment().available for p in record.providers):
        return None, max_length
    return "cpu", CPU_APP_CONTEXT


def suggest_export(checkpoint: Path) -> tuple[str, Path, str]:
    """(target, output folder, why) for converting `checkpoint` on this computer; the why gives the measured needs
    (app.package.footprint, rounded as the catalog rounds them), and on a computer whose RAM holds the cpu-int4
    package only through its memory-mapped copy it says so (the window offers that copy when the model loads)."""
    import onnxruntime as ort
    import psutil

    from app.checkpoint.config import ConfigError, GptOssConfig
    from app.model_folder import deepest_layers, recommend_target
    from app.package.footprint import copy_bytes, memory_needed, memory_needed_gb, package_bytes

    size = sum(p.stat().st_size for p in checkpoint.glob("*.safetensors"))
    try:
        layers: int | None = GptOssConfig.from_file(checkpoint / "config.json").num_hidden_layers
    except ConfigError:
        layers = None  # the conversion refuses the checkpoint with the sentence; the advice counts the deepest
    depth = deepest_layers() if layers is None else layers
    ram = psutil.virtual_memory().total
    target = recommend_target(ort.get_available_providers(), ram, size, depth)
    need, small = memory_needed_gb("cpu", size, depth), memory_needed_gb("cpu-int4", size, depth)
    reasons = {"cuda": translate("Backend", "an NVIDIA GPU was found"),
               "dml": translate("Backend", "a DirectML GPU was found"),
               "cpu": translate("Backend", "no supported GPU; this computer's {ram} GB of memory holds the lossless "
                                           "CPU package (a chat with it needs about {need} GB)").format(
                   ram=f"{ram / 1e9:.0f}", need=f"{need:.0f}"),
               "cpu-int4": translate("Backend", "no supported GPU; the lossless CPU package needs about {need} GB of "
                                                "memory and this computer has {ram} GB, so the smaller one (about "
                                                "{small} GB)").format(
                   ram=f"{ram / 1e9:.0f}", need=f"{need:.0f}", small=f"{small:.0f}")}
    reason = reasons[target]
    copied = memory_needed("cpu-int4", size, depth, prepacked=True)
    if target == "cpu-int4" and copied <= ram < memory_needed("cpu-int4", size, depth):
        reason += translate("Backend", "; with {ram} GB it runs at full speed from a memory-mapped copy (about "
                                       "{copy} GB of memory), which Enclave offers to prepare when the model loads "
                                       "and which takes another {disk} GB of disk").format(
            ram=f"{ram / 1e9:.0f}", copy=f"{memory_needed_gb('cpu-int4', size, depth, prepacked=True):.0f}",
            disk=f"{copy_bytes('cpu-int4', package_bytes('cpu-int4', size)) / 1e9:.0f}")
    advice = catalog_advice(checkpoint, target)
    if advice:
        reason += translate("Backend", "; this target suits {advice}").format(advice=advice)
    return target, conversion_folder(checkpoint, target), reason


def conversion_folder(checkpoint: Path, target: str) -> Path:
    """A new folder in the library for the package (named after the checkpoint, never reused by name)."""
    from app.library import paths
    from app.library.library import Library

    library = Library()
    base = paths.safe_name(f"{checkpoint.name}-{target}")
    name, n = base, 2
    while library.registry.get(name) is not None or (library.root / paths.MODELS_DIR / name).exists():
        name, n = f"{base}-{n}", n + 1
    return library.root / paths.MODELS_DIR / name


def converted_package(checkpoint: Path) -> Path | None:
    """The package converted earlier from exactly this checkpoint's content, when a record says so (cheap: no
    file is read; an unknown or changed checkpoint gives None and is hashed when it is converted)."""
    from app.library.errors import LibraryError
    from app.library.library import Library
    from app.library.opening import checkpoint_key

    library = Library()
    try:
        key = checkpoint_key(checkpoint, library, known_only=True)
    except LibraryError:
        return None
    package = library.package_for_source(key) if key else None
    return Path(package.folder) if package else None


def catalog_advice(checkpoint: Path, target: str) -> str | None:
    """What models/catalog.json says `target` suits, for the catalog model with this checkpoint's shape."""
    from app.checkpoint.config import ConfigError, GptOssConfig
    from app.model_catalog import load_catalog

    try:
        config = GptOssConfig.from_file(checkpoint / "config.json")
    except ConfigError:
        return None
    for model in load_catalog():
        if (model.layers, model.experts) == (config.num_hidden_layers, config.num_local_experts):
            return next((t.suits for t in model.targets if t.target == target), None)
    return None


def export_checkpoint(request: ExportRequest, progress: Callable[[LoadProgress], None]) -> Path:
    """Converts a checkpoint after checking it (hashes when the folder carries references, else its structure),
    unless a package of exactly this content exists already; the package is recorded in the library."""
    from app.export.exporter import export_model
    from app.library.errors import Cancelled
    from app.library.library import Library
    from app.library.opening import checkpoint_key

    library = Library()

    def relay(p) -> None:
        if request.cancel.is_set():
            raise Cancelled("cancelled")
        progress(LoadProgress(p.describe(), p.fraction))

    key = checkpoint_key(request.source, library, progress=relay)
    existing = library.package_for_source(key or "", request.target)
    if existing is not None:
        return Path(existing.folder)
    os.makedirs(request.output.parent, exist_ok=True)
    result = export_model(request.source, request.output, request.target, on_progress=progress,
                          cancel=request.cancel)
    library.register_package(result.folder, key, str(request.source))
    return result.folder
