"""One rule for progress bars: a known fraction fills the bar, an unknown one makes it a busy indicator."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar


def show_fraction(bar: QProgressBar, fraction: float | None) -> None:
    bar.setVisible(True)
    if fraction is None:
        bar.setRange(0, 0)
    else:
        bar.setRange(0, 1000)
        bar.setValue(int(fraction * 1000))
