"""The llama.cpp peer's GGUF tensor table, read back from files written by ggml's own `gguf` library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.bench.llama_cpp import LlamaCppError, gguf_component_budget, gguf_decode_bytes, read_gguf_tensors

VOCAB, HIDDEN, EXPERTS, ACTIVE = 64, 32, 8, 2


def _write(path: Path) -> dict[str, np.ndarray]:
    import gguf

    writer = gguf.GGUFWriter(str(path), "gpt-oss")
    writer.add_block_count(1)
    writer.add_token_list([f"t{i}" for i in range(VOCAB)])  # an array of strings, as real GGUFs carry
    writer.add_array("test.floats", [0.5] * 7)
    rng = np.random.default_rng(0)
    tensors = {
        "token_embd.weight": rng.standard_normal((VOCAB, HIDDEN)).astype(np.float16),
        "blk.0.attn_q.weight": rng.standard_normal((HIDDEN, HIDDEN)).astype(np.float32),
        # MXFP4 as llama.cpp stores gpt-oss's experts: 17 bytes (E8M0 scale + 16 code bytes) per 32 values
        "blk.0.ffn_gate_exps.weight": rng.integers(0, 255, (EXPERTS, HIDDEN, 17), dtype=np.uint8),
        "blk.0.attn_sinks.weight": rng.standard_normal(5).astype(np.float32),  # 20 bytes: padded to 32
        "output.weight": rng.standard_normal((VOCAB, HIDDEN)).astype(np.float32),
    }
    for name, array in tensors.items():
        raw = gguf.GGMLQuantizationType.MXFP4 if array.dtype == np.uint8 else None
        writer.add_tensor(name, array, raw_dtype=raw)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return tensors


def test_tensor_table_and_bytes_per_token_from_a_real_gguf(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    tensors = _write(path)
    table = {t.name: t for t in read_gguf_tensors(path)}
    assert set(table) == set(tensors)
    for name, array in tensors.items():
        assert array.nbytes <= table[name].nbytes < array.nbytes + 32, name  # data padded to 32-byte alignment
    assert table["output.weight"].shape == (HIDDEN, VOCAB)  # GGUF lists the fastest dimension first
    assert table["blk.0.ffn_gate_exps.weight"].shape == (32, HIDDEN, EXPERTS)
    counted = gguf_decode_bytes(path, ACTIVE, EXPERTS)
    experts = table["blk.0.ffn_gate_exps.weight"].nbytes
    assert counted.experts_total == experts and counted.experts_active == experts * ACTIVE // EXPERTS
    assert counted.gathered_rows == table["token_embd.weight"].nbytes // VOCAB
    assert counted.dense == sum(table[n].nbytes for n in ("blk.0.attn_q.weight", "blk.0.attn_sinks.weight",
                                                         "output.weight"))
    budget = gguf_component_budget(path, ACTIVE, EXPERTS)
    assert (budget["lm_head"].stored, budget["lm_head"].per_token) == (table["output.weight"].nbytes,) * 2
    assert budget["attention"].stored == table["blk.0.attn_q.weight"].nbytes  # not "output": attn_output first
    assert budget["other"].stored == table["blk.0.attn_sinks.weight"].nbytes
    assert budget["embedding"].stored == table["token_embd.weight"].nbytes


def test_a_file_that_is_not_gguf_is_named(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"ONNX" + bytes(64))
    with pytest.raises(LlamaCppError, match=r"model.gguf is not a GGUF file"):
        read_gguf_tensors(path)
