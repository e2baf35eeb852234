"""Zip-bomb checks for the zip containers of DOCX, XLSX, PPTX and ODT, done before anything is inflated.

Reading the central directory costs a few kilobytes; inflating a 40 KB "report.docx" that declares 4 GB of XML
costs the machine. Python's zipfile never returns more than a member's declared size (it stops there and then
fails the CRC), so bounding the declared sizes bounds what the parsers can be fed; the sandbox's memory cap is
the second line of defence.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import BinaryIO

from app.documents.model import DocumentLimits, ErrorKind, ExtractionError

RATIO_CHECK_MIN_BYTES = 1024 * 1024  # small members may compress extremely well (empty styles) and are harmless


def check_archive(path: Path | BinaryIO, name: str, limits: DocumentLimits) -> None:
    """Raises ExtractionError when the archive is damaged or its declared contents exceed the limits."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is damaged (its zip container cannot be read: {exc}).")
    if len(members) > limits.max_archive_members:
        raise ExtractionError(ErrorKind.ARCHIVE_BOMB, f"{name} was refused: it packs {len(members):,} files, more "
                                                      f"than the limit of {limits.max_archive_members:,}.")
    total = 0
    for info in members:
        if info.flag_bits & 0x1:
            raise ExtractionError(ErrorKind.ENCRYPTED, f"{name} is protected by a password; remove the password "
                                                       "in the program that made it and attach it again.")
        total += info.file_size
        if info.file_size >= RATIO_CHECK_MIN_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise ExtractionError(
                    ErrorKind.ARCHIVE_BOMB,
                    f"{name} was refused as a likely zip bomb: its part {info.filename} inflates {ratio:,.0f}:1 "
                    f"to {info.file_size / 2**20:,.0f} MB (limit {limits.max_compression_ratio:,.0f}:1).")
    if total > limits.max_archive_bytes:
        raise ExtractionError(ErrorKind.ARCHIVE_BOMB, f"{name} was refused: it would unpack to "
                                                      f"{total / 2**20:,.0f} MB, more than the limit of "
                                                      f"{limits.max_archive_bytes / 2**20:,.0f} MB.")
