"""Showing strings from outside (model output, document text, file names, error texts) without letting them
reach the file system, the network or the window's layout.

Qt treats text as rich text in more places than it seems: a QLabel, a tooltip and a QMessageBox guess
(`Qt::mightBeRichText`) and render anything that starts like HTML, and a rich-text document loads every image
and style sheet it names: `<img src=/dev/zero>` reads until the process runs out of memory, `<img
src=/etc/hostname>` reads the file. So:

* `PlainLabel` is the QLabel for every text that may hold an outside string (the format is fixed to plain);
* `plain_tooltip` turns an outside string into a tooltip that is shown as written;
* `show_message` is the message box with plain text;
* `SafeTextBrowser` is the rich-text view of the chat and the passage viewer: its resource loader answers
  every request (image, style sheet, document) with an empty resource, so Qt never opens a path or a URL.
  An *empty* answer is what stops Qt: when the loader returns nothing, QTextDocument and QTextImageHandler
  fall back to reading the file themselves (measured with strace: 10 opens of /etc/hostname for one <img>).
  The chat's own HTML (app/ui/markdown_render.py) uses no images at all.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QMessageBox, QTextBrowser, QWidget

_BLANK_IMAGE = QImage(1, 1, QImage.Format.Format_ARGB32)
_BLANK_IMAGE.fill(0)


class PlainLabel(QLabel):
    """A QLabel that never interprets its text as HTML."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)


def plain_tooltip(text: str) -> str:
    """A tooltip showing `text` exactly as written (tooltips guess rich text like QLabel does)."""
    if not text:
        return ""
    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"


def show_message(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str) -> None:
    """A modal message box whose text is plain (QMessageBox's static helpers guess rich text)."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()


class SafeTextBrowser(QTextBrowser):
    """A read-only rich-text view that loads nothing from outside: no file, no qrc, no data: URL, no link."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)

    def loadResource(self, kind: int, url: QUrl) -> object:  # noqa: N802 - Qt override
        if kind == QTextDocument.ResourceType.ImageResource.value:
            return _BLANK_IMAGE
        return ""


def ask_yes_no(parent: QWidget | None, title: str, text: str) -> bool:
    """A Yes/No question whose text is plain; True for Yes."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box.exec() == QMessageBox.StandardButton.Yes


def ask_text(parent: QWidget | None, title: str, label: str, echo: QLineEdit.EchoMode) -> tuple[str, bool]:
    """QInputDialog.getText with a plain-text label (the label may quote an error message)."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setTextEchoMode(echo)
    for child in dialog.findChildren(QLabel):
        child.setTextFormat(Qt.TextFormat.PlainText)
    accepted = dialog.exec() == QInputDialog.DialogCode.Accepted
    text = dialog.textValue()
    dialog.deleteLater()
    return text, accepted
