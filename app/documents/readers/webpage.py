"""HTML with BeautifulSoup on the lxml HTML parser (no scripts run, no network, no external entities).

A small walker keeps what matters to a reader: headings open sections, block elements break lines, inline
elements flow, tables become Markdown, lists get bullets, <pre> keeps its spacing; script, style and other
invisible parts are dropped. E-mail bodies in HTML go through the same walker.
"""

from __future__ import annotations

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from bs4.element import Doctype, ProcessingInstruction

from app.documents.model import DocumentLimits, ErrorKind, ExtractionError, ProgressFn
from app.documents.readers.base import CharBudget, ReaderResult, Source, limit_warnings
from app.documents.readers.outline import OutlineBuilder
from app.documents.tables import markdown_table
from app.documents.textdecode import MAX_CONTROL_RATIO, control_ratio

_SKIP = {"script", "style", "noscript", "template", "head", "svg", "canvas", "iframe", "object", "button",
         "select", "input", "textarea", "math"}
_BLOCK = {"p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "blockquote", "ul", "ol",
          "li", "dl", "dt", "dd", "figure", "figcaption", "address", "form", "fieldset", "details", "summary",
          "hr", "br", "tr", "caption", "center", "body", "html"}
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_INVISIBLE_STRINGS = (Comment, Doctype, ProcessingInstruction)


class _Walker:
    def __init__(self, outline: OutlineBuilder) -> None:
        self.outline = outline
        self.line: list[str] = []

    def flush(self) -> None:
        text = " ".join("".join(self.line).split())
        self.line = []
        if text:
            self.outline.block(text)

    def walk(self, node: Tag, bullet: str = "") -> None:
        for child in node.children:
            if self.outline.full:
                return
            if isinstance(child, _INVISIBLE_STRINGS):
                continue
            if isinstance(child, NavigableString):
                self.line.append(str(child))
                continue
            if not isinstance(child, Tag) or child.name in _SKIP:
                continue
            name = child.name
            if name in _HEADINGS:
                self.flush()
                self.outline.heading(_HEADINGS[name], child.get_text(" "))
            elif name == "table":
                self.flush()
                rows = [[cell.get_text(" ") for cell in tr.find_all(["td", "th"], recursive=False)]
                        for tr in child.find_all("tr")]
                self.outline.block(markdown_table(rows))
            elif name == "pre":
                self.flush()
                self.outline.block("```\n" + child.get_text() + "\n```")
            elif name == "li":
                self.flush()
                self.line.append("- ")
                self.walk(child)
                self.flush()
            elif name in _BLOCK:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)


def html_sections(markup: bytes | str, outline: OutlineBuilder) -> None:
    """Feeds the visible text of an HTML document into `outline`."""
    soup = BeautifulSoup(markup, "lxml")
    walker = _Walker(outline)
    walker.walk(soup)
    walker.flush()


def read_html(source: Source, name: str, limits: DocumentLimits, progress: ProgressFn) -> ReaderResult:
    data = source.data
    budget = CharBudget(limits.max_chars)
    outline = OutlineBuilder(budget)
    html_sections(data, outline)
    sections = outline.sections()
    if sections and control_ratio("".join(s.text for s in sections[:20])) > MAX_CONTROL_RATIO:
        raise ExtractionError(ErrorKind.NOT_TEXT, f"{name} does not contain readable HTML (it looks like a "
                                                  "binary file renamed to .html).")
    progress(1, 1)
    warnings = limit_warnings(budget.exhausted)
    return ReaderResult(sections, warnings=warnings, truncated=budget.exhausted)
