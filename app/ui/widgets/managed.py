"""How a setting the organisation's policy sets is shown: locked, with the same words everywhere."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from app.ui.i18n import translate


def managed_text() -> str:
    """"Managed by your organization", in the user's language."""
    return translate("Managed", "Managed by your organization")


def managed_note(managed: bool) -> QLabel:
    """The label a locked setting carries (hidden when the setting is the user's)."""
    label = QLabel(managed_text() if managed else "")
    label.setObjectName("managedNote")
    label.setVisible(managed)
    return label
