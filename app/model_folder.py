"""What kind of model folder the user pointed at, and which export target suits this computer.

Shared by the desktop app ("Open model folder…") and the command line, so both accept the same folders and
explain a wrong one in the same words.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path


class FolderKind(enum.Enum):
    ENCLAVE_PACKAGE = "enclave-package"  # manifest.json written by `enclave export`
    GENAI_FOLDER = "onnxruntime-genai"  # genai_config.json + an ONNX model
    HF_CHECKPOINT = "hf-checkpoint"  # config.json + safetensors: must be exported first


class NotAModelFolder(ValueError):
    """The folder holds none of the model layouts Enclave can open."""


@dataclass(frozen=True)
class ModelFolder:
    path: Path
    kind: FolderKind

    @property
    def needs_export(self) -> bool:
        return self.kind is FolderKind.HF_CHECKPOINT


def classify_model_folder(path: Path) -> ModelFolder:
    """Recognises the folder's layout from its files alone (cheap: no weights are read)."""
    path = Path(path)
    if not path.exists():
        raise NotAModelFolder(f"{path} does not exist.")
    if not path.is_dir():
        raise NotAModelFolder(f"{path} is a file; choose the folder that contains the model.")
    if (path / "manifest.json").is_file():
        return ModelFolder(path, FolderKind.ENCLAVE_PACKAGE)
    if (path / "genai_config.json").is_file():
        return ModelFolder(path, FolderKind.GENAI_FOLDER)
    has_weights = any(path.glob("*.safetensors")) or (path / "model.safetensors.index.json").is_file()
    if (path / "config.json").is_file() and has_weights:
        return ModelFolder(path, FolderKind.HF_CHECKPOINT)
    raise NotAModelFolder(
        f"{path} is not a model folder: expected an Enclave package (manifest.json), an onnxruntime-genai "
        "folder (genai_config.json) or a Hugging Face gpt-oss checkpoint (config.json and .safetensors files)."
    )


def recommend_target(available_providers: list[str], total_ram_bytes: int, checkpoint_bytes: int,
                     layers: int | None = None) -> str:
    """The export target that suits this computer: a GPU provider if there is one, else the CPU targets.

    The lossless `cpu` package holds experts in int8, larger than the MXFP4 checkpoint: it is chosen when this
    computer's RAM holds what a chat with the package itself was measured to need (app.package.footprint; its
    prepacked copy would save private memory, not RAM), otherwise the smaller `cpu-int4` package is the one that
    will run. `layers`: the checkpoint's (its config.json); None when the caller cannot tell yet (a download not
    in the catalog), which counts the KV cache of the deepest catalog model, the most a gpt-oss chat holds.
    """
    from app.package.footprint import memory_needed

    if "CUDAExecutionProvider" in available_providers:
        return "cuda"
    if "DmlExecutionProvider" in available_providers:
        return "dml"
    if total_ram_bytes >= memory_needed("cpu", checkpoint_bytes, deepest_layers() if layers is None else layers):
        return "cpu"
    return "cpu-int4"


def deepest_layers() -> int:
    """The most layers a catalog model has (gpt-oss-120b's 36): what the advice counts when a checkpoint's own
    layer count is not known."""
    from app.model_catalog import load_catalog

    return max(model.layers for model in load_catalog())
