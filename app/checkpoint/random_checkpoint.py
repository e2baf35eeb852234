"""Random-weight gpt-oss checkpoints in the exact Hugging Face layout, for tests and benchmarks.

The files are what `openai/gpt-oss-20b` ships (config.json with YaRN and layer_types, generation_config.json,
sharded safetensors + index, MXFP4 experts, bf16 everything else, the real o200k_harmony tokenizer), only
smaller and random (the `20b` preset: not smaller, the real 13.8 GB in the Hub's three shards). Writing streams
one tensor (in row chunks) at a time, so even the `20b` preset is written with a few hundred MB of memory.

Expert codes are made the way training makes them: Gaussian weights of the designed standard deviation,
quantised by app.checkpoint.mxfp4.encode with the training kernels' rule (the smallest power-of-two scale per
block of 32 that holds its largest value, each value rounded to the nearest E2M1 value). Uniformly random codes would be the worst case for any 4-bit re-quantisation and make
the cpu-int4 target look far worse than it is on real weights.

Weight scales are the point of this module. With the usual std-0.02 init the residual stream dominates and
a broken attention, window, rope or router barely moves the logits, so a parity test would pass against a
wrong graph. `WeightScales` instead sizes every tensor from the activation statistics it should produce (see
its comments); tests/checkpoint/test_reference_sensitivity.py proves each component moves the logits.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.checkpoint.config import GptOssConfig
from app.checkpoint import mxfp4
from app.checkpoint.names import EMBED, FINAL_NORM, LM_HEAD, TensorSpec, expected_tensors, layer_specs
from app.checkpoint.safetensors_io import PlannedTensor, f32_to_bf16_bits, write_safetensors
from app.checkpoint.weights import CONFIG_FILE, INDEX_FILE

GENERATION_CONFIG_FILE = "generation_config.json"

PRESETS: dict[str, GptOssConfig] = {
    # Real vocabulary (the real tokenizer ships with it), real window/rope/YaRN, everything else small.
    # 4 query heads over 2 KV heads keeps grouped-query attention (group of 2) in play.
    "tiny": GptOssConfig(
        num_hidden_layers=3,  # sliding, full, sliding
        hidden_size=128,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=64,
        num_local_experts=8,
        num_experts_per_tok=4,
    ),
    # gpt-oss-20b's real widths with two layers (one sliding, one full): for benchmarks and memory checks.
    "20b-layers": GptOssConfig().with_changes(num_hidden_layers=2),
    # gpt-oss-20b itself, random: all 24 layers, 13.8 GB, sharded as the Hub shards it (see PRESET_SHARDS).
    "20b": GptOssConfig(),
}
# Presets written in the Hub's shard layout: this many files of about equal size, named model-0000i-of-0000{n-1}
# as openai/gpt-oss-20b names its three. The others get one shard per layer (several shards even for `tiny`).
PRESET_SHARDS: dict[str, int] = {"20b": 3}

_CHUNK_ELEMENTS = 1 << 23  # 8 Mi values per generated chunk: 32 MB of float32 scratch


@dataclass(frozen=True)
class WeightScales:
    """Standard deviations (or ranges) for each kind of tensor, derived from the config's widths.

    Targets, all for inputs that come out of an RMSNorm (rms 1):
    - embeddings: std 1, so the residual starts at rms 1 and each block's output (rms ~1) is a sizeable
      fraction of it: a wrong attention or MoE block then changes the residual by tens of percent.
    - q and k: per-element std 1.3, giving attention logits q·k/sqrt(d)·m² (m = YaRN factor 1.35) with std about
      3. Attention is then peaked but not one-hot, so which keys are visible (the window edge) and where they
      are (rope) both matter.
    - sinks: 1..7, the same range as a row's log-sum-exp of attention logits, so a sink takes a real share of
      the softmax mass (tiny sinks do nothing, huge ones drown attention).
    - v std 1 and o sized so a head's output adds rms ~1 to the residual.
    - router logits std 2: top-4 of 8 (or 32) is decisive and the softmax weights are far from uniform.
    - gate_up pre-activations std 5.5: about 20% of entries fall beyond ±7, so the SwiGLU clamp is exercised.
    - down sized so the MoE output has rms ~1 (SwiGLU outputs have rms ~9 at that input scale, measured).
    - lm_head: logits std ~3, spread enough for stable argmax decisions, not so wide that softmax is one-hot.
    - edge_logit: the peak attention logit of the window-edge head (see `_shape_edge_head`).
    """

    embed: float
    qk: float
    v: float
    o: float
    sinks: tuple[float, float]
    router: float
    gate_up: float
    down: float
    lm_head: float
    edge_logit: float

    @classmethod
    def for_config(cls, config: GptOssConfig) -> WeightScales:
        h = config.hidden_size
        return cls(
            embed=1.0,
            qk=1.3 / math.sqrt(h),
            v=1.0 / math.sqrt(h),
            # A head averages a handful of values (std ~0.5 per element); q_size of them feed o_proj.
            o=2.0 / math.sqrt(config.q_size),
            sinks=(1.0, 7.0),
            router=2.0 / math.sqrt(h),
            gate_up=5.5 / math.sqrt(h),
            down=1.0 / (9.0 * math.sqrt(config.intermediate_size)),
            lm_head=3.0 / math.sqrt(h),
            edge_logit=20.0,
        )


def write_test_model(folder: Path, config: GptOssConfig, *, seed: int = 0, with_tokenizer: bool = True,
                     shards: int | None = None) -> Path:
    """Writes a random checkpoint for `config` into `folder` (must be empty or absent) and returns it.

    `shards`: None for one shard per layer (plus the embedding and the head), or a count for the Hub's layout.
    Files go to a temporary folder beside it that is renamed at the end, so a failure (disk full) never leaves
    something that looks like a checkpoint.
    """
    folder = Path(folder)
    with staged_folder(folder) as staging:
        _write_files(staging, config, seed, with_tokenizer, shards)
    return folder


@contextmanager
def staged_folder(folder: Path) -> Iterator[Path]:
    """A temporary folder beside `folder` (which must be empty or absent) that becomes `folder` when the block
    succeeds and is removed when it fails, so a half-written checkpoint never looks like one."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(f"{folder}: already exists and is not an empty folder; refusing to overwrite it")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model folder is an ordinary folder
    try:
        yield staging
        if folder.exists():
            folder.rmdir()
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_files(folder: Path, config: GptOssConfig, seed: int, with_tokenizer: bool, shard_count: int | None) -> None:
    scales = WeightScales.for_config(config)
    specs = expected_tensors(config)
    if shard_count is None:
        shards = _shard_plan(config, specs)
        file_names = [f"model-{n:05d}-of-{len(shards):05d}.safetensors" for n in range(1, len(shards) + 1)]
    else:
        file_names, shards = map(list, zip(*hub_shards(specs, shard_count)))
    weight_map: dict[str, str] = {}
    total = 0
    pending_scales: dict[str, list[np.ndarray]] = {}  # MXFP4 scales made with their blocks, written next
    for file_name, names in zip(file_names, shards):
        plan = [PlannedTensor(name, specs[name].dtype, specs[name].shape) for name in names]
        chunks = (chunk for name in names
                  for chunk in _generate(name, specs[name], config, scales, seed, pending_scales))
        total += write_safetensors(folder / file_name, plan, chunks)
        weight_map.update({name: file_name for name in names})
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    write_json(folder / INDEX_FILE, index)
    write_json(folder / CONFIG_FILE, config.to_hf_dict())
    write_json(folder / GENERATION_CONFIG_FILE, generation_config(config))
    if with_tokenizer:
        from app.tokenizer.o200k_harmony import write_tokenizer_files

        write_tokenizer_files(folder)


def generation_config(config: GptOssConfig) -> dict[str, object]:
    """generation_config.json as in the openai/gpt-oss-20b repository (<|return|>, <|endoftext|>, <|call|> stop)."""
    return {
        "bos_token_id": 199998,
        "do_sample": True,
        "eos_token_id": [*config.eos_token_ids, 199999, 200012],
        "pad_token_id": config.pad_token_id,
    }


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _tensor_bytes(spec: TensorSpec) -> int:
    return int(np.prod(spec.shape, dtype=np.int64)) * (2 if spec.dtype == "BF16" else 1)


def checkpoint_bytes(config: GptOssConfig) -> int:
    """Bytes of tensor data a checkpoint for `config` holds (the shard headers add a few KB)."""
    return sum(_tensor_bytes(spec) for spec in expected_tensors(config).values())


def hub_shards(specs: dict[str, TensorSpec], count: int) -> list[tuple[str, list[str]]]:
    """(file name, tensor names) per shard in the Hub's layout: `_equal_shards`, named model-0000i-of-0000{n-1}
    from 0 as openai/gpt-oss-20b names its three files."""
    shards = _equal_shards(specs, count)
    return [(f"model-{n:05d}-of-{len(shards) - 1:05d}.safetensors", names) for n, names in enumerate(shards)]


def _equal_shards(specs: dict[str, TensorSpec], count: int) -> list[list[str]]:
    """The tensors in model order, cut into `count` consecutive groups of about equal bytes (an MXFP4
    projection's blocks and scales stay together)."""
    sizes = {name: _tensor_bytes(spec) for name, spec in specs.items()}
    target = sum(sizes.values()) / count
    shards: list[list[str]] = [[]]
    filled = 0
    for name in specs:
        if filled >= target * len(shards) and len(shards) < count and not name.endswith("_scales"):
            shards.append([])
        shards[-1].append(name)
        filled += sizes[name]
    return shards


def _shard_plan(config: GptOssConfig, specs: dict[str, TensorSpec]) -> list[list[str]]:
    """Embeddings alone, one shard per layer, then final norm + lm_head: several shards even for `tiny`."""
    shards = [[EMBED]]
    shards += [list(layer_specs(config, layer)) for layer in range(config.num_hidden_layers)]
    shards.append([FINAL_NORM] + ([LM_HEAD] if LM_HEAD in specs else []))
    return shards


# --- random values --------------------------------------------------------------------------------------------
def _rng(seed: int, name: str) -> np.random.Generator:
    """One independent stream per tensor, so a tensor's values do not depend on write order or other shapes."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def _generate(name: str, spec: TensorSpec, config: GptOssConfig, scales: WeightScales, seed: int,
              pending_scales: dict[str, list[np.ndarray]]) -> Iterator[np.ndarray]:
    """Yields the raw bytes of one tensor in row chunks (bf16 bit patterns or MXFP4 uint8).

    An MXFP4 projection's `*_blocks` and `*_scales` come from one quantisation: the scales made with the
    blocks wait in `pending_scales` until their own tensor is written (the name map orders it right after)."""
    if name.endswith("_scales"):
        yield from pending_scales.pop(name)
        return
    rng = _rng(seed, name.removesuffix("_blocks"))
    rows = spec.shape[0]
    per_row = int(np.prod(spec.shape[1:], dtype=np.int64)) * (2 if name.endswith("_blocks") else 1)
    step = max(1, _CHUNK_ELEMENTS // max(per_row, 1))
    for r0 in range(0, rows, step):
        shape = (min(step, rows - r0),) + spec.shape[1:]
        if name.endswith("_blocks"):
            # Gaussian weights [experts, N, K] quantised as training does (app.checkpoint.mxfp4.encode).
            weights = rng.standard_normal(size=shape[:2] + (shape[2] * mxfp4.BLOCK,), dtype=np.float32)
            blocks, block_scales = mxfp4.encode(weights * np.float32(_mxfp4_std(name, scales)), scale=mxfp4.ROUND_UP)
            pending_scales.setdefault(name.removesuffix("_blocks") + "_scales", []).append(block_scales)
            yield blocks
        else:
            values = _float_values(rng, name, shape, config, scales)
            _shape_edge_head(name, r0, values, config, scales)
            yield f32_to_bf16_bits(values)


def _mxfp4_std(name: str, scales: WeightScales) -> float:
    return scales.gate_up if ".gate_up_proj_" in name else scales.down


def _float_values(rng: np.random.Generator, name: str, shape: tuple[int, ...], config: GptOssConfig,
                  scales: WeightScales) -> np.ndarray:
    def normal(std: float) -> np.ndarray:
        return rng.standard_normal(size=shape, dtype=np.float32) * np.float32(std)

    kind = ".".join(name.rsplit(".", 2)[-2:])  # e.g. "q_proj.bias", "experts.down_proj_bias"
    if name == EMBED:
        return normal(scales.embed)
    if name == LM_HEAD:
        return normal(scales.lm_head)
    if "layernorm" in name or name == FINAL_NORM:
        return rng.uniform(0.7, 1.3, size=shape).astype(np.float32)  # positive, near 1, not all equal
    if kind.endswith("sinks"):
        return rng.uniform(*scales.sinks, size=shape).astype(np.float32)
    weights = {
        "q_proj.weight": scales.qk, "k_proj.weight": scales.qk, "v_proj.weight": scales.v,
        "o_proj.weight": scales.o, "router.weight": scales.router,
    }
    if kind in weights:
        return normal(weights[kind])
    # Biases: modest offsets relative to each projection's output std (router bias tilts expert popularity).
    h = math.sqrt(config.hidden_size)
    biases = {
        "q_proj.bias": 0.3 * scales.qk * h, "k_proj.bias": 0.3 * scales.qk * h, "v_proj.bias": 0.3,
        "o_proj.bias": 0.3, "router.bias": 0.5, "experts.gate_up_proj_bias": 1.0, "experts.down_proj_bias": 0.3,
    }
    if kind in biases:
        return normal(biases[kind])
    raise KeyError(f"no random initialiser for tensor {name}")


# --- the window-edge head -------------------------------------------------------------------------------------
# With random weights, the key at the edge of the sliding window gets about 1/128 of a head's attention, so a
# window off by one changes the output by well under a percent: invisible next to the int8 error of a real export.
# So in every sliding layer, query head 0 is built to look back exactly `sliding_window - 1` tokens, the oldest
# key a 128-token window still shows: q and k biases put a rope-relative bias sum_i a^2·cos(θ_i·(Δ - 127)) on the
# attention logits, which peaks at distance Δ = 127 (and is high at 126 and 128). Dropping that key (window 127)
# or adding the next one (window 129) then moves the head's output a lot, and a rope with the wrong frequencies,
# pairing or scale moves the peak. Only high-frequency pairs are used: YaRN leaves their frequencies at
# theta^(-2i/d) (its ramp starts above them), so this needs no YaRN code. Pair 0 (1 rad/token) is left out: it
# makes the peak so narrow that the key one step beyond the window (window 129) would get almost no weight.

_EDGE_HEAD = 0  # query head 0 and, through grouped-query attention, KV head 0
_EDGE_PAIRS_MAX = 8
_EDGE_Q_CONTENT = 0.25  # shrink head 0's content-dependent query so the positional bias dominates its logits
_EDGE_K_CONTENT = 0.4  # and KV head 0's content in the rope pairs the bias uses


def edge_pairs(config: GptOssConfig) -> np.ndarray:
    """Rope pair indices used by the edge head: pairs 1..7, or fewer where YaRN's ramp starts below pair 8."""
    rope = config.rope_scaling
    limit = float(_EDGE_PAIRS_MAX)
    if rope.factor > 1.0:
        # YaRN's correction_dim(beta_fast): pairs at or below it keep their original frequency.
        low = config.head_dim * math.log(rope.original_max_position_embeddings / (rope.beta_fast * 2 * math.pi)) / (
            2 * math.log(config.rope_theta))
        limit = min(limit, math.floor(low) + 1)
    return np.arange(1, int(max(limit, 2)))


def _layer_of(name: str) -> int | None:
    parts = name.split(".")
    return int(parts[2]) if len(parts) > 3 and parts[1] == "layers" else None


def _shape_edge_head(name: str, row0: int, values: np.ndarray, config: GptOssConfig, scales: WeightScales) -> None:
    """Rewrites, in place, the rows of head 0 that make it a window-edge head (sliding layers only)."""
    layer = _layer_of(name)
    if layer is None or not config.is_sliding(layer) or ".self_attn." not in name:
        return
    d = config.head_dim
    pairs = edge_pairs(config)
    half = d // 2
    dims = np.concatenate([pairs, pairs + half])  # rotate-half rope: pair i is (dim i, dim i + d/2)
    head = slice(_EDGE_HEAD * d - row0, (_EDGE_HEAD + 1) * d - row0)
    if head.stop <= 0 or head.start >= values.shape[0]:
        return  # this chunk of rows does not hold head 0
    # logit = (q·k)·m²/sqrt(d), m = YaRN's concentration factor on cos and sin: choose a so the peak hits edge_logit.
    m2 = config.yarn_attention_factor ** 2
    amplitude = math.sqrt(scales.edge_logit * math.sqrt(d) / (m2 * len(pairs)))
    theta = config.rope_theta ** (-2.0 * pairs / d)
    reach = config.sliding_window - 1
    kind = ".".join(name.rsplit(".", 2)[-2:])
    if kind == "q_proj.weight":
        values[head] *= _EDGE_Q_CONTENT
    elif kind == "k_proj.weight":
        values[head][dims] *= _EDGE_K_CONTENT
    elif kind == "q_proj.bias":
        # z_q = a·e^(-iθ·reach) and z_k = a, so Re(z_q·conj(z_k)·e^(iθΔ)) = a²·cos(θ(Δ - reach)).
        bias = np.zeros(d, dtype=np.float32)
        bias[pairs] = amplitude * np.cos(theta * reach)
        bias[pairs + half] = -amplitude * np.sin(theta * reach)
        values[head] = bias
    elif kind == "k_proj.bias":
        values[head][pairs] = amplitude
        values[head][pairs + half] = 0.0
