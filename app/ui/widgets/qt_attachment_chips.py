"""Chips for the documents attached to the open chat: name, pages/size, tokens, reading progress, errors, ×."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QToolButton, QWidget

from app.ui.attachments import AttachmentItem, ChipState
from app.ui.safe_text import PlainLabel, plain_tooltip


def chip_text(item: AttachmentItem) -> str:
    parts = [item.name]
    if item.state is ChipState.READING:
        done_total = item.progress
        parts.append(f"reading {done_total[0]}/{done_total[1]}" if done_total and done_total[1] else "reading…")
    elif item.state is ChipState.ERROR:
        parts.append("not usable")
    else:
        if item.pages:
            parts.append(f"{item.pages} page{'s' if item.pages != 1 else ''}")
        else:
            parts.append(_size(item.size_bytes))
        if item.tokens >= 0:
            parts.append(f"{item.tokens:,} tokens")
    return " · ".join(parts)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


class QtAttachmentChip(QFrame):
    removeRequested = Signal(int)

    def __init__(self, item: AttachmentItem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 2, 2)
        self.label = PlainLabel(chip_text(item))  # file names and error texts come from outside
        self.label.setToolTip(plain_tooltip(item.message or item.name))
        if item.state is ChipState.ERROR:
            self.setStyleSheet("QFrame { border: 1px solid #d93025; border-radius: 6px; } QLabel { color: #d93025; }")
            self.label.setText(f"{chip_text(item)} — {item.message}")
            self.label.setWordWrap(True)
        layout.addWidget(self.label)
        remove = QToolButton()
        remove.setText("×")
        remove.setAutoRaise(True)
        remove.setToolTip(plain_tooltip(f"Remove {item.name} from this chat"))
        remove.clicked.connect(lambda: self.removeRequested.emit(item.key))
        layout.addWidget(remove)


class QtAttachmentChips(QWidget):
    removeRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addStretch(1)
        self.chips: list[QtAttachmentChip] = []
        self.setVisible(False)

    def set_items(self, items: list[AttachmentItem]) -> None:
        same_files = [c.item.key for c in self.chips] == [i.key for i in items]
        if same_files and all(c.item.state is i.state is ChipState.READING for c, i in zip(self.chips, items)):
            for chip in self.chips:  # reading progress: update the text, don't rebuild the widgets
                chip.label.setText(chip_text(chip.item))
            return
        for chip in self.chips:
            chip.setParent(None)
            chip.deleteLater()
        self.chips = []
        for item in items:
            chip = QtAttachmentChip(item)
            chip.removeRequested.connect(self.removeRequested)
            self._layout.insertWidget(self._layout.count() - 1, chip)
            self.chips.append(chip)
        self.setVisible(bool(items))
