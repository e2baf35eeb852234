"""The exported model package on disk: manifest, checksums, validation. Written by app.export, read by app.engine."""

from app.package.manifest import FileEntry, Manifest, PackageError, SourceModel, sha256_file, write_manifest
from app.package.reader import Package, read_package

__all__ = ["FileEntry", "Manifest", "Package", "PackageError", "SourceModel", "read_package", "sha256_file",
           "write_manifest"]
