"""`enclave bench-api` runs both paths on the same work: the same number of tokens, round by round."""

from __future__ import annotations

import io

import pytest

from app.bench.api import ApiBenchOptions, run_api_bench

pytestmark = pytest.mark.timeout(300)


def test_the_api_benchmark_compares_equal_work(tiny_cpu_package) -> None:
    out = io.StringIO()
    result = run_api_bench(ApiBenchOptions(tiny_cpu_package, new_tokens=80, rounds=2), out)
    assert len(result["direct"]) == len(result["api"]) == 2
    assert [d["tokens"] for d in result["direct"]] == [a["tokens"] for a in result["api"]] == [80, 80]
    assert all(a["decode_ms_per_token"] is not None for a in result["api"])
    assert set(result["overhead_wall_ms_per_token"]) == {"min", "median", "max"}
    assert "API overhead per token (wall, per round pair): median" in out.getvalue()
    assert [r["tokens"] for r in result["replay"]] == [80, 80]  # the replayed reply, whole, through the API
