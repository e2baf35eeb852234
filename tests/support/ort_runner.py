"""A minimal driver for an exported package on ONNX Runtime CPU, for the exporter's tests.

Deliberately independent of app.engine (the real generator): it feeds the graph exactly as the manifest's
`io` section describes, keeping the KV cache as one preallocated [batch, kv_heads, max_len, head_dim] buffer
that is passed back in as `past` every step ("shared-buffer" layout), or growing it ("concat"). Layers that
genai_config.json's `sliding_window` section lists get window_size + cache_slack positions instead (window-sized
buffers, GroupQueryAttention sliding_window_cache=1).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from app.package.reader import read_package


class PackageRunner:
    """Prefill once, then decode token by token; `logits` are float32 [vocab] of the last position."""

    def __init__(self, folder: Path, *, max_length: int = 512, threads: int = 2, in_place: bool = False) -> None:
        self.package = read_package(folder)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(self.package.model_path), options,
                                            providers=["CPUExecutionProvider"])
        cfg = self.package.config
        self.layers = cfg.num_hidden_layers
        self.kv_shape = (1, cfg.num_key_value_heads, max_length, cfg.head_dim)
        genai = json.loads((Path(folder) / "genai_config.json").read_text())
        window = genai["model"]["decoder"].get("sliding_window")
        self.kv_shapes = [self.kv_shape] * self.layers
        if window is not None:
            capacity = window["window_size"] + window["cache_slack"]
            for layer in window["layers"]:
                self.kv_shapes[layer] = self.kv_shape[:2] + (capacity,) + self.kv_shape[3:]
        self.kv_dtype = np.dtype(self.package.io["kv_dtype"])
        self.shared = self.package.io["kv_layout"] == "shared-buffer"
        # in_place: bind the same OrtValue as past and present (what onnxruntime-genai and the engine do), so
        # the kernel writes new keys/values straight into the preallocated buffer.
        self.in_place = in_place and self.shared
        self.reset()

    def reset(self) -> None:
        shapes = [shape for shape in self.kv_shapes for _kv in range(2)]  # key, value per layer
        if self.in_place:
            self.buffers = [ort.OrtValue.ortvalue_from_numpy(np.zeros(shape, self.kv_dtype)) for shape in shapes]
        if self.shared:
            self.past = [np.zeros(shape, self.kv_dtype) for shape in shapes]
        else:
            shape = self.kv_shape[:2] + (0,) + self.kv_shape[3:]
            self.past = [np.zeros(shape, self.kv_dtype) for _ in range(2 * self.layers)]
        self.length = 0

    def step(self, token_ids: list[int]) -> np.ndarray:
        """Feeds new tokens (the whole prompt, or one token) and returns the last position's logits."""
        total = self.length + len(token_ids)
        if self.in_place:
            return self._step_in_place(token_ids, total)
        feeds: dict[str, np.ndarray] = {
            "input_ids": np.asarray([token_ids], dtype=np.int64),
            "attention_mask": np.ones((1, total), dtype=np.int64),
        }
        for i in range(self.layers):
            feeds[f"past_key_values.{i}.key"] = self.past[2 * i]
            feeds[f"past_key_values.{i}.value"] = self.past[2 * i + 1]
        names = ["logits"] + [f"present.{i}.{kv}" for i in range(self.layers) for kv in ("key", "value")]
        outputs = self.session.run(names, feeds)
        self.past = outputs[1:]
        self.length = total
        logits = outputs[0]
        assert logits.shape == (1, 1, self.package.config.vocab_size), logits.shape
        return logits[0, 0]

    def _step_in_place(self, token_ids: list[int], total: int) -> np.ndarray:
        binding = self.session.io_binding()
        binding.bind_cpu_input("input_ids", np.asarray([token_ids], dtype=np.int64))
        binding.bind_cpu_input("attention_mask", np.ones((1, total), dtype=np.int64))
        for i in range(self.layers):
            for j, kv in enumerate(("key", "value")):
                binding.bind_ortvalue_input(f"past_key_values.{i}.{kv}", self.buffers[2 * i + j])
                binding.bind_ortvalue_output(f"present.{i}.{kv}", self.buffers[2 * i + j])
        binding.bind_output("logits")
        self.session.run_with_iobinding(binding)
        self.length = total
        return binding.copy_outputs_to_cpu()[-1][0, 0]

    def prefill_and_decode(self, prompt: list[int], continuation: list[int]) -> list[np.ndarray]:
        """Logits after the prompt, then after each continuation token fed one at a time."""
        self.reset()
        out = [self.step(prompt)]
        for token in continuation:
            out.append(self.step([token]))
        return out
