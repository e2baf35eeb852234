"""PDF pages with pypdf (pinned >= 6.13.3: older versions have infinite-loop and memory advisories).

Each page is one section so citations can say "p. 12". A PDF whose pages are all images is a scan: we refuse
it with that reason instead of handing the model empty text, and we flag image-only pages inside a mixed PDF.
"""

from __future__ import annotations

import re
import pypdf
from pypdf import PasswordType
from pypdf.errors import FileNotDecryptedError, PdfReadError

from app.documents.model import DocumentLimits, ErrorKind, ExtractionError, ProgressFn, Section
from app.documents.readers.base import CharBudget, ReaderResult, Source

_WIDE_GAP = re.compile(r" {4,}")
IMAGE_ONLY_NOTE = "[This page is an image with no text layer; its content could not be read.]"


def _open(source: Source, name: str) -> pypdf.PdfReader:
    try:
        reader = pypdf.PdfReader(source.open(), strict=False)
    except PdfReadError as exc:
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is damaged and cannot be read as a PDF ({exc}).")
    if reader.is_encrypted:
        # Many PDFs carry only an owner password ("no printing") and open with the empty user password.
        try:
            result = reader.decrypt("")
        except (NotImplementedError, PdfReadError) as exc:
            raise ExtractionError(ErrorKind.ENCRYPTED, f"{name} uses an encryption Enclave cannot open ({exc}).")
        if result == PasswordType.NOT_DECRYPTED:
            raise ExtractionError(ErrorKind.ENCRYPTED, f"{name} is protected by a password; open it in a PDF "
                                                       "viewer, save an unprotected copy and attach that.")
    return reader


def _page_labels(reader: pypdf.PdfReader, count: int) -> list[str]:
    """The page numbers printed in viewers ("iv", "12"), computed once (pypdf rebuilds the whole list on every
    access); physical numbers when the PDF's label tree is unusable."""
    try:
        labels = list(reader.page_labels)
    except (IndexError, KeyError, PdfReadError, ValueError, TypeError):
        labels = []
    return labels if len(labels) == count else [str(i + 1) for i in range(count)]


def _tidy_layout(text: str) -> str:
    """Layout-mode text with the page margin removed and wide gaps narrowed to three spaces (still a visible
    column break, at a fraction of the tokens)."""
    lines = [line.rstrip() for line in text.splitlines()]
    indent = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
    return "\n".join(_WIDE_GAP.sub("   ", line[indent:]) for line in lines).strip()


def _page_text(page: pypdf.PageObject) -> tuple[str, bool]:
    """(text, layout_kept). Layout mode keeps table rows on one line and paragraph breaks, which plain mode
    loses; it is newer code, so a page it fails on is read again in plain mode rather than lost."""
    try:
        return _tidy_layout(page.extract_text(extraction_mode="layout")), True
    except Exception:  # any layout-mode failure: the plain extraction below reports real damage itself
        return page.extract_text().strip(), False


def read_pdf(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    reader = _open(source, name)
    try:
        count = len(reader.pages)
    except FileNotDecryptedError:
        raise ExtractionError(ErrorKind.ENCRYPTED, f"{name} is protected by a password.")
    if count == 0:
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is damaged: no pages could be found in it.")
    if count > limits.max_pages:
        raise ExtractionError(ErrorKind.TOO_MANY_PAGES, f"{name} has {count:,} pages, more than the limit of "
                                                        f"{limits.max_pages:,}; split it or raise the page limit "
                                                        "in Settings.")
    labels = _page_labels(reader, count)
    budget = CharBudget(limits.max_chars)
    sections: list[Section] = []
    read = 0
    image_only: list[int] = []
    plain_pages = 0
    for index, page in enumerate(reader.pages):
        text, layout_kept = _page_text(page)
        plain_pages += not layout_kept
        if not text and len(page.images) > 0:
            image_only.append(index + 1)
            text = IMAGE_ONLY_NOTE
        text = budget.fit(text)
        if budget.exhausted and not text:
            break
        read = index + 1
        if text:
            sections.append(Section("page", f"p. {labels[index]}", text, index + 1))
        progress(read, count)
        if budget.exhausted:
            break
    if not sections or all(s.text == IMAGE_ONLY_NOTE for s in sections):
        if image_only:
            raise ExtractionError(ErrorKind.NO_TEXT_LAYER, f"{name} is a scanned document: its {count} page(s) "
                                                           "are images with no text layer, and Enclave does not "
                                                           "do OCR; attach a version with text.")
        raise ExtractionError(ErrorKind.NO_TEXT_LAYER, f"{name} contains no text ({count} page(s) of drawings "
                                                       "or blank pages).")
    warnings = []
    if image_only:
        shown = ", ".join(map(str, image_only[:10])) + (" ..." if len(image_only) > 10 else "")
        warnings.append(f"{len(image_only)} page(s) are images without text and were skipped: {shown}.")
    if plain_pages:
        warnings.append(f"The layout of {plain_pages} page(s) could not be kept; their text was read without it.")
    if budget.exhausted:
        warnings.append(f"Only the first {read} of {count} pages were read (text limit reached).")
    return ReaderResult(sections, pages=count, warnings=warnings, truncated=budget.exhausted)
