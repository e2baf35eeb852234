"""Each supported format, built by its own library, read back: text, page numbers, headings, tables.

These call the reader in-process (extract_in_process) to keep the suite fast; test_doc_bad_input and
test_doc_sandbox cover the sandbox path.
"""

from __future__ import annotations

from pathlib import Path

import doc_files
from app.documents.extract import extract_in_process


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def test_pdf_keeps_pages_and_table_rows(table_pdf: Path) -> None:
    doc = extract_in_process(table_pdf)
    assert doc.type == "pdf"
    assert doc.metadata.pages == 3
    assert [(s.kind, s.number, s.label) for s in doc.sections] == [("page", 1, "p. 1"), ("page", 2, "p. 2"),
                                                                    ("page", 3, "p. 3")]
    assert "Quarterly Procurement Report" in doc.sections[0].text
    assert "auditor signed off" in doc.sections[2].text
    lines = doc.sections[1].text.splitlines()
    # A table row stays one line with its cells in column order.
    for item, quantity, price in doc_files.TABLE:
        assert any(line.split() == [item, quantity, *price.split()] for line in lines), (item, lines)
    assert doc.metadata.chars == sum(len(s.text) for s in doc.sections)


def test_docx_headings_become_sections_and_tables_markdown(tmp_path: Path) -> None:
    doc = extract_in_process(doc_files.docx_with_headings(tmp_path / "contract.docx"))
    assert doc.type == "docx"
    assert [(s.kind, s.label) for s in doc.sections] == [
        ("text", "beginning"), ("heading", "Scope"), ("heading", "Prices"), ("heading", "Termination")]
    assert doc.sections[0].text == "Preface written before any heading."
    assert doc.sections[1].text == "# Scope\n\nThe agreement covers maintenance of the harbour cranes."
    prices = doc.sections[2].text
    assert prices.startswith("## Prices")
    assert _row("Item", "Quantity", "Unit price") + "\n|---|---|---|\n" + _row("Widget", "12", "3.50") in prices
    assert "- First bullet point" in doc.sections[3].text


def test_xlsx_sheets_are_markdown_tables(tmp_path: Path) -> None:
    doc = extract_in_process(doc_files.xlsx_two_sheets(tmp_path / "budget.xlsx"))
    assert doc.type == "xlsx" and doc.metadata.pages == 2
    assert [(s.kind, s.label, s.number) for s in doc.sections] == [("sheet", "Budget", 1), ("sheet", "Staff", 2)]
    assert doc.sections[0].text.splitlines()[3] == _row("Gadget", "7", "19.99")
    assert doc.sections[1].text.splitlines() == [_row("Name", "Role"), "|---|---|", _row("Ingrid", "Engineer"),
                                                 _row("Tomasz", "Accountant")]


def test_pptx_one_section_per_slide_with_notes_and_table(tmp_path: Path) -> None:
    doc = extract_in_process(doc_files.pptx_slides(tmp_path / "roadmap.pptx"))
    assert [(s.kind, s.label, s.number) for s in doc.sections] == [("slide", "slide 1", 1), ("slide", "slide 2", 2)]
    first, second = (s.text for s in doc.sections)
    assert first.startswith("## Roadmap 2027")
    assert "Ship the offline installer" in first and "Speaker notes: Mention the pilot customers." in first
    assert _row("Sprocket", "250", "0.15") in second


def test_odt_headings_and_table(tmp_path: Path) -> None:
    doc = extract_in_process(doc_files.odt_with_heading(tmp_path / "minutes.odt"))
    assert [(s.kind, s.label) for s in doc.sections] == [("heading", "Minutes"), ("heading", "Actions")]
    assert "The board met on Tuesday." in doc.sections[0].text
    assert _row("Budget", "Carried") in doc.sections[0].text
    assert doc.sections[1].text == "## Actions\n\nRenew the lease."
    assert [s.number for s in doc.sections] == [None, None] and doc.metadata.pages is None
    paged = extract_in_process(doc_files.odt_with_heading(tmp_path / "paged.odt", soft_page_breaks=True))
    assert [(s.label, s.number) for s in paged.sections] == [("Minutes", 1), ("Actions", 3)]
    assert paged.metadata.pages == 3


def test_html_drops_scripts_keeps_structure(tmp_path: Path) -> None:
    doc = extract_in_process(doc_files.html_page(tmp_path / "notes.html"))
    assert [s.label for s in doc.sections] == ["Release notes", "Known issues"]
    assert "Version 4.2 fixes the login bug." in doc.sections[0].text
    assert "- Faster sync\n\n- New icons" in doc.sections[0].text
    assert _row("Crash on exit", "Open") in doc.sections[1].text
    assert "secret" not in doc.text and "color" not in doc.text and "hidden comment" not in doc.text


def test_eml_headers_body_and_attachment_names(tmp_path: Path) -> None:
    doc = extract_in_process(doc_files.eml_message(tmp_path / "renewal.eml"))
    assert doc.type == "eml" and doc.sections[0].label == "Contract renewal"
    text = doc.text
    assert "From: Åsa Berg <asa@example.com>" in text and "Subject: Contract renewal" in text
    assert "The contract renews on 1 January unless we object." in text  # the plain part is preferred
    assert "contract.pdf (application/pdf" in text


def test_csv_json_code_markdown(tmp_path: Path) -> None:
    csv_doc = extract_in_process(doc_files.csv_file(tmp_path / "payments.csv"))
    assert csv_doc.sections[0].text.splitlines()[2] == _row("Müller", "Zürich", "1200")

    json_doc = extract_in_process(doc_files.json_file(tmp_path / "config.json"))
    assert '"host": "intranet.local"' in json_doc.text

    code = tmp_path / "tool.rs"
    code.write_text("fn main() {\n    println!(\"hi\");\n}\n", encoding="utf-8")
    code_doc = extract_in_process(code)
    assert code_doc.type == "code" and code_doc.metadata.language == "rust"
    assert code_doc.sections[0].text == code.read_text()

    md = tmp_path / "guide.md"
    md.write_text("Intro line.\n\n# Install\n\nRun it.\n\n```sh\n# not a heading\n```\n\n## Usage\n\nType.\n")
    md_doc = extract_in_process(md)
    assert [(s.kind, s.label) for s in md_doc.sections] == [("text", "beginning"), ("heading", "Install"),
                                                             ("heading", "Usage")]
    assert "# not a heading" in md_doc.sections[1].text


def test_text_encodings_are_detected(tmp_path: Path) -> None:
    sentence = "Grüße aus Köln: Straße, Fähre und Öl kosten 12 € mehr als geplant.\n"
    utf16 = tmp_path / "export.txt"
    utf16.write_bytes(sentence.encode("utf-16"))  # with BOM, as Excel's "Unicode text" export writes it
    assert extract_in_process(utf16).sections[0].text == sentence

    utf16_bare = tmp_path / "bare.txt"
    utf16_bare.write_bytes(sentence.encode("utf-16-le"))
    assert extract_in_process(utf16_bare).sections[0].text == sentence

    latin = "Le café crème coûte trois euros à la gare, près du marché où l'on vend des crêpes.\n" * 5
    latin1 = tmp_path / "notes.txt"
    latin1.write_bytes(latin.encode("latin-1"))
    assert extract_in_process(latin1).sections[0].text == latin


def test_document_round_trips_through_json(tmp_path: Path) -> None:
    """Storage keeps attachments as JSON (encrypted); the sandbox sends them the same way."""
    import json

    from app.documents.model import Document

    doc = extract_in_process(doc_files.pptx_slides(tmp_path / "deck.pptx"))
    assert Document.from_dict(json.loads(json.dumps(doc.to_dict()))) == doc


def test_long_tables_split_into_row_blocks_that_repeat_the_header(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text("date,amount\n" + "".join(f"2026-01-{i % 28 + 1:02d},{i}\n" for i in range(450)))
    doc = extract_in_process(path)
    assert [s.label for s in doc.sections] == ["ledger rows 1-200", "ledger rows 201-400", "ledger rows 401-450"]
    for section in doc.sections:
        assert section.text.startswith("| date | amount |\n|---|---|\n")
    assert doc.sections[2].text.splitlines()[-1] == "| 2026-01-02 | 449 |"


def test_pdf_page_labels_are_the_printed_numbers(table_pdf: Path, tmp_path: Path) -> None:
    import pypdf
    from pypdf.constants import PageLabelStyle

    writer = pypdf.PdfWriter(clone_from=table_pdf)
    writer.set_page_label(0, 0, style=PageLabelStyle.LOWERCASE_ROMAN, start=1)  # front matter "i"
    writer.set_page_label(1, 2, style=PageLabelStyle.DECIMAL, start=1)
    labelled = tmp_path / "labelled.pdf"
    writer.write(labelled)
    doc = extract_in_process(labelled)
    assert [(s.label, s.number) for s in doc.sections] == [("p. i", 1), ("p. 1", 2), ("p. 2", 3)]


def test_docx_sections_know_their_page(tmp_path: Path) -> None:
    from app.documents.grounding import citation_label

    explicit = extract_in_process(doc_files.docx_with_page_breaks(tmp_path / "explicit.docx", rendered=False))
    assert [(s.label, s.number) for s in explicit.sections] == [("Intro", 1), ("Costs", 2), ("Appendix", 4)]
    assert explicit.metadata.pages == 4
    costs = explicit.sections[1]
    assert citation_label(explicit, costs, 0, len(costs.text)) == "explicit.docx p. 2 › Costs"
    # Word's own marks: the filler paragraph starts page 2, so "Costs" (after it) is on page 2 as well.
    word = extract_in_process(doc_files.docx_with_page_breaks(tmp_path / "word.docx", rendered=True))
    assert [(s.label, s.number) for s in word.sections] == [("Intro", 1), ("Costs", 2), ("Appendix", 4)]
    # Without any page marks the page is unknown rather than guessed.
    plain = extract_in_process(doc_files.docx_with_headings(tmp_path / "plain.docx"))
    assert {s.number for s in plain.sections} == {None}
