"""The bar above the chat: which model answers, on what (target, execution provider), with how much memory
and context; the model picker (the installed models, and "Models…" for the library); and the buttons that show or
hide the sidebar and the chat settings."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from app.engine.events import ModelInfo
from app.ui.i18n import translate
from app.ui.icons import icon
from app.ui.safe_text import PlainLabel, plain_tooltip
from app.ui.theme import SPACE


def provider_name(provider: str) -> str:
    return provider.removesuffix("ExecutionProvider")


def model_facts(info: ModelInfo) -> str:
    """"cpu-int4 package · CPU · 9.8 GB in memory · 32,768-token context" (a remote engine: where it runs)."""
    from app.remote.endpoint import REMOTE_TARGET

    if info.target == REMOTE_TARGET:
        parts = [provider_name(info.provider)]
    else:
        parts = [translate("ModelBar", "{target} package").format(target=info.target), provider_name(info.provider)]
    if info.peak_rss_bytes:
        parts.append(translate("ModelBar", "{size} GB in memory").format(size=f"{info.peak_rss_bytes / 2**30:.1f}"))
    parts.append(translate("ModelBar", "{count}-token context").format(count=f"{info.context_length:,}"))
    return " · ".join(parts)


class QtModelBar(QWidget):

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(SPACE["sm"], SPACE["sm"], SPACE["sm"], SPACE["sm"])
        row.setSpacing(SPACE["sm"])
        self.sidebar_button = QToolButton()  # the window gives it the View › Conversations action
        self.sidebar_button.setAccessibleName(self.tr("Conversations panel"))
        row.addWidget(self.sidebar_button)
        self.chip = QLabel()
        self.chip.setPixmap(icon("box", "text_muted").pixmap(20, 20))
        row.addWidget(self.chip)
        texts = QVBoxLayout()
        texts.setSpacing(0)
        self.name = PlainLabel(self.tr("No model open"))  # a package's name comes from its manifest
        self.name.setObjectName("modelName")
        self.facts = PlainLabel(self.tr("Open a model folder to start"))
        self.facts.setObjectName("modelFacts")
        texts.addWidget(self.name)
        texts.addWidget(self.facts)
        row.addLayout(texts, 1)
        self.picker = QComboBox()  # filled by the window from the library
        self.picker.setObjectName("modelPicker")
        self.picker.setToolTip(self.tr("Switch to another installed model, or manage them (Ctrl+M)"))
        self.picker.setAccessibleName(self.tr("Model"))
        self.picker.setMinimumContentsLength(18)
        self.picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        row.addWidget(self.picker)
        self.settings_button = QToolButton()  # the window gives it the View › Chat settings action
        self.settings_button.setAccessibleName(self.tr("Chat settings panel"))
        row.addWidget(self.settings_button)

    def show_model(self, info: ModelInfo | None) -> None:
        if info is None:
            self.name.setText(self.tr("No model open"))
            self.facts.setText(self.tr("Open a model folder to start"))
            self.facts.setToolTip("")
            return
        self.name.setText(info.name)
        self.facts.setText(model_facts(info))
        self.facts.setToolTip(plain_tooltip(info.provider_reason))

    def show_loading(self, text: str) -> None:
        self.facts.setText(text)
