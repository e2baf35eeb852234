"""A Hugging Face gpt-oss checkpoint folder: validated once, then read lazily one tensor at a time.

`Checkpoint.open(folder)` checks everything that can be checked without reading tensor data (config, index,
every shard's header and length, every expected tensor's shape and dtype) so that an export fails in the first
second with one sentence naming the file or tensor, not an hour later. After that, `tensor_raw` hands out a
read-only memory map of one tensor and `tensor_f32` a float32 copy, so a consumer's peak memory is bounded by
what it chooses to hold (the exporter: about one layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.checkpoint import mxfp4
from app.checkpoint.config import MXFP4, ConfigError, GptOssConfig
from app.checkpoint.names import FLOAT_EXPERT_PARTS, MXFP4_PARTS, TensorSpec, expected_tensors, layer_names
from app.checkpoint.safetensors_io import (
    SafetensorsFormatError,
    SafetensorsHeader,
    TensorEntry,
    raw_to_f32,
    read_header,
    read_raw,
)
from app.json_files import read_json_object

CONFIG_FILE = "config.json"
INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
GENERATION_CONFIG_FILE = "generation_config.json"
# Every file of a checkpoint folder that Enclave reads besides the shards the index names (the exporter hashes
# them into the package manifest; a download fetches exactly these plus the shards). The official repositories
# also hold `original/` and `metal/` copies of the weights, which nothing here reads.
METADATA_FILES = (CONFIG_FILE, GENERATION_CONFIG_FILE, INDEX_FILE, "tokenizer.json", "tokenizer_config.json")


class CheckpointError(ValueError):
    """The folder is not a usable gpt-oss checkpoint; the message is one sentence naming the file or tensor."""


@dataclass(frozen=True)
class _Located:
    entry: TensorEntry
    path: Path


class Checkpoint:
    """An opened, validated checkpoint. Build it with `Checkpoint.open(folder)`."""

    def __init__(self, folder: Path, config: GptOssConfig, tensors: dict[str, _Located],
                 specs: dict[str, TensorSpec]) -> None:
        self.folder = folder
        self.config = config
        self._tensors = tensors
        self._specs = specs

    # --- opening ------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: Path) -> Checkpoint:
        folder = Path(folder)
        if not folder.is_dir():
            raise CheckpointError(f"{folder}: not a folder; expected a Hugging Face gpt-oss model folder")
        try:
            config = GptOssConfig.from_file(folder / CONFIG_FILE)
        except ConfigError as exc:
            raise CheckpointError(str(exc)) from exc
        shard_of = _weight_map(folder)
        headers: dict[str, SafetensorsHeader] = {}
        for shard in sorted(set(shard_of.values())):
            path = folder / shard
            if not path.is_file():
                raise CheckpointError(f"{path}: shard is missing (listed in {INDEX_FILE})")
            try:
                headers[shard] = read_header(path)
            except SafetensorsFormatError as exc:
                raise CheckpointError(str(exc)) from exc
        tensors: dict[str, _Located] = {}
        for name, shard in shard_of.items():
            entry = headers[shard].entries.get(name)
            if entry is None:
                raise CheckpointError(f"{folder / shard}: tensor {name} is listed in {INDEX_FILE} but not in this shard")
            tensors[name] = _Located(entry, folder / shard)
        _check_expert_layout(folder, config, tensors)
        specs = expected_tensors(config)
        for name, spec in specs.items():
            located = tensors.get(name)
            if located is None:
                raise CheckpointError(f"{folder}: tensor {name} is missing from the checkpoint")
            entry = located.entry
            if entry.dtype not in spec.accepts:
                raise CheckpointError(
                    f"{located.path}: tensor {name} has dtype {entry.dtype}, expected {' or '.join(spec.accepts)}"
                )
            if entry.shape != spec.shape:
                raise CheckpointError(
                    f"{located.path}: tensor {name} has shape {list(entry.shape)}, expected {list(spec.shape)} "
                    f"for this config.json"
                )
        extra = sorted(set(tensors) - set(specs))
        if extra:
            more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
            raise CheckpointError(
                f"{tensors[extra[0]].path}: tensor {extra[0]}{more} is not part of the gpt-oss model config.json "
                "describes; it may change what the model computes (an adapter, another variant, or a config.json "
                "from another model), so the checkpoint is refused rather than exported without it"
            )
        return cls(folder, config, tensors, specs)

    # --- inspection ---------------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """The tensors the model uses, in model order (a checkpoint with any other tensor is refused)."""
        return list(self._specs)

    def spec(self, name: str) -> TensorSpec:
        return self._specs[self._require(name)]

    def tensor_dtype(self, name: str) -> str:
        """The safetensors dtype the file stores `name` in ("BF16", "F16", "F32", "U8", ...)."""
        return self._tensors[self._require(name)].entry.dtype

    @property
    def experts_are_mxfp4(self) -> bool:
        """True for the Hub's MXFP4 experts, False for floating-point ones (transformers' dequantised form)."""
        return self.config.experts_quantization == MXFP4

    def file_of(self, name: str) -> Path:
        return self._tensors[self._require(name)].path

    @property
    def shard_files(self) -> list[Path]:
        return sorted({located.path for located in self._tensors.values()})

    def layer_names(self, layer: int) -> dict[str, str]:
        """Full tensor names of one layer keyed by short keys (see `app.checkpoint.names.LAYER_PARTS`)."""
        if not 0 <= layer < self.config.num_hidden_layers:
            raise IndexError(f"layer {layer} out of range (the model has {self.config.num_hidden_layers})")
        return layer_names(layer)

    # --- reading ------------------------------------------------------------------------------------------
    def tensor_raw(self, name: str) -> np.ndarray:
        """The stored values as a read-only memory map: bf16 as uint16 bit patterns, MXFP4 parts as uint8."""
        located = self._tensors[self._require(name)]
        try:
            return read_raw(located.entry, located.path)
        except OSError as exc:
            raise CheckpointError(f"{located.path}: cannot read tensor {name} ({exc.strerror or exc})") from exc

    def tensor_f32(self, name: str, rows: slice | None = None) -> np.ndarray:
        """A float32 copy of a floating-point tensor (bf16 widens exactly); `rows` limits it to a slice of the
        first axis, so a 201088-row embedding can be converted in pieces instead of as one 2.3 GB array."""
        raw = self.tensor_raw(name)
        if rows is not None:
            raw = raw[rows]
        dtype = self._tensors[name].entry.dtype
        try:
            return raw_to_f32(raw, dtype)
        except ValueError as exc:
            raise CheckpointError(f"{self.file_of(name)}: tensor {name} is {dtype}, not a floating-point tensor") from exc

    def tensor(self, name: str) -> np.ndarray:
        """Floating-point tensors as float32, integer ones (MXFP4 blocks and scales) as stored."""
        dtype = self._tensors[self._require(name)].entry.dtype
        return self.tensor_f32(name) if dtype in ("BF16", "F16", "F32", "F64") else self.tensor_raw(name)

    def experts_f32(self, layer: int, proj: str, expert: int | None = None) -> np.ndarray:
        """One layer's expert weights as float32 [E, N, K] = [out_features, in_features] per expert (proj:
        'gate_up' or 'down'), or just one expert's [N, K]: at 20b widths all 32 gate_up experts are 2.1 GB of
        float32, one is 66 MB. MXFP4 experts are decoded; floating-point ones are transposed from
        transformers' [E, K, N]."""
        if proj not in ("gate_up", "down"):
            raise ValueError(f"proj must be 'gate_up' or 'down', got {proj!r}")
        if expert is not None and not 0 <= expert < self.config.num_local_experts:
            raise IndexError(f"expert {expert} out of range (the model has {self.config.num_local_experts})")
        names = self.layer_names(layer)
        if not self.experts_are_mxfp4:
            rows = slice(None) if expert is None else slice(expert, expert + 1)
            values = np.ascontiguousarray(self.tensor_f32(names[f"{proj}_proj"], rows=rows).transpose(0, 2, 1))
            return values if expert is None else values[0]
        blocks, scales = self.tensor_raw(names[f"{proj}_blocks"]), self.tensor_raw(names[f"{proj}_scales"])
        if expert is not None:
            blocks, scales = blocks[expert], scales[expert]
        return mxfp4.decode(blocks, scales)

    def _require(self, name: str) -> str:
        if name not in self._tensors:
            raise CheckpointError(f"{self.folder}: tensor {name} is not in this checkpoint")
        return name


def index_weight_map(index: Path) -> dict[str, str]:
    """Tensor name -> shard file name from a model.safetensors.index.json (shard names never leave the folder)."""
    data = read_json_object(index, CheckpointError)
    if "weight_map" not in data:
        raise CheckpointError(f"{index}: has no weight_map")
    weight_map = data["weight_map"]
    if not isinstance(weight_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items()
    ):
        raise CheckpointError(f"{index}: weight_map must map tensor names to shard file names")
    for shard in set(weight_map.values()):
        if Path(shard).name != shard or shard.startswith("."):
            raise CheckpointError(f"{index}: shard name {shard!r} points outside the model folder")
    return dict(weight_map)


def _check_expert_layout(folder: Path, config: GptOssConfig, tensors: dict[str, _Located]) -> None:
    """config.json's quantization_config and the tensors must tell the same story about the experts."""
    names = layer_names(0)
    has_mxfp4 = all(names[k] in tensors for k in MXFP4_PARTS)
    has_float = all(names[k] in tensors for k in FLOAT_EXPERT_PARTS)
    config_file = folder / CONFIG_FILE
    if config.experts_quantization == MXFP4 and has_float and not has_mxfp4:
        raise CheckpointError(f"{config_file}: quantization_config says the experts are MXFP4, but the weights "
                              f"hold floating-point experts ({names['gate_up_proj']}); remove quantization_config")
    if config.experts_quantization is None and has_mxfp4 and not has_float:
        raise CheckpointError(f"{config_file}: has no quantization_config, but the weights hold MXFP4 experts "
                              f"({names['gate_up_blocks']}); the config.json does not belong to these weights")


def _weight_map(folder: Path) -> dict[str, str]:
    """Tensor name -> shard file name, from the index or from a single model.safetensors."""
    index = folder / INDEX_FILE
    if index.is_file():
        return index_weight_map(index)
    single = folder / SINGLE_FILE
    if single.is_file():
        try:
            header = read_header(single)
        except SafetensorsFormatError as exc:
            raise CheckpointError(str(exc)) from exc
        return {name: SINGLE_FILE for name in header.entries}
    raise CheckpointError(f"{folder}: has neither {INDEX_FILE} nor {SINGLE_FILE}; no weights to read")
