"""Markdown (model output) to the HTML subset that QTextBrowser renders, with highlighted code blocks.

The model's output (and the document text it quotes) is untrusted, and a chat must show what was written,
not let it restyle the window or reach anything: raw HTML is escaped; an image is shown as its alt text,
never as <img> (Qt would read `![x](/dev/zero)` until the process dies, and `![x](/etc/hostname)` reads the
file); a link is its text followed by its address in grey, never an <a> (nothing to click that could open a
file, a qrc: resource or a web page, and the address is visible instead of hidden behind the text). The only
anchors are the app's own: each code block gets a "Copy" link (`copy:N`) that the view resolves against
`RenderedMarkdown.code_blocks`. The view that shows this HTML also refuses to load any resource
(app/ui/safe_text.py), so a mistake here still cannot reach the file system.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import lru_cache

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from app.ui.i18n import translate
from app.ui.theme import palette_for


@dataclass
class RenderedMarkdown:
    html: str
    code_blocks: list[str] = field(default_factory=list)


@lru_cache(maxsize=2)
def _formatter(dark: bool) -> HtmlFormatter:
    return HtmlFormatter(noclasses=True, nowrap=True, style="monokai" if dark else "friendly")


def _highlight(code: str, language: str, dark: bool) -> str:
    try:
        lexer = get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    return highlight(code, lexer, _formatter(dark))


def render_markdown(text: str, *, dark: bool = False) -> RenderedMarkdown:
    """Renders one message. Cheap enough to call on every streamed delta (the view throttles to ~30 Hz)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])
    result = RenderedMarkdown(html="")
    colours = palette_for(dark)
    code_bg, link_color = colours.code, colours.link
    copy_text = html.escape(translate("Markdown", "Copy"))

    def fence(_renderer, tokens, idx, _options, _env):  # markdown-it render-rule signature
        token = tokens[idx]
        language = (token.info or "").strip().split(" ")[0]
        index = len(result.code_blocks)
        result.code_blocks.append(token.content)
        body = _highlight(token.content, language, dark)
        label = html.escape(language or translate("Markdown", "code"))
        return (
            f'<table width="100%" cellspacing="0" cellpadding="6" style="background:{code_bg}; margin:4px 0;">'
            f'<tr><td><span style="color:gray; font-size:small;">{label}</span>'
            f' &nbsp; <a href="copy:{index}" style="color:{link_color}; font-size:small;">{copy_text}</a></td></tr>'
            f'<tr><td><pre style="margin:0; font-family:monospace;">{body}</pre></td></tr></table>'
        )

    def image(_renderer, tokens, idx, _options, _env):
        alt = "".join(child.content for child in tokens[idx].children or ())
        shown = translate("Markdown", "[image: {description}]").format(
            description=alt or translate("Markdown", "no description"))
        return f'<span style="color:gray;">{html.escape(shown)}</span>'

    def link_open(_renderer, tokens, idx, _options, _env):
        return ""

    def link_close(_renderer, tokens, idx, _options, _env):
        opening = next(i for i in range(idx - 1, -1, -1) if tokens[i].type == "link_open")
        href = str(tokens[opening].attrGet("href") or "")
        label = "".join(t.content for t in tokens[opening + 1:idx])
        if not href or href == label or tokens[opening].markup == "autolink":
            return ""
        return f'<span style="color:gray;"> ({html.escape(href)})</span>'

    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", fence)
    md.add_render_rule("image", image)
    md.add_render_rule("link_open", link_open)
    md.add_render_rule("link_close", link_close)
    # QTextBrowser draws Markdown tables without any rules unless the table asks for them.
    border = colours.control_border
    result.html = md.render(text).replace(
        "<table>", f'<table border="1" cellspacing="0" cellpadding="4" style="border-color:{border};">')
    return result
