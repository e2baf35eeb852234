"""Text-like files: plain text, Markdown, JSON and source code, decoded with charset detection.

Markdown is split at its headings (found by markdown-it, so a "#" inside a code block is not a heading);
everything else is one section, which chunking later splits by paragraphs.
"""

from __future__ import annotations

import json

from markdown_it import MarkdownIt

from app.documents.formats import code_language
from app.documents.model import DocumentLimits, ProgressFn, Section
from app.documents.readers.base import ReaderResult, Source, limit_warnings
from app.documents.textdecode import decode_text

MINIFIED_LINE = 300  # a JSON file that is one long line gets indented so chunks break at sensible places
MAX_JSON_PARSE_CHARS = 5_000_000  # parsed objects take ~10x the text's memory; bigger files are kept as they are
# Re-indenting adds a line and the depth's spaces per value: ~1.3x for ordinary JSON, 50x for a deeply nested
# array of numbers. Beyond this growth (or the text limit) the file is kept as it was written.
MAX_REINDENT_GROWTH = 2.0


def read_limited_text(source: Source, name: str, limits: DocumentLimits) -> tuple[str, bool]:
    """Decoded text, cut at limits.max_chars; returns (text, truncated)."""
    # Up to 4 bytes per character (UTF-32); decoding just past the limit tells us whether we cut anything.
    text, _ = decode_text(source.data[:limits.max_chars * 4 + 4], name)
    if len(text) > limits.max_chars:
        return text[:limits.max_chars], True
    return text, False


def markdown_sections(text: str) -> list[Section]:
    lines = text.split("\n")
    tokens = MarkdownIt("commonmark").parse(text)
    starts: list[tuple[int, str]] = []  # (first line of heading, heading text)
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map and token.level == 0:
            starts.append((token.map[0], tokens[i + 1].content))
    sections = []
    if not starts or starts[0][0] > 0:
        preamble = "\n".join(lines[:starts[0][0] if starts else len(lines)]).strip()
        if preamble:
            sections.append(Section("text", "beginning", preamble))
    for n, (first, title) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        body = "\n".join(lines[first:end]).strip()
        if body:
            sections.append(Section("heading", " ".join(title.split()), body))
    return sections


def read_text(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    text, truncated = read_limited_text(source, name, limits)
    progress(1, 1)
    sections = [Section("text", "", text)] if text.strip() else []
    return ReaderResult(sections, warnings=limit_warnings(truncated), truncated=truncated)


def read_markdown(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    text, truncated = read_limited_text(source, name, limits)
    progress(1, 1)
    return ReaderResult(markdown_sections(text), warnings=limit_warnings(truncated), truncated=truncated)


def read_code(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    result = read_text(source, name, limits, progress)
    result.language = code_language(name)
    return result


def reindented(value: object, limit: int) -> str | None:
    """`value` as indented JSON, or None as soon as that would exceed `limit` characters (streamed, so a
    50x blow-up is never built in memory)."""
    parts: list[str] = []
    size = 0
    for part in json.JSONEncoder(indent=1, ensure_ascii=False).iterencode(value):
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
    return "".join(parts)


def read_json(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    text, truncated = read_limited_text(source, name, limits)
    progress(1, 1)
    warnings = limit_warnings(truncated)
    if not truncated and len(text) <= MAX_JSON_PARSE_CHARS and not name.lower().endswith((".jsonl", ".ndjson")):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            warnings.append(f"{name} is not valid JSON ({exc.msg} at line {exc.lineno}); it was read as text.")
        except RecursionError:
            warnings.append(f"{name} is nested too deeply to parse; it was read as text.")
        else:
            if max(map(len, text.split("\n"))) > MINIFIED_LINE:
                try:
                    pretty = reindented(value, min(limits.max_chars, int(len(text) * MAX_REINDENT_GROWTH)))
                except RecursionError:
                    pretty = None
                text = pretty if pretty is not None else text
    sections = [Section("text", "", text)] if text.strip() else []
    return ReaderResult(sections, warnings=warnings, truncated=truncated)
