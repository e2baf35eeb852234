"""The exported model package on disk: manifest, checksums, validation. Written by app.export, read by app.engine."""

from app.package.integrity import IntegrityError, check_files, sha256_file
from app.package.manifest import FileEntry, Manifest, PackageError, SourceModel, write_manifest
from app.package.reader import Package, read_package

__all__ = ["FileEntry", "IntegrityError", "Manifest", "Package", "PackageError", "SourceModel", "check_files",
           "read_package", "sha256_file", "write_manifest"]
