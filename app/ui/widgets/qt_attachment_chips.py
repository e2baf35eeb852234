"""Chips for the documents attached to the open chat: name, pages/size, tokens, reading progress, errors, ×.

A file that could not be read says so in plain words on its chip ("damaged or not a PDF", "protected by a
password"); the reader's own sentence, which may name a parser's internals, is in the chip's tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from app.documents.model import ErrorKind
from app.ui.attachments import AttachmentItem, ChipState
from app.ui.i18n import counts, translate
from app.ui.icons import icon
from app.ui.safe_text import PlainLabel, plain_tooltip
from app.ui.theme import set_style_state
from app.ui.widgets.qt_flow_layout import FlowLayout

MAX_NAME = 40  # characters of a file name on a chip; the whole name is in its tooltip


def problem_text(kind: ErrorKind | None) -> str:
    """What went wrong with a file, without the reader's internals."""
    texts = {
        ErrorKind.MISSING: translate("AttachmentChip", "the file is no longer there"),
        ErrorKind.UNREADABLE: translate("AttachmentChip", "the file cannot be opened"),
        ErrorKind.TOO_LARGE: translate("AttachmentChip", "larger than the limit in Preferences"),
        ErrorKind.TOO_MANY_PAGES: translate("AttachmentChip", "more pages than the limit in Preferences"),
        ErrorKind.UNSUPPORTED: translate("AttachmentChip", "this kind of file is not supported"),
        ErrorKind.NOT_TEXT: translate("AttachmentChip", "no readable text in it"),
        ErrorKind.ENCRYPTED: translate("AttachmentChip", "protected by a password"),
        ErrorKind.CORRUPT: translate("AttachmentChip", "damaged, or not the kind of file its name says"),
        ErrorKind.ARCHIVE_BOMB: translate("AttachmentChip", "refused: it unpacks to far more than its size"),
        ErrorKind.NO_TEXT_LAYER: translate("AttachmentChip", "a scan without text (no OCR in Enclave)"),
        ErrorKind.EMPTY: translate("AttachmentChip", "empty"),
        ErrorKind.TIMEOUT: translate("AttachmentChip", "took longer than the time limit in Preferences"),
        ErrorKind.MEMORY: translate("AttachmentChip", "needs more memory than the limit in Preferences"),
        ErrorKind.CRASHED: translate("AttachmentChip", "the reader stopped unexpectedly"),
        ErrorKind.CANCELLED: translate("AttachmentChip", "reading was cancelled"),
    }
    return texts.get(kind, translate("AttachmentChip", "could not be read"))  # type: ignore[arg-type]


def _short(name: str) -> str:
    return name if len(name) <= MAX_NAME else name[:MAX_NAME - 1] + "…"


def chip_text(item: AttachmentItem) -> str:
    parts = [_short(item.name)]
    if item.state is ChipState.READING:
        done, total = item.progress or (0, 0)
        parts.append(translate("AttachmentChip", "reading {done}/{total}").format(done=done, total=total) if total
                     else translate("AttachmentChip", "reading…"))
    elif item.state is ChipState.ERROR:
        parts.append(problem_text(item.error_kind))
    else:
        if item.pages:
            parts.append(counts.pages(item.pages))
        else:
            parts.append(_size(item.size_bytes))
        if item.tokens >= 0:
            parts.append(translate("AttachmentChip", "{count} tokens").format(count=f"{item.tokens:,}"))
    return " · ".join(parts)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


class QtAttachmentChip(QFrame):
    removeRequested = Signal(int)

    def __init__(self, item: AttachmentItem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chip")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 3, 2, 3)
        layout.setSpacing(4)
        self.icon = QLabel()
        layout.addWidget(self.icon)
        self.label = PlainLabel()  # file names and error texts come from outside
        self.label.setObjectName("chipLabel")
        layout.addWidget(self.label)
        remove = QToolButton()
        remove.setIcon(icon("x", "text_muted"))
        remove.setAutoRaise(True)
        remove.setToolTip(plain_tooltip(translate("AttachmentChip", "Remove {name} from this chat").format(name=item.name)))
        remove.setAccessibleName(translate("AttachmentChip", "Remove {name}").format(name=item.name))
        remove.clicked.connect(lambda: self.removeRequested.emit(item.key))
        self.remove_button = remove
        layout.addWidget(remove)
        self._state: ChipState | None = None
        self.show_item(item)

    def show_item(self, item: AttachmentItem) -> None:
        """Shows `item`'s state; restyles only when the state changed (a style pass is the costly part)."""
        self.item = item
        text = chip_text(item)
        self.label.setText(text)
        self.label.setAccessibleName(text)
        self.label.setAccessibleDescription(item.message)
        tip = plain_tooltip(item.name if not item.message else f"{item.name}\n{item.message}")
        self.setToolTip(tip)
        self.label.setToolTip(tip)
        if item.state is not self._state:
            first = self._state is None
            self._state = item.state
            failed = item.state is ChipState.ERROR
            self.icon.setPixmap(icon("alert" if failed else "file", "danger" if failed else "text_muted")
                                .pixmap(QSize(16, 16), self.devicePixelRatioF()))
            if first:  # a new chip is styled when it is first shown
                self.setProperty("state", item.state.value)
            else:
                set_style_state(self, item.state.value, name="state", also=(self.label,))


class QtAttachmentChips(QWidget):
    removeRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = FlowLayout(self, spacing=6)
        self.chips: list[QtAttachmentChip] = []
        self.setVisible(False)

    def set_items(self, items: list[AttachmentItem]) -> None:
        """Keeps the chip of each file that stays (updated in place), drops the others, adds the new ones."""
        by_key = {chip.item.key: chip for chip in self.chips}
        wanted = {item.key for item in items}
        for chip in self.chips:
            if chip.item.key not in wanted:
                self._layout.removeWidget(chip)
                chip.setParent(None)
                chip.deleteLater()
        chips, added = [], False
        for item in items:
            chip = by_key.get(item.key)
            if chip is None:
                chip = QtAttachmentChip(item, self)
                chip.removeRequested.connect(self.removeRequested)
                self._layout.addWidget(chip)
                chip.setVisible(True)
                added = True
            else:
                chip.show_item(item)
            chips.append(chip)
        removed = len(chips) != len(self.chips) or added
        self.chips = chips
        self.setVisible(bool(items))
        if removed or added:
            self._layout.invalidate()
