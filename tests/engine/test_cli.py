"""`enclave chat` end to end on the tiny package, and its errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def enclave(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=240)


def test_chat_json_line(tiny_package: Path) -> None:
    done = enclave("chat", str(tiny_package), "--prompt", "Hi", "--max-tokens", "6", "--ignore-eos", "--json",
                   "--temperature", "0.8", "--seed", "3")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["new_tokens"] == 6 and result["stop_reason"] == "length"
    assert result["provider"] == "CPUExecutionProvider" and result["prompt_tokens"] > 10
    assert result["ttft_s"] > 0 and result["decode_tok_s"] > 0
    again = enclave("chat", str(tiny_package), "--prompt", "Hi", "--max-tokens", "6", "--ignore-eos", "--json",
                    "--temperature", "0.8", "--seed", "3")
    assert json.loads(again.stdout.strip().splitlines()[-1])["text"] == result["text"]
    # --system and --reasoning reach the prompt: a developer message and a different effort line add tokens.
    briefed = enclave("chat", str(tiny_package), "--prompt", "Hi", "--max-tokens", "2", "--json",
                      "--system", "Answer in one short sentence.", "--reasoning", "high")
    assert briefed.returncode == 0, briefed.stderr
    assert json.loads(briefed.stdout.strip().splitlines()[-1])["prompt_tokens"] > result["prompt_tokens"] + 5


def test_chat_refuses_sampling_outside_the_one_range_with_one_sentence(tmp_path: Path, capsys) -> None:
    from app.cli.main import main

    for flag, value, sentence in (("--temperature", "2.5", "temperature must be a number in [0, 2], got 2.5."),
                                  ("--top-p", "0", "top_p must be a number in (0, 1], got 0.0."),
                                  ("--max-tokens", "0", "max_new_tokens must be an integer in [1, 131072], got 0.")):
        assert main(["chat", str(tmp_path / "no-package"), "--prompt", "Hi", flag, value]) == 2
        err = capsys.readouterr().err
        assert err.strip() == f"enclave chat: {sentence}"


def test_chat_with_a_missing_data_file_fails_with_one_sentence(tiny_package: Path, tmp_path: Path) -> None:
    broken = Path(shutil.copytree(tiny_package, tmp_path / "broken"))
    (broken / "model.onnx.data").unlink()
    done = enclave("chat", str(broken), "--prompt", "Hi")
    assert done.returncode != 0
    assert "model.onnx.data" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bench_vs_genai_ends_with_the_json_contract(tiny_package: Path) -> None:
    done = enclave("bench", str(tiny_package), "--prompt-tokens", "24,40", "--new-tokens", "4", "--rounds", "2",
                   "--vs-genai", "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert set(result) >= {"package", "ours", "prompts", "decode_bytes"}
    files = [p for p in tiny_package.iterdir() if p.name in ("model.onnx", "model.onnx.data")]
    assert result["package"]["bytes"] == sum(p.stat().st_size for p in files)
    assert 0 < result["ours"]["peak_private_bytes"] <= result["ours"]["peak_rss_bytes"]
    assert [p["prompt_tokens"] for p in result["prompts"]] == [24, 40]
    for at_length in result["prompts"]:
        for name in ("prefill_tok_s", "decode_tok_s", "ttft_s"):
            stats = at_length["genai"]["ratio_ours_to_it"][name]
            assert stats["min"] <= stats["median"] <= stats["max"]
            ours = [r[name] for r in at_length["ours"]["rounds"]]
            theirs = [r[name] for r in at_length["genai"]["rounds"]]
            assert stats["min"] == min(a / b for a, b in zip(ours, theirs))
        # The ceiling is measured next to each of our rounds, and the share is taken round by round.
        bandwidth = at_length["bandwidth"]
        assert len(bandwidth["rounds"]) == 2 and all(b["read_bytes_per_s"] > 0 for b in bandwidth["rounds"])
        shares = [r["decode_tok_s"] * result["decode_bytes"]["weights_bytes_per_token"] / b["read_bytes_per_s"]
                  for r, b in zip(at_length["ours"]["rounds"], bandwidth["rounds"])]
        assert bandwidth["decode_share"] == pytest.approx(sum(shares) / 2)  # the median of two rounds
    assert result["decode_bytes"]["weights_bytes_per_token"] > 0
    components = result["decode_bytes"]["components"]
    assert sum(c["per_token"] for c in components.values()) == pytest.approx(
        result["decode_bytes"]["weights_bytes_per_token"], abs=len(components))  # one integer rounding each
    assert any(line.startswith("byte budget per component") for line in lines)
    assert set(result["ours"]["second_turn_ttft_s"]) == {"20", "40"}
    assert any(line.startswith("40 tokens, ratio ours/genai decode_tok_s") for line in lines)


def test_bench_without_warmup_reports_the_model_s_memory_not_the_probe_s(tiny_package: Path) -> None:
    """--no-warmup reads our peak memory after the rounds, beside the bandwidth probe's 1 GiB of arrays: the
    report takes them off (the tiny model's own private memory is a few hundred MiB)."""
    done = enclave("bench", str(tiny_package), "--prompt-tokens", "24,40", "--new-tokens", "4", "--rounds", "1",
                   "--threads", "2", "--no-warmup", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ours"]["warmup"] is False
    assert 0 < result["ours"]["peak_private_bytes"] <= result["ours"]["peak_rss_bytes"] < 2**30
    assert result["ours"]["peak_private_bytes"] >= result["ours"]["rss_after_load"]["RssAnon"]
    assert set(result["ours"]["second_turn_ttft_s"]) == {"20", "40"}
    assert [p["prompt_tokens"] for p in result["prompts"]] == [24, 40]
    assert "after 40: " in done.stdout and "(33 prefilled)" in done.stdout  # the reply's last token + the message
    # Page faults per round, this process's own (getrusage): the first round after the load, with no warm-up,
    # grows ORT's arenas and touches new pages.
    first = result["prompts"][0]["ours"]["rounds"][0]
    assert first["minor_faults"] > 0 and first["major_faults"] >= 0
    assert "24 tokens, round 1 ours : " in done.stdout and " minor" in done.stdout
    refused = enclave("bench", str(tiny_package), "--no-warmup", "--vs-genai")
    assert refused.returncode == 2 and "runs without peers" in refused.stderr


def test_bench_budget_adds_up_to_the_data_file_and_scales_with_the_layers(tiny_package: Path) -> None:
    manifest = json.loads((tiny_package / "manifest.json").read_text())
    config = manifest["config"]
    layers, k, experts = config["num_hidden_layers"], config["num_experts_per_tok"], config["num_local_experts"]
    runs = {}
    for extra in ((), ("--layers", str(2 * layers))):
        done = enclave("bench", str(tiny_package), "--budget", "--json", *extra)
        assert done.returncode == 0, done.stderr
        runs[extra != ()] = json.loads(done.stdout.strip().splitlines()[-1])["components"]
    own, doubled = runs[False], runs[True]
    data = (tiny_package / "model.onnx.data").stat().st_size
    assert sum(c["stored"] for c in own.values()) == pytest.approx(data, rel=0.01)  # + small inline tensors
    assert own["experts"]["per_token"] == pytest.approx(own["experts"]["stored"] * k / experts, abs=1)
    assert own["lm_head"]["per_token"] == own["lm_head"]["stored"]  # read whole every token
    assert own["embedding"]["per_token"] * config["vocab_size"] == pytest.approx(own["embedding"]["stored"], rel=1e-6)
    for name in ("experts", "attention", "router"):  # per-layer tensors double with the layers
        assert doubled[name]["stored"] == pytest.approx(2 * own[name]["stored"], abs=1)
    for name in ("lm_head", "embedding", "rope"):  # the rest does not
        assert doubled[name] == own[name]
    assert enclave("bench", str(tiny_package), "--budget", "--layers", "0").returncode == 2


def test_bench_refuses_bad_lengths_and_a_half_given_peer(tiny_package: Path, tmp_path: Path, capsys) -> None:
    from app.cli.main import main

    with pytest.raises(SystemExit):
        main(["bench", str(tiny_package), "--prompt-tokens", "512,0"])
    assert "expected positive token counts separated by commas, got '512,0'" in capsys.readouterr().err
    assert main(["bench", str(tiny_package), "--gguf", str(tmp_path / "x.gguf")]) == 2
    assert "--llama-bench and --gguf go together" in capsys.readouterr().err
    assert main(["bench", str(tiny_package), "--gguf", str(tmp_path / "x.gguf"),
                 "--llama-bench", str(tmp_path / "llama-bench")]) == 1
    assert capsys.readouterr().err.strip().endswith("the llama-bench program does not exist")
