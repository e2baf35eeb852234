"""Reads one file into a `Document`, in the current process. Call `sandbox.extract_document` for untrusted files.

Cheap checks run before any parser sees the file: it exists, it is a regular file, it is within the size
limit (from stat, without reading it), the extension is supported, the first bytes match the extension, and a
zip container passes the bomb checks. Any exception a parser raises on a hostile file becomes an
`ExtractionError` naming the file, so callers handle exactly one error type.

Links and special files. A symbolic link is read only when it is the file the user picked themselves (the
dialog, a drop, a command-line argument: callers say so with `follow_picked_link=True`) and it leads to a
regular file; the document then carries a warning naming the file that was really read. A link anywhere else,
a link to a folder, device, pipe or socket, a dangling link, and every device, pipe or socket are refused.
The file is then opened once, without following links (O_NOFOLLOW), and the open descriptor must be the same
file that was checked (device and inode): a file swapped for a link or another file between the check and the
read is refused. Exactly the checked number of bytes is read, so a file that grows meanwhile cannot feed the
parser more than the size limit allowed; parsers see those bytes, never the path.
"""

from __future__ import annotations

import errno
import importlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from app.documents.formats import SUPPORTED_SUMMARY, ZIP_TYPES, check_magic, type_for_name
from app.documents.model import (
    Document,
    DocumentLimits,
    DocumentMetadata,
    ErrorKind,
    ExtractionError,
    ProgressFn,
    Section,
    no_progress,
)
from app.documents.readers.base import Reader, Source
from app.documents.textdecode import decode_text
from app.documents.zipguard import check_archive

# Document type -> "module:function" of its reader, imported only when needed (keeps the sandbox start fast).
READERS: dict[str, str] = {
    "pdf": "pdf:read_pdf", "docx": "word:read_docx", "xlsx": "excel:read_xlsx", "pptx": "powerpoint:read_pptx",
    "odt": "opendocument:read_odt", "html": "webpage:read_html", "csv": "delimited:read_csv", "eml": "eml:read_eml",
    "markdown": "plaintext:read_markdown", "json": "plaintext:read_json", "code": "plaintext:read_code",
    "txt": "plaintext:read_text",
}
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed `check_file`: where it really is, how big it was, which file it was."""

    path: Path  # the regular file to open (a followed link's target)
    size: int
    identity: tuple[int, int]  # (st_dev, st_ino) at the check
    link_target: str | None = None  # set when the picked path was a link


def _reader_for(doc_type: str) -> Reader:
    module, _, function = READERS[doc_type].partition(":")
    return getattr(importlib.import_module(f"app.documents.readers.{module}"), function)


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_file(path: Path, limits: DocumentLimits, *, follow_picked_link: bool = False) -> CheckedFile:
    """Refuses missing, linked, special and oversized files from (l)stat alone; see the module docstring."""
    name = path.name
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise ExtractionError(ErrorKind.MISSING, f"{name} is no longer there (it was moved or deleted after it "
                                                 "was attached).")
    except OSError as exc:
        raise ExtractionError(ErrorKind.UNREADABLE, f"{name} cannot be opened ({exc.strerror}).")
    real, link_target = Path(os.path.abspath(path)), None
    if stat.S_ISLNK(info.st_mode):
        if not follow_picked_link:
            raise ExtractionError(ErrorKind.UNSUPPORTED, f"{name} is a symbolic link, which is read only when it "
                                                         "is the file you picked; attach the file it points to.")
        real = Path(os.path.realpath(path))
        link_target = str(real)
        try:
            info = os.stat(real, follow_symlinks=False)
        except FileNotFoundError:
            raise ExtractionError(ErrorKind.MISSING, f"{name} is a link to {real}, which does not exist.")
        except OSError as exc:
            raise ExtractionError(ErrorKind.UNREADABLE, f"{name} is a link that cannot be followed "
                                                        f"({exc.strerror}).")
        if not stat.S_ISREG(info.st_mode):
            raise ExtractionError(ErrorKind.UNSUPPORTED, f"{name} is a link to {_kind_of(info.st_mode)} "
                                                         f"({real}), not to a document; it was not read.")
    if stat.S_ISDIR(info.st_mode):
        raise ExtractionError(ErrorKind.UNSUPPORTED, f"{name} is a folder; attach the files inside it instead.")
    if not stat.S_ISREG(info.st_mode):
        raise ExtractionError(ErrorKind.UNSUPPORTED, f"{name} is {_kind_of(info.st_mode)}, not a document; it "
                                                     "was not read.")
    if info.st_size > limits.max_file_bytes:
        raise ExtractionError(ErrorKind.TOO_LARGE, f"{name} is {info.st_size / 2**20:,.0f} MB, more than the "
                                                   f"limit of {limits.max_file_bytes / 2**20:,.0f} MB; split it "
                                                   "or raise the limit in Settings.")
    if info.st_size == 0:
        raise ExtractionError(ErrorKind.EMPTY, f"{name} is empty (0 bytes).")
    return CheckedFile(real, info.st_size, (info.st_dev, info.st_ino), link_target)


def read_checked(checked: CheckedFile, name: str) -> tuple[Source, list[str]]:
    """The checked file's bytes from one descriptor that is verified to be the checked file; (source, warnings)."""
    changed = ExtractionError(ErrorKind.UNREADABLE, f"{name} changed after it was checked (it was replaced by "
                                                    "another file or a link); attach it again.")
    try:
        fd = os.open(checked.path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise ExtractionError(ErrorKind.MISSING, f"{name} disappeared while it was being read.")
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the checked path became a link
            raise changed
        raise ExtractionError(ErrorKind.UNREADABLE, f"{name} cannot be opened ({exc.strerror}).")
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != checked.identity:
            raise changed
        data = f.read(checked.size)
        grew = bool(f.read(1))
    warnings = []
    if grew:
        warnings.append(f"{name} grew while it was being read; only its first {checked.size:,} bytes (its size "
                        "when it was checked) were read.")
    if checked.link_target is not None:
        warnings.append(f"{name} is a symbolic link; the file read is {checked.link_target}.")
    if not data:
        raise ExtractionError(ErrorKind.EMPTY, f"{name} is empty (0 bytes).")
    return Source(data), warnings


def detect_type(name: str, head: bytes) -> str:
    """Document type from the extension, or from the content when the extension is unknown."""
    doc_type = type_for_name(name)
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


def enforce_char_limit(sections: list[Section], max_chars: int) -> tuple[list[Section], bool]:
    """The sections cut so that their text, as Document.text joins it, holds at most `max_chars` characters.

    Readers budget while they read, so this rarely cuts; it makes the limit hold whatever a reader's
    rendering added (table pipes, repeated headers, indentation). Returns (sections, cut)."""
    kept: list[Section] = []
    used = 0
    for section in sections:
        joiner = 2 if kept else 0  # Document.text puts "\n\n" between sections
        room = max_chars - used - joiner
        if room <= 0:
            return kept, True
        if len(section.text) > room:
            kept.append(Section(section.kind, section.label, section.text[:room], section.number))
            return kept, True
        kept.append(section)
        used += joiner + len(section.text)
    return kept, False


def extract_in_process(path: str | os.PathLike[str], limits: DocumentLimits = DocumentLimits(),
                       progress: ProgressFn = no_progress, *, follow_picked_link: bool = False) -> Document:
    path = Path(path)
    name = path.name
    checked = check_file(path, limits, follow_picked_link=follow_picked_link)
    source, warnings = read_checked(checked, name)
    doc_type = detect_type(name, source.data[:4096])
    if doc_type in ZIP_TYPES:
        check_archive(source.open(), name, limits)
    reader = _reader_for(doc_type)
    try:
        result = reader(source, name, limits, progress)
    except ExtractionError:
        raise
    except MemoryError:
        raise ExtractionError(ErrorKind.MEMORY, f"{name} needs more than the {limits.memory_mb:,} MB memory limit "
                                                "to read; it may be malformed, or raise the limit in Settings.")
    except RecursionError:
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is malformed (its structure is nested too deeply to "
                                                 "read safely).")
    except Exception as exc:  # parsers raise anything on hostile input; the message keeps the cause
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} could not be read; it may be damaged "
                                                 f"({type(exc).__name__}: {str(exc)[:200]}).")
    sections, cut = enforce_char_limit(list(result.sections), limits.max_chars)
    truncated = result.truncated or cut
    if cut and not result.truncated:
        warnings.append("The text limit was reached; the rest of the document was left out.")
    chars = sum(len(s.text) for s in sections)
    if chars == 0:
        raise ExtractionError(ErrorKind.EMPTY, f"{name} contains no text.")
    metadata = DocumentMetadata(size_bytes=checked.size, chars=chars, pages=result.pages, language=result.language,
                                truncated=truncated)
    return Document(name=name, type=doc_type, sections=tuple(sections), metadata=metadata,
                    warnings=tuple(result.warnings) + tuple(warnings))
