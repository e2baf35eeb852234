"""The policy where the command line meets it: `enclave chat --attach` reads documents under the organisation's
MaxDocumentSizeMB, whatever the user's own settings allow."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli.main import main


def test_chat_attach_refuses_a_document_over_the_policy_limit(tiny_cpu_package: Path, tmp_path: Path,
                                                              enterprise_policy, capsys) -> None:
    small, big = tmp_path / "small-notes.txt", tmp_path / "big-notes.txt"
    small.write_text("The depot opens at seven.\n", encoding="utf-8")
    big.write_text("The depot opens at seven.\n" * 90_000, encoding="utf-8")  # 2.3 MB, under the default 100 MB
    enterprise_policy({"MaxDocumentSizeMB": 1})
    code = main(["chat", str(tiny_cpu_package), "--prompt", "When does the depot open?", "--attach", str(small),
                 str(big), "--max-tokens", "4", "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "big-notes.txt is 2 MB, more than the limit of 1 MB" in err  # one sentence; the chat goes on
    assert json.loads(out.strip().splitlines()[-1])["citations"] == ["small-notes.txt lines 1-1"]
