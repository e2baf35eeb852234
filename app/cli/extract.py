"""`enclave extract FILE`: prints what Enclave reads from a document, the same way the chat sees it.

The file is read in the sandbox process with the document limits saved in the app's Settings (defaults when
there are none); --max-pages and --timeout override them for one run. Errors are one sentence on stderr and
exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from app.documents.model import Document, DocumentLimits, ExtractionError


def register(subparsers: argparse._SubParsersAction) -> None:
    defaults = DocumentLimits()
    parser = subparsers.add_parser("extract", help="print the text Enclave extracts from a document",
                                   description="Print the text of a document with page/section markers.")
    parser.add_argument("file", help="PDF, DOCX, XLSX, PPTX, ODT, TXT, Markdown, HTML, CSV, JSON, code or .eml")
    parser.add_argument("--json", action="store_true", help="print sections and metadata as JSON")
    parser.add_argument("--max-pages", type=int, default=None, metavar="N",
                        help=f"refuse documents with more pages (default: the Settings value, "
                             f"initially {defaults.max_pages})")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help=f"stop reading after S seconds (default: the Settings value, "
                             f"initially {defaults.timeout_s:g})")
    parser.set_defaults(func=_run)


def format_document(document: Document) -> str:
    """Plain-text rendering: a header line, then each section under its marker."""
    meta = document.metadata
    facts = [document.type.upper()]
    if meta.pages:
        facts.append(f"{meta.pages} pages")
    facts += [f"{meta.size_bytes:,} bytes", f"{meta.chars:,} characters"]
    lines = [f"=== {document.name} ({', '.join(facts)}) ==="]
    lines += [f"! {warning}" for warning in document.warnings]
    for section in document.sections:
        lines.append(f"--- {section.label or document.name} ---")
        lines.append(section.text)
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    from app.documents.sandbox import extract_document
    from app.storage.settings import AppSettings

    for flag, value in (("--max-pages", args.max_pages), ("--timeout", args.timeout)):
        if value is not None and value <= 0:
            print(f"enclave extract: {flag} must be greater than 0, got {value:g}.", file=sys.stderr)
            return 1
    settings = AppSettings.load()
    if settings.load_warning:
        print(f"enclave extract: {settings.load_warning}", file=sys.stderr)
    overrides = {"max_pages": args.max_pages, "timeout_s": args.timeout}
    try:
        limits = replace(settings.document_limits, **{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        print(f"enclave extract: {exc}", file=sys.stderr)
        return 1
    try:
        document = extract_document(args.file, limits, follow_picked_link=True)  # the path the user typed
    except ExtractionError as exc:
        print(exc.user_message, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(document.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_document(document))
    return 0
