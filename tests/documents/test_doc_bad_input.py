"""Every kind of bad file yields an ExtractionError with a clear message, through the real sandbox.

Each case goes through `extract_document` (a separate process per file) and ends with a good file read by the
same caller, showing the caller keeps working.
"""

from __future__ import annotations

import io
import random
import time
import zipfile
from pathlib import Path

import pytest

import doc_files
from app.documents.extract import extract_in_process
from app.documents.model import DocumentLimits, ErrorKind, ExtractionError
from app.documents.sandbox import extract_document
from app.documents.zipguard import check_archive


def _refused(path: Path, limits: DocumentLimits = DocumentLimits()) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        extract_document(path, limits)
    message = info.value.user_message
    assert "\n" not in message and message.endswith(".") and path.name in message, message
    return info.value


def test_password_pdf_is_refused_but_owner_only_password_opens(table_pdf: Path, tmp_path: Path) -> None:
    error = _refused(doc_files.locked_pdf(table_pdf, tmp_path / "locked.pdf"))
    assert error.kind is ErrorKind.ENCRYPTED and "password" in error.user_message
    no_print = doc_files.locked_pdf(table_pdf, tmp_path / "no-print.pdf", user_password="")
    assert extract_document(no_print).metadata.pages == 3


def test_corrupt_files(table_pdf: Path, tmp_path: Path) -> None:
    broken_pdf = tmp_path / "broken.pdf"
    broken_pdf.write_bytes(b"%PDF-1.7\n" + random.Random(1).randbytes(5000))
    assert _refused(broken_pdf).kind is ErrorKind.CORRUPT

    docx_bytes = doc_files.docx_with_headings(tmp_path / "whole.docx").read_bytes()
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(docx_bytes[: len(docx_bytes) // 2])
    assert "damaged" in _refused(truncated).user_message

    renamed = tmp_path / "report.pdf"
    renamed.write_text("<html>not a pdf</html>")
    assert "not a valid PDF" in _refused(renamed).user_message


@pytest.mark.parametrize(("name", "member", "parts"), [
    ("invoice.docx", "word/document.xml", {"[Content_Types].xml": doc_files.CONTENT_TYPES}),
    ("ledger.xlsx", "xl/worksheets/sheet1.xml", {"[Content_Types].xml": doc_files.CONTENT_TYPES,
                                                 "xl/workbook.xml": b"<workbook/>"}),
])
def test_zip_bomb_disguised_as_office_file(tmp_path: Path, name: str, member: str, parts: dict) -> None:
    bomb = doc_files.zip_bomb(tmp_path / name, member, parts)
    assert bomb.stat().st_size < 200_000
    error = _refused(bomb)
    assert error.kind is ErrorKind.ARCHIVE_BOMB and "zip bomb" in error.user_message and member in error.user_message


def test_xml_entity_attacks_in_docx(tmp_path: Path) -> None:
    source = doc_files.docx_with_headings(tmp_path / "source.docx")
    laughs = doc_files.docx_with_doctype(source, tmp_path / "laughs.docx", doc_files.billion_laughs(), "&i;")
    error = _refused(laughs)  # 10^9 characters if expanded; libxml2's amplification guard stops it
    assert error.kind is ErrorKind.CORRUPT and "amplification" in error.user_message
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7781")
    external = doc_files.docx_with_doctype(source, tmp_path / "xxe.docx", doc_files.external_entity(secret),
                                           "X&xxe;Y")
    doc = extract_document(external)
    assert "TOP-SECRET" not in doc.text  # the external entity is not resolved
    assert doc.sections[0].text.startswith("X")


# The other zip+XML formats, each attacked in the part its reader parses (root element, text to replace).
XML_PARTS = {
    "pptx": (doc_files.pptx_slides, "ppt/slides/slide1.xml", "p:sld", "Ship the offline installer"),
    "xlsx": (doc_files.xlsx_two_sheets, "xl/worksheets/sheet1.xml", "worksheet", "Widget"),
    "odt": (doc_files.odt_with_heading, "content.xml", "office:document-content", "Renew the lease."),
}


@pytest.mark.parametrize("kind", list(XML_PARTS))
def test_xml_entity_attacks_in_other_formats(kind: str, tmp_path: Path) -> None:
    """Neither an external entity (file contents leaking into the prompt) nor entity expansion (memory) gets
    through: the file is refused, or read without the entity's text."""
    build, member, root, needle = XML_PARTS[kind]
    source = build(tmp_path / f"source.{kind}")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7781")
    for name, doctype, text in (("xxe", doc_files.external_entity(secret, root), "Before &xxe;"),
                                ("laughs", doc_files.billion_laughs(root), "Before &i;")):
        attacked = doc_files.office_with_doctype(source, tmp_path / f"{name}.{kind}", member, root, needle, text,
                                                 doctype)
        try:
            doc = extract_document(attacked)
        except ExtractionError as error:
            assert error.kind is ErrorKind.CORRUPT and attacked.name in error.user_message
        else:  # read, with the entity left out ("Before" shows the attacked part itself was parsed)
            assert "TOP-SECRET" not in doc.text and "aaaaaaaaaa" not in doc.text and "Before" in doc.text


def test_archive_member_count_and_declared_size_limits(tmp_path: Path) -> None:
    many = tmp_path / "many.docx"
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(20):
            archive.writestr(f"part{i}.xml", b"<x/>")
    with pytest.raises(ExtractionError, match="packs 20 files"):
        check_archive(many, many.name, DocumentLimits(max_archive_members=10))
    big = doc_files.zip_bomb(tmp_path / "big.xlsx", "xl/sheet.xml", {}, megabytes=3)
    with pytest.raises(ExtractionError, match="unpack to 3 MB"):
        check_archive(big, big.name, DocumentLimits(max_archive_bytes=2 * 2**20, max_compression_ratio=10**6))


def test_two_gigabyte_file_is_refused_from_its_size(tmp_path: Path) -> None:
    huge = doc_files.sparse_file(tmp_path / "archive-scan.pdf")  # costs no disk, but stat reports 2 GiB
    started = time.monotonic()
    error = _refused(huge)
    assert error.kind is ErrorKind.TOO_LARGE and "2,048 MB" in error.user_message
    assert time.monotonic() - started < 2.0  # refused from stat, no process started, nothing read


def test_binary_junk_renamed_txt(tmp_path: Path) -> None:
    error = _refused(doc_files.binary_junk(tmp_path / "notes.txt"))
    assert error.kind is ErrorKind.NOT_TEXT and "binary" in error.user_message


def test_unsupported_types(tmp_path: Path) -> None:
    from PIL import Image

    picture = tmp_path / "photo.png"
    Image.new("RGB", (8, 8), "red").save(picture)
    assert "images are not supported" in _refused(picture).user_message
    unknown = tmp_path / "data.bin3"
    unknown.write_bytes(bytes(range(256)) * 16)
    assert _refused(unknown).kind is ErrorKind.UNSUPPORTED


def test_file_deleted_after_dropping(tmp_path: Path) -> None:
    dropped = tmp_path / "minutes.docx"
    doc_files.docx_with_headings(dropped)
    dropped.unlink()
    error = _refused(dropped)
    assert error.kind is ErrorKind.MISSING and "moved or deleted" in error.user_message


def test_scanned_pdf_has_no_text_layer(tmp_path: Path) -> None:
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    Image.new("L", (200, 100), 255).save(buffer, "PNG")
    scan = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(scan))
    for _ in range(2):
        pdf.drawImage(ImageReader(io.BytesIO(buffer.getvalue())), 50, 500, 400, 200)
        pdf.showPage()
    pdf.save()
    error = _refused(scan)
    assert error.kind is ErrorKind.NO_TEXT_LAYER and "scanned" in error.user_message


def test_page_limit(table_pdf: Path) -> None:
    with pytest.raises(ExtractionError) as info:
        extract_in_process(table_pdf, DocumentLimits(max_pages=2))
    assert info.value.kind is ErrorKind.TOO_MANY_PAGES and "3 pages" in info.value.user_message


def test_text_limit_truncates_and_says_so(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("request served in 12 ms\n" * 1000)
    doc = extract_in_process(log, DocumentLimits(max_chars=1000))
    assert doc.metadata.truncated and len(doc.text) == 1000 and doc.warnings


def test_caller_keeps_working_after_failures(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(32)) * 100)
    with pytest.raises(ExtractionError):
        extract_document(junk)
    good = doc_files.csv_file(tmp_path / "after.csv")
    assert "Müller" in extract_document(good).text
