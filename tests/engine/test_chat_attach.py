"""`enclave chat --attach`: documents are read in the sandbox, grounded into the prompt, sources printed."""

from __future__ import annotations

import json
from pathlib import Path

from app.cli.main import main

FACT = "The emergency generator at the Kirkenes depot is serviced by Halvorsen Marine under contract KX-4471."


def test_attached_documents_ground_the_prompt_and_bad_files_are_reported(tiny_cpu_package: Path, tmp_path: Path,
                                                                        capsys) -> None:
    facts = tmp_path / "depot-facts.txt"
    facts.write_text("Maintenance notes.\n\n" + FACT + "\n", encoding="utf-8")
    junk = tmp_path / "scan.pdf"
    junk.write_bytes(b"\x00\x01 not a pdf at all")
    code = main(["chat", str(tiny_cpu_package), "--prompt", "Who services the generator?", "--attach", str(facts),
                 str(junk), "--max-tokens", "8", "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "scan.pdf" in err and "PDF" in err  # one clear sentence about the bad file; the chat went on
    result = json.loads(out.strip().splitlines()[-1])
    assert result["citations"] == ["depot-facts.txt lines 1-3"]
    assert "depot-facts.txt" in out  # the sources are printed for the user
    # the fact reached the model: the prompt is longer than the question alone by at least the fact's tokens
    code = main(["chat", str(tiny_cpu_package), "--prompt", "Who services the generator?", "--max-tokens", "8",
                 "--json"])
    plain = json.loads(capsys.readouterr()[0].strip().splitlines()[-1])
    assert result["prompt_tokens"] >= plain["prompt_tokens"] + 20
