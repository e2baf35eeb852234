"""Model output, document text, file names and error texts cannot reach the file system or restyle the window.

The strings come from tests/ui/hostile_content.py: Markdown images of /dev/zero, /etc/hostname and a private
file, file:/javascript:/data:/qrc: links, raw HTML, CSS, and the issue's "large red PAID" file name. The proof
that a file was not read comes from the kernel (inotify on the private file); the strace test in
tests/privacy/test_rendering_reads_nothing.py covers /dev/zero and /etc/hostname themselves.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt, QTextDocument
from PySide6.QtWidgets import QLabel, QWidget

from app.documents.grounding import Citation
from app.ui.attachments import AttachmentItem, ChipState
from app.ui.markdown_render import render_markdown
from app.ui.widgets.qt_attachment_chips import MAX_NAME, QtAttachmentChip
from app.ui.widgets.qt_passage import QtPassageDialog
from tests.ui.hostile_content import MARK, OpenWatch, hostile_document, hostile_name, payloads, write_hostile_chat
from tests.ui.scripted_backend import ScriptedBackend, opener

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the open watcher uses inotify")


@pytest.fixture
def secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private file that relative (`secret.txt`) and absolute payloads point at; the cwd is its folder."""
    path = tmp_path / "secret.txt"
    path.write_text("the user's private notes\n")
    monkeypatch.chdir(tmp_path)
    return path


def shown_as_written(tooltip: str, original: str) -> bool:
    """What Qt draws for a tooltip: rich text when it guesses so, else the string itself."""
    if not GuiQt.mightBeRichText(tooltip):  # Qt.mightBeRichText lives in QtGui
        return tooltip == original
    document = QTextDocument()
    document.setHtml(tooltip)
    return document.toPlainText() == original


def assert_labels_plain(root: QWidget) -> None:
    """Every label showing a hostile string shows it as text: plain format, or rich text that escaped it."""
    for label in root.findChildren(QLabel):
        if MARK not in label.text():
            continue
        if label.textFormat() != Qt.TextFormat.PlainText:
            assert "&lt;" in label.text() and "<h1" not in label.text(), f"rich label {label.text()[:80]!r}"
        lines = label.text().count("\n") + 1
        height = label.heightForWidth(8000) if label.wordWrap() else label.sizeHint().height()
        assert height < (lines + 2) * label.fontMetrics().height(), f"a payload restyled {label.text()[:60]!r}"


def test_renderer_emits_no_image_link_style_or_raw_html(secret: Path) -> None:
    for payload in payloads(secret):  # only rendered to a string here: /dev/zero is never near Qt
        out = render_markdown(f"before\n\n{payload}\n\nafter").html
        lowered = out.lower()
        assert "<img" not in lowered and "<a " not in lowered and "<style" not in lowered, (payload, out)
        assert "<link" not in lowered and "<font" not in lowered and "<h1" not in lowered, (payload, out)
        assert "before" in out and "after" in out
    assert "[image: x]" in render_markdown("![x](/dev/zero)").html  # the reader still learns an image was there
    shown = render_markdown("[web](https://198.51.100.7/collect)").html
    assert "web" in shown and "https://198.51.100.7/collect" in shown  # the address is visible, not hidden
    code = render_markdown("```python\nx = 1\n```")
    assert '<a href="copy:0"' in code.html  # the app's own anchors remain


def test_chips_and_error_chips_show_the_name_as_text(qtbot, secret: Path) -> None:
    watch = OpenWatch(secret)
    ready = AttachmentItem(name=hostile_name(), state=ChipState.READY, size_bytes=100, tokens=5)
    failed = AttachmentItem(name=hostile_name(), state=ChipState.ERROR, message=f"{hostile_name()} is damaged.")
    for item in (ready, failed):
        chip = QtAttachmentChip(item)
        qtbot.addWidget(chip)
        chip.show()
        qtbot.waitExposed(chip)
        chip.grab()  # paint it, as the window would
        assert chip.label.textFormat() == Qt.TextFormat.PlainText
        assert chip.label.text().startswith(hostile_name()[:MAX_NAME - 1])  # long names are shortened on the chip
        assert shown_as_written(chip.label.toolTip(), "\n".join(t for t in (item.name, item.message) if t))
        assert_labels_plain(chip)
    assert watch.count() == 0, "a chip opened secret.txt"


def test_saved_chat_with_every_payload_reopens_safely(qtbot, make_app, secret: Path, tmp_path: Path) -> None:
    database = tmp_path / "history.db"
    conversation = write_hostile_chat(database, secret, devices=False)
    watch = OpenWatch(secret)
    backend = ScriptedBackend([], ["Here: ", *payloads(secret, devices=False)])
    backend.info = dataclasses.replace(backend.info, name=hostile_name(), provider_reason=hostile_name())
    parts = make_app(opener(backend), database=database)
    window = parts.window
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "manifest.json").write_text("{}")
    with qtbot.waitSignal(parts.models.loaded, timeout=10000):
        window.open_model_folder(str(package))
    with qtbot.waitSignal(parts.attachments.changed, timeout=20000, check_params_cb=lambda items: len(items) == 1):
        parts.conversations.select(conversation)
    qtbot.waitUntil(lambda: len(window.chat_view.message_widgets()) == 3, timeout=20000)
    window.chat_view.flush()
    for widget in window.chat_view.message_widgets():
        widget.thought_toggle.setChecked(True)  # the reasoning view renders too
    window.resize(1000, 800)
    window.grab()  # lay out and paint everything, as a user would see it

    user, reply, failed = window.chat_view.message_widgets()
    assert "<h1 style=font-size:60px>" in reply.body.toPlainText()  # raw HTML shown as the text it is
    assert "[image: x]" in reply.body.toPlainText()
    assert "<img" not in reply.body.toHtml().lower()
    assert failed.note.textFormat() == Qt.TextFormat.PlainText and hostile_name() in failed.note.text()
    reply.sources.linkActivated.emit("sources:show")  # the passages given, when the reply cites none of them
    assert not reply.sources.isHidden() and "&lt;h1" in reply.sources.text()  # the citation's label, escaped
    chip = window.composer.chips.chips[0]
    assert chip.label.text().startswith(hostile_name()[:MAX_NAME - 1])
    assert window.model_bar.name.text() == hostile_name()
    assert shown_as_written(window.model_bar.facts.toolTip(), hostile_name())
    titles = window.conversation_list
    qtbot.waitUntil(lambda: len(titles.ids()) == 1, timeout=20000)
    assert shown_as_written(titles.row_of(titles.ids()[0]).toolTip(), hostile_name())
    assert_labels_plain(window)

    # the document's passage, in the citation viewer
    citation = Citation(marker=1, label=hostile_name(), doc_index=0, file_name=hostile_name(), section_index=0,
                        section_label="", page=None, chunk_ids=(), start=0, end=40)
    dialog = QtPassageDialog(hostile_document(secret, devices=False), citation, window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.grab()
    assert "<img" not in dialog.view.toHtml().lower() and "![x](/etc/hostname)" in dialog.view.toPlainText()

    # a live reply streaming the same payloads
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=20000):
        parts.replies.send("show me")
    window.chat_view.flush()
    window.grab()
    live = window.chat_view.message_widgets()[-1]
    assert "[image: x]" in live.body.toPlainText() and "<img" not in live.body.toHtml().lower()
    assert watch.count() == 0, "rendering the chat opened secret.txt"
    watch.close()
