"""Brings the network guard's state changes (from any thread) to the UI thread as a Qt signal."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app import netguard


class NetworkIndicator(QObject):
    changed = Signal(object)  # netguard.GuardState; emitted from any thread, delivered queued to the UI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        remove = netguard.add_listener(self.changed.emit)
        self._remove = remove
        self.destroyed.connect(lambda *_: remove())

    @staticmethod
    def current() -> netguard.GuardState:
        return netguard.state()

    def close(self) -> None:
        self._remove()
