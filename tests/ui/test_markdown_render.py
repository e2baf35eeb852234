"""Model output is rendered as Markdown, code blocks highlighted with a copy link, raw HTML never passed on."""

from __future__ import annotations

from app.ui.markdown_render import render_markdown


def test_code_blocks_are_highlighted_and_copyable() -> None:
    text = "Use this:\n\n```python\nprint('hi')\n```\n\nand `inline`.\n\n```\nplain\n```"
    rendered = render_markdown(text)
    assert rendered.code_blocks == ["print('hi')\n", "plain\n"]
    assert 'href="copy:0"' in rendered.html and 'href="copy:1"' in rendered.html
    assert "<code>inline</code>" in rendered.html
    assert "style=" in rendered.html.split("copy:0")[1]  # pygments inline colours


def test_raw_html_from_the_model_is_escaped() -> None:
    rendered = render_markdown('<img src="http://example.com/x.png"><script>alert(1)</script> **bold**')
    assert "<img" not in rendered.html and "<script" not in rendered.html
    assert "&lt;script&gt;" in rendered.html and "<strong>bold</strong>" in rendered.html


def test_tables_render_as_tables() -> None:
    rendered = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<table border=\"1\"" in rendered.html and "<td>2</td>" in rendered.html
