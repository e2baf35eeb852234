"""Shows the passage a citation points at: the document's section with the cited characters highlighted."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from app.documents.grounding import Citation
from app.documents.model import Document
from app.ui.i18n import translate
from app.ui.safe_text import SafeTextBrowser


def passage_html(document: Document, citation: Citation) -> str:
    index = citation.section_index
    if not 0 <= index < len(document.sections):
        return "<p>" + html.escape(translate("Passage", "This passage is no longer available: the document changed "
                                                       "after the answer was written.")) + "</p>"
    text = document.sections[index].text
    start = max(0, min(len(text), citation.start))
    end = max(start, min(len(text), citation.end))
    before, cited, after = (html.escape(part) for part in (text[:start], text[start:end], text[end:]))
    body = f'{before}<a name="cited"></a><span style="background:#fff3b0; color:black;">{cited}</span>{after}'
    return f"<pre style='white-space:pre-wrap; font-family:sans-serif;'>{body}</pre>"


class QtPassageDialog(QDialog):
    def __init__(self, document: Document, citation: Citation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(citation.label or document.name)
        self.resize(720, 560)
        layout = QVBoxLayout(self)
        self.view = SafeTextBrowser()
        self.view.setHtml(passage_html(document, citation))
        self.view.scrollToAnchor("cited")
        layout.addWidget(self.view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
