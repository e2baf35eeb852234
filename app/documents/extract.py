"""Reads one file into a `Document`, in the current process. Call `sandbox.extract_document` for untrusted files.

Cheap checks run before any parser sees the file: it exists, it is a regular file, it is within the size
limit (from stat, without reading it), the extension is supported, the first bytes match the extension, and a
zip container passes the bomb checks. Any exception a parser raises on a hostile file becomes an
`ExtractionError` naming the file, so callers handle exactly one error type.
"""

from __future__ import annotations

import importlib
import os
import stat
from pathlib import Path

from app.documents.formats import SUPPORTED_SUMMARY, ZIP_TYPES, check_magic, type_for_name
from app.documents.model import (
    Document,
    DocumentLimits,
    DocumentMetadata,
    ErrorKind,
    ExtractionError,
    ProgressFn,
    no_progress,
)
from app.documents.readers.base import Reader
from app.documents.textdecode import decode_text
from app.documents.zipguard import check_archive


# Document type -> "module:function" of its reader, imported only when needed (keeps the sandbox start fast).
READERS: dict[str, str] = {
    "pdf": "pdf:read_pdf", "docx": "word:read_docx", "xlsx": "excel:read_xlsx", "pptx": "powerpoint:read_pptx",
    "odt": "opendocument:read_odt", "html": "webpage:read_html", "csv": "delimited:read_csv", "eml": "eml:read_eml",
    "markdown": "plaintext:read_markdown", "json": "plaintext:read_json", "code": "plaintext:read_code",
    "txt": "plaintext:read_text",
}


def _reader_for(doc_type: str) -> Reader:
    module, _, function = READERS[doc_type].partition(":")
    return getattr(importlib.import_module(f"app.documents.readers.{module}"), function)


def check_file(path: Path, limits: DocumentLimits) -> int:
    """Refuses missing, special and oversized files from stat alone; returns the size in bytes."""
    name = path.name
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ExtractionError(ErrorKind.MISSING, f"{name} is no longer there (it was moved or deleted after it "
                                                 "was attached).")
    except OSError as exc:
        raise ExtractionError(ErrorKind.UNREADABLE, f"{name} cannot be opened ({exc.strerror}).")
    if stat.S_ISDIR(info.st_mode):
        raise ExtractionError(ErrorKind.UNSUPPORTED, f"{name} is a folder; attach the files inside it instead.")
    if not stat.S_ISREG(info.st_mode):
        raise ExtractionError(ErrorKind.UNSUPPORTED, f"{name} is not a regular file.")
    if info.st_size > limits.max_file_bytes:
        raise ExtractionError(ErrorKind.TOO_LARGE, f"{name} is {info.st_size / 2**20:,.0f} MB, more than the "
                                                   f"limit of {limits.max_file_bytes / 2**20:,.0f} MB; split it "
                                                   "or raise the limit in Settings.")
    if info.st_size == 0:
        raise ExtractionError(ErrorKind.EMPTY, f"{name} is empty (0 bytes).")
    return info.st_size


def detect_type(path: Path) -> str:
    """Document type from the extension, or from the content when the extension is unknown."""
    name = path.name
    doc_type = type_for_name(name)
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except FileNotFoundError:
        raise ExtractionError(ErrorKind.MISSING, f"{name} disappeared while it was being read.")
    except OSError as exc:
        raise ExtractionError(ErrorKind.UNREADABLE, f"{name} cannot be opened ({exc.strerror}).")
    if doc_type is None:
        if head.startswith(b"%PDF-"):
            return "pdf"
        try:
            decode_text(head, name)
        except ExtractionError:
            raise ExtractionError(ErrorKind.UNSUPPORTED, f"{name}: this type of file is not supported; attach "
                                                         f"{SUPPORTED_SUMMARY}.")
        return "txt"
    check_magic(name, doc_type, head)
    return doc_type


def extract_in_process(path: str | os.PathLike[str], limits: DocumentLimits = DocumentLimits(),
                       progress: ProgressFn = no_progress) -> Document:
    path = Path(path)
    name = path.name
    size = check_file(path, limits)
    doc_type = detect_type(path)
    if doc_type in ZIP_TYPES:
        check_archive(path, name, limits)
    reader = _reader_for(doc_type)
    try:
        result = reader(path, name, limits, progress)
    except ExtractionError:
        raise
    except FileNotFoundError:
        raise ExtractionError(ErrorKind.MISSING, f"{name} disappeared while it was being read.")
    except MemoryError:
        raise ExtractionError(ErrorKind.MEMORY, f"{name} needs more than the {limits.memory_mb:,} MB memory limit "
                                                "to read; it may be malformed, or raise the limit in Settings.")
    except RecursionError:
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is malformed (its structure is nested too deeply to "
                                                 "read safely).")
    except Exception as exc:  # parsers raise anything on hostile input; the message keeps the cause
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} could not be read; it may be damaged "
                                                 f"({type(exc).__name__}: {str(exc)[:200]}).")
    chars = sum(len(s.text) for s in result.sections)
    if chars == 0:
        raise ExtractionError(ErrorKind.EMPTY, f"{name} contains no text.")
    metadata = DocumentMetadata(size_bytes=size, chars=chars, pages=result.pages, language=result.language,
                                truncated=result.truncated)
    return Document(name=name, type=doc_type, sections=tuple(result.sections), metadata=metadata,
                    warnings=tuple(result.warnings))
