"""Which reader handles a file: by extension, cross-checked against the file's first bytes.

The extension decides because users pick files by it, but a magic-byte check catches the lies that matter
(a "report.pdf" that is really HTML, a ".docx" that is not a zip) so the error says "not a real PDF" instead of
surfacing a parser stack trace.
"""

from __future__ import annotations

from pathlib import PurePath

from app.documents.model import ErrorKind, ExtractionError

# Document type -> extensions. "code" and "txt" are decoded as text; the rest have their own readers.
TYPE_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "pdf": (".pdf",),
    "docx": (".docx", ".docm"),
    "xlsx": (".xlsx", ".xlsm"),
    "pptx": (".pptx", ".pptm"),
    "odt": (".odt",),
    "txt": (".txt", ".text", ".log", ".rst"),
    "markdown": (".md", ".markdown", ".mdown", ".mkd"),
    "html": (".html", ".htm", ".xhtml"),
    "csv": (".csv", ".tsv"),
    "json": (".json", ".jsonl", ".ndjson"),
    "eml": (".eml",),
}

# Source code and config files: extension -> language name (used as the fenced-code language).
CODE_LANGUAGES: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".tsx": "tsx", ".jsx": "jsx", ".java": "java", ".kt": "kotlin", ".kts": "kotlin",
    ".scala": "scala", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp",
    ".hh": "cpp", ".cs": "csharp", ".go": "go", ".rs": "rust", ".rb": "ruby", ".php": "php",
    ".swift": "swift", ".m": "objectivec", ".mm": "objectivec", ".r": "r", ".jl": "julia", ".lua": "lua",
    ".pl": "perl", ".pm": "perl", ".sh": "bash", ".bash": "bash", ".zsh": "bash", ".ps1": "powershell",
    ".bat": "batch", ".cmd": "batch", ".sql": "sql", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml",
    ".ini": "ini", ".cfg": "ini", ".conf": "ini", ".xml": "xml", ".css": "css", ".scss": "scss",
    ".vue": "vue", ".dart": "dart", ".hs": "haskell", ".ex": "elixir", ".exs": "elixir", ".erl": "erlang",
    ".clj": "clojure", ".fs": "fsharp", ".vb": "vbnet", ".f90": "fortran", ".asm": "asm", ".s": "asm",
    ".tex": "latex", ".gradle": "groovy", ".groovy": "groovy", ".tf": "hcl", ".proto": "protobuf",
    ".cmake": "cmake", ".mk": "make", ".dockerfile": "dockerfile",
}
CODE_FILE_NAMES: dict[str, str] = {"makefile": "make", "dockerfile": "dockerfile", "cmakelists.txt": "cmake"}

# Types we recognise but do not read, so the message can say what the file is.
KNOWN_UNSUPPORTED: dict[str, str] = {
    ".doc": "old Word (.doc) files", ".xls": "old Excel (.xls) files", ".ppt": "old PowerPoint (.ppt) files",
    ".rtf": "RTF files", ".pages": "Apple Pages files", ".numbers": "Apple Numbers files",
    ".key": "Apple Keynote files", ".msg": "Outlook .msg files", ".epub": "e-books",
    ".png": "images", ".jpg": "images", ".jpeg": "images", ".gif": "images", ".bmp": "images",
    ".tif": "images", ".tiff": "images", ".webp": "images", ".heic": "images", ".svg": "images",
    ".zip": "zip archives", ".7z": "archives", ".rar": "archives", ".gz": "archives", ".tar": "archives",
    ".exe": "programs", ".dll": "programs", ".so": "programs", ".dylib": "programs", ".msi": "installers",
    ".mp3": "audio files", ".wav": "audio files", ".m4a": "audio files", ".mp4": "videos",
    ".mov": "videos", ".avi": "videos", ".mkv": "videos", ".ods": "OpenDocument spreadsheets",
    ".odp": "OpenDocument presentations",
}

SUPPORTED_SUMMARY = ("PDF, Word (.docx), Excel (.xlsx), PowerPoint (.pptx), OpenDocument text (.odt), text, "
                     "Markdown, HTML, CSV, JSON, e-mail (.eml) and source code")

ZIP_TYPES = frozenset({"docx", "xlsx", "pptx", "odt"})
_TYPE_BY_EXTENSION = {ext: kind for kind, exts in TYPE_EXTENSIONS.items() for ext in exts}


def type_for_name(name: str) -> str | None:
    """Document type from the file name, or None when only the content can tell (unknown extension)."""
    path = PurePath(name)
    ext = path.suffix.lower()
    if path.name.lower() in CODE_FILE_NAMES:
        return "code"
    if ext in _TYPE_BY_EXTENSION:
        return _TYPE_BY_EXTENSION[ext]
    if ext in CODE_LANGUAGES:
        return "code"
    if ext in KNOWN_UNSUPPORTED:
        raise ExtractionError(ErrorKind.UNSUPPORTED, f"{path.name}: {KNOWN_UNSUPPORTED[ext]} are not supported; "
                                                     f"attach {SUPPORTED_SUMMARY}.")
    return None


def code_language(name: str) -> str | None:
    path = PurePath(name)
    return CODE_FILE_NAMES.get(path.name.lower()) or CODE_LANGUAGES.get(path.suffix.lower())


def check_magic(name: str, doc_type: str, head: bytes) -> None:
    """Refuses a file whose first bytes contradict its extension (renamed or truncated files)."""
    if doc_type == "pdf" and b"%PDF-" not in head[:1024]:
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is not a valid PDF (it does not start like one; "
                                                 "it may be damaged or another kind of file renamed to .pdf).")
    if doc_type in ZIP_TYPES and head.startswith(b"\xd0\xcf\x11\xe0"):
        # Office saves password-protected DOCX/XLSX/PPTX as an OLE compound file, not as a zip.
        raise ExtractionError(ErrorKind.ENCRYPTED, f"{name} is protected by a password (or saved in the old "
                                                   "binary format); remove the password or re-save it, then "
                                                   "attach it again.")
    if doc_type in ZIP_TYPES and not head.startswith(b"PK\x03\x04"):
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is not a valid {doc_type.upper()} file (it is not "
                                                 "the zip container these files are; it may be damaged or "
                                                 "renamed).")
