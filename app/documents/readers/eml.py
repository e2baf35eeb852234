"""E-mail (.eml) with the standard library's modern parser (policy.default): headers, body, attachment names.

The body prefers text/plain and falls back to the HTML part through the HTML walker. Attachments are listed by
name and size only; their content is not opened (the user can attach them separately).
"""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage

from app.documents.model import DocumentLimits, ErrorKind, ExtractionError, ProgressFn, Section
from app.documents.readers.base import CharBudget, ReaderResult, Source, limit_warnings
from app.documents.readers.outline import OutlineBuilder
from app.documents.readers.webpage import html_sections
from app.documents.textdecode import MAX_CONTROL_RATIO, control_ratio

HEADERS = ("From", "To", "Cc", "Date", "Subject")


def _size(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True) or b""
    size = len(payload)
    return f"{size / 1024:,.0f} KB" if size >= 1024 else f"{size} bytes"


def read_eml(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    message = email.message_from_bytes(source.data, policy=policy.default)
    if not any(message.get(h) for h in HEADERS):
        raise ExtractionError(ErrorKind.CORRUPT, f"{name} is not an e-mail message (it has no From, To, Date or "
                                                 "Subject header).")
    header_lines = [f"{h}: {message[h]}" for h in HEADERS if message.get(h)]
    budget = CharBudget(limits.max_chars)
    outline = OutlineBuilder(budget)
    outline.block("\n".join(header_lines))
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = body.get_content()
        if body.get_content_subtype() == "html":
            html_sections(content, outline)
        else:
            outline.block(content.replace("\r\n", "\n"))
    attachments = [f"- {part.get_filename() or 'unnamed'} ({part.get_content_type()}, {_size(part)})"
                   for part in message.iter_attachments()]
    if attachments:
        outline.block("Attachments (not read):\n" + "\n".join(attachments))
    sections = outline.sections()
    if control_ratio("".join(s.text for s in sections)) > MAX_CONTROL_RATIO:
        raise ExtractionError(ErrorKind.NOT_TEXT, f"{name} does not look like an e-mail (binary content).")
    subject = " ".join(str(message.get("Subject", "")).split())
    if sections and sections[0].kind == "text":
        sections[0] = Section("text", subject or "message", sections[0].text)
    progress(1, 1)
    return ReaderResult(sections, warnings=limit_warnings(budget.exhausted), truncated=budget.exhausted)
