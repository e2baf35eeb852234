"""How a setting the organisation's policy sets is shown: locked, with the same words everywhere."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

MANAGED = "Managed by your organization"


def managed_note(managed: bool) -> QLabel:
    """The label a locked setting carries (hidden when the setting is the user's)."""
    label = QLabel(MANAGED if managed else "")
    label.setObjectName("managedNote")
    label.setVisible(managed)
    return label
