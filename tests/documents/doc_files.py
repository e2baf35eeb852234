"""Builders for real test documents, each made with the library that writes that format.

Contents are chosen so a test can check structure, not just presence: tables with distinct cells per column,
headings at two levels, facts placed on known pages.
"""

from __future__ import annotations

import email.message
import json
import random
import re
import zipfile
from pathlib import Path

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_words(text: str) -> int:
    """A simple, deterministic token count (words and punctuation) for budget tests."""
    return len(_TOKEN.findall(text))


TABLE = [["Item", "Quantity", "Unit price"], ["Widget", "12", "3.50"], ["Gadget", "7", "19.99"],
         ["Sprocket", "250", "0.15"]]


def pdf_with_table(path: Path) -> Path:
    """Three pages: page 1 intro, page 2 a ruled table, page 3 a closing note (reportlab platypus)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table

    styles = getSampleStyleSheet()
    story = [Paragraph("Quarterly Procurement Report", styles["Title"]),
             Paragraph("This report covers purchases made by the Oslo office in the third quarter.",
                       styles["Normal"]), PageBreak(),
             Paragraph("Order table", styles["Heading2"]), Table(TABLE, colWidths=[150, 100, 100]), PageBreak(),
             Paragraph("Closing note: the auditor signed off on 3 October.", styles["Normal"])]
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    return path


def docx_with_headings(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph("Preface written before any heading.")
    document.add_heading("Scope", level=1)
    document.add_paragraph("The agreement covers maintenance of the harbour cranes.")
    document.add_heading("Prices", level=2)
    table = document.add_table(rows=len(TABLE), cols=3)
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_heading("Termination", level=1)
    document.add_paragraph("Either party may terminate with ninety days notice.")
    document.add_paragraph("First bullet point", style="List Bullet")
    document.save(path)
    return path


def xlsx_two_sheets(path: Path) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Budget"
    for row in TABLE:
        sheet.append(row)
    staff = workbook.create_sheet("Staff")
    staff.append(["Name", "Role"])
    staff.append(["Ingrid", "Engineer"])
    staff.append(["Tomasz", "Accountant"])
    workbook.save(path)
    return path


def pptx_slides(path: Path) -> Path:
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "Roadmap 2027"
    slide.placeholders[1].text = "Ship the offline installer"
    slide.notes_slide.notes_text_frame.text = "Mention the pilot customers."
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = "Costs"
    shape = slide.shapes.add_table(len(TABLE), 3, Inches(1), Inches(2), Inches(6), Inches(2))
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            shape.table.cell(r, c).text = value
    presentation.save(path)
    return path


def odt_with_heading(path: Path, soft_page_breaks: bool = False) -> Path:
    """Minutes (with a table) and Actions; with `soft_page_breaks`, "Actions" starts page 3 the way
    LibreOffice records its layout on save."""
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, P, SoftPageBreak

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text="Minutes"))
    document.text.addElement(P(text="The board met on Tuesday."))
    table = Table(name="Votes")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for row in [["Motion", "Result"], ["Budget", "Carried"]]:
        tr = TableRow()
        for value in row:
            cell = TableCell()
            cell.addElement(P(text=value))
            tr.addElement(cell)
        table.addElement(tr)
    document.text.addElement(table)
    if soft_page_breaks:
        document.text.addElement(SoftPageBreak())
        document.text.addElement(P(text="A long discussion filled page two."))
        document.text.addElement(SoftPageBreak())
    document.text.addElement(H(outlinelevel=2, text="Actions"))
    document.text.addElement(P(text="Renew the lease."))
    document.save(str(path))
    return path


def html_page(path: Path) -> Path:
    path.write_text("""<!doctype html><html><head><title>T</title><style>p {color: red}</style>
<script>var secret = "do not show";</script></head><body>
<h1>Release notes</h1><p>Version <b>4.2</b> fixes the login bug.</p>
<ul><li>Faster sync</li><li>New icons</li></ul>
<h2>Known issues</h2><table><tr><th>Issue</th><th>Status</th></tr><tr><td>Crash on exit</td><td>Open</td></tr>
</table><!-- hidden comment --></body></html>""", encoding="utf-8")
    return path


def eml_message(path: Path) -> Path:
    message = email.message.EmailMessage()
    message["From"] = "Åsa Berg <asa@example.com>"
    message["To"] = "team@example.com"
    message["Subject"] = "Contract renewal"
    message["Date"] = "Tue, 3 Nov 2026 09:00:00 +0100"
    message.set_content("Hi team,\n\nThe contract renews on 1 January unless we object.\n\nÅsa")
    message.add_alternative("<p>Hi team,</p><p>The contract renews on <b>1 January</b>.</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="contract.pdf")
    path.write_bytes(bytes(message))
    return path


def json_file(path: Path) -> Path:
    path.write_text(json.dumps({"server": {"host": "intranet.local", "port": 8443}, "retries": 3}),
                    encoding="utf-8")
    return path


def csv_file(path: Path) -> Path:
    path.write_text("name;city;amount\nMüller;Zürich;1200\nDupont;Lyon;800\n", encoding="utf-8")
    return path


def zip_bomb(path: Path, member: str, extra: dict[str, bytes], megabytes: int = 40) -> Path:
    """A zip whose `member` inflates `megabytes` MB of one repeated byte (~1000:1), next to small real parts."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in extra.items():
            archive.writestr(name, data)
        with archive.open(member, "w") as f:
            block = b" " * (1024 * 1024)
            for _ in range(megabytes):
                f.write(block)
    return path



def locked_pdf(source: Path, path: Path, user_password: str = "s3cret") -> Path:
    """`source` encrypted with AES-256; an empty user password opens without one (owner-only restrictions)."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=source)
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-256")
    writer.write(path)
    return path


def binary_junk(path: Path, size: int = 64 * 1024) -> Path:
    """Random bytes under a text-file name, as when a binary file is renamed .txt."""
    path.write_bytes(random.Random(5).randbytes(size))
    return path


def sparse_file(path: Path, size: int = 2 * 1024**3) -> Path:
    """A file that stat reports as `size` bytes (2 GiB by default) but that costs no disk space."""
    with path.open("wb") as f:
        f.truncate(size)
    return path

CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'

# Words for the long document: each page draws a topic and sentences from a shared vocabulary, so search
# terms recur across pages and BM25 has to rank rather than just match.
TOPICS = ["harbour", "budget", "ferry", "turbine", "depot", "warehouse", "pipeline", "audit", "licence", "fleet"]
PLACES = ["Bodø", "Tromsø", "Narvik", "Alta", "Hammerfest", "Vadsø", "Kirkenes", "Harstad"]
SENTENCES = [
    "The {t} team in {p} reviewed the schedule and agreed on the next milestones.",
    "Costs for the {t} in {p} rose slightly because of fuel and staff overtime.",
    "An inspection of the {t} near {p} found no issues that need urgent work.",
    "The emergency generator at the {p} {t} was tested and performed as expected.",
    "Staff in {p} asked for more training on the new {t} procedures this winter.",
    "The contract for the {t} at {p} was extended by another twelve months.",
]
PLANTED_PAGE = 217
PLANTED_FACT = ("The emergency generator at the Kirkenes depot is serviced by Halvorsen Marine under contract "
                "number KX-4471.")


def long_pdf(path: Path, pages: int = 300, seed: int = 7) -> Path:
    """`pages` pages of varied prose (about 35 lines each); PLANTED_FACT sits on page PLANTED_PAGE."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    rng = random.Random(seed)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for page in range(1, pages + 1):
        y = 800
        pdf.setFont("Helvetica-Bold", 12)
        pdf.drawString(50, y, f"Section {page}: {rng.choice(TOPICS).title()} report")
        pdf.setFont("Helvetica", 10)
        lines = [rng.choice(SENTENCES).format(t=rng.choice(TOPICS), p=rng.choice(PLACES)) for _ in range(34)]
        if page == PLANTED_PAGE:
            cut = PLANTED_FACT.rfind(" ", 0, 60)  # wrapped over two lines like real prose
            lines[20:20] = [PLANTED_FACT[:cut], PLANTED_FACT[cut + 1:]]
        for line in lines:
            y -= 22
            pdf.drawString(50, y, line)
        pdf.showPage()
    pdf.save()
    return path


def billion_laughs(root: str = "w:document") -> str:
    """A DOCTYPE whose entity &i; expands to 10^9 characters."""
    return (f'<!DOCTYPE {root} [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcdefgh", "bcdefghi"))
            + "]>")


def external_entity(target: Path, root: str = "w:document") -> str:
    """A DOCTYPE whose entity &xxe; would pull in the contents of `target` if a parser resolved it."""
    return f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{target.as_uri()}">]>'


def office_with_doctype(source: Path, path: Path, member: str, root: str, needle: str, replacement: str,
                        doctype: str) -> Path:
    """A copy of the zip-based document `source` whose XML part `member` (root element `root`) gains
    `doctype` and has its first `needle` text replaced by `replacement` (entity references go there)."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as copy:
        if member not in original.namelist():
            raise ValueError(f"{source.name} has no part {member}")
        for info in original.infolist():
            data = original.read(info)
            if info.filename == member:
                xml = data.decode("utf-8")
                if needle not in xml:
                    raise ValueError(f"{member} of {source.name} does not contain {needle!r}")
                body = xml[xml.index(f"<{root}"):].replace(needle, replacement, 1)
                data = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + doctype + body).encode()
            copy.writestr(info, data)
    return path


def docx_with_doctype(source: Path, path: Path, doctype: str, preface: str) -> Path:
    """A copy of docx_with_headings' file whose document.xml gains `doctype` and whose preface text becomes
    `preface`."""
    return office_with_doctype(source, path, "word/document.xml", "w:document", "Preface written before any heading.",
                               preface, doctype)


def docx_with_page_breaks(path: Path, rendered: bool) -> Path:
    """Headings on pages 1, 2 and 4. `rendered`: mark page starts the way Word does on save
    (w:lastRenderedPageBreak at the first run of a page) instead of writing explicit page breaks."""
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    for title, pages_before in (("Intro", 0), ("Costs", 1), ("Appendix", 2)):
        for _ in range(pages_before):
            if rendered:
                document.add_paragraph("Filler text that Word laid out on its own page.")
                document.paragraphs[-1].runs[0]._r.insert(0, OxmlElement("w:lastRenderedPageBreak"))
            else:
                document.add_page_break()
        document.add_heading(title, level=1)
        document.add_paragraph(f"Body of {title.lower()}.")
    document.save(path)
    return path
