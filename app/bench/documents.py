"""Extraction speed benchmark: `python -m app.bench.documents [--pages N] [--runs R] [--keep DIR]`.

Builds a PDF (reportlab, a test dependency) and a DOCX (python-docx) of N pages of prose with a table on every
page, then times extraction in-process and through the sandbox (which adds one process start) and prints
pages per second, best of R runs. DOCX "pages" are the N explicit page breaks written into the file.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from app.documents.extract import extract_in_process
from app.documents.sandbox import extract_document

_WORDS = ("contract supplier invoice budget quarterly revenue warranty audit harbour ferry depot turbine licence "
          "schedule milestone inspection payment delivery clause notice renewal fleet staff training").split()


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."


def _rows(rng: random.Random) -> list[list[str]]:
    return [["Item", "Quantity", "Price"]] + [[rng.choice(_WORDS), str(rng.randint(1, 500)),
                                               f"{rng.uniform(1, 999):.2f}"] for _ in range(5)]


def make_pdf(path: Path, pages: int, seed: int = 1) -> Path:
    try:
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfgen import canvas
    except ImportError as exc:
        raise SystemExit(f"The PDF benchmark needs reportlab (pip install reportlab): {exc}")
    rng = random.Random(seed)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for page in range(pages):
        y = 800
        pdf.setFont("Helvetica-Bold", 13)
        pdf.drawString(50, y, f"Chapter {page + 1}")
        pdf.setFont("Helvetica", 10)
        for _ in range(28):
            y -= 20
            pdf.drawString(50, y, _sentence(rng)[:95])
        for row in _rows(rng):
            y -= 18
            for x, cell in zip((50, 250, 400), row):
                pdf.drawString(x, y, cell)
        pdf.showPage()
    pdf.save()
    return path


def make_docx(path: Path, pages: int, seed: int = 1) -> Path:
    import docx
    from docx.enum.text import WD_BREAK

    rng = random.Random(seed)
    document = docx.Document()
    for page in range(pages):
        document.add_heading(f"Chapter {page + 1}", level=1)
        for _ in range(6):
            document.add_paragraph(" ".join(_sentence(rng) for _ in range(4)))
        rows = _rows(rng)
        table = document.add_table(rows=len(rows), cols=3)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.save(path)
    return path


def _best_time(func: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench.documents", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the generated files here instead of a temp folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        folder = args.keep or Path(temp)
        folder.mkdir(parents=True, exist_ok=True)
        files = {"PDF": make_pdf(folder / "bench.pdf", args.pages), "DOCX": make_docx(folder / "bench.docx",
                                                                                     args.pages)}
        print(f"{args.pages} pages per file, best of {args.runs} runs")
        for kind, path in files.items():
            chars = extract_in_process(path).metadata.chars
            local = _best_time(lambda: extract_in_process(path), args.runs)
            sandboxed = _best_time(lambda: extract_document(path), args.runs)
            print(f"{kind:5} {path.stat().st_size / 1024:8,.0f} KB {chars:10,} chars | in-process "
                  f"{local:6.2f} s = {args.pages / local:7.1f} pages/s | sandboxed {sandboxed:6.2f} s = "
                  f"{args.pages / sandboxed:7.1f} pages/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
