"""Per-chat settings: the system prompt and sampling. Shown in a side panel the user can hide.

Each spin box takes its limits from app.engine.sampling.SAMPLING_BOUNDS, the one range per parameter that
the engine, the settings file and the command line check too.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QDoubleSpinBox, QFormLayout, QLabel, QPlainTextEdit, QSpinBox, QVBoxLayout, QWidget,
)

from app.engine.chat_request import ChatSettings
from app.engine.sampling import SAMPLING_BOUNDS

_DECIMALS = 2


class QtChatSettings(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = ChatSettings()  # what is shown; fields without a widget are carried through unchanged
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(QLabel("System prompt for this chat"))
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setPlaceholderText("e.g. Answer as a careful contracts lawyer. Cite clauses.")
        self.system_prompt.setMaximumHeight(160)
        self.system_prompt.setAccessibleName("System prompt")
        self.system_prompt.textChanged.connect(self.changed)
        layout.addWidget(self.system_prompt)

        form = QFormLayout()
        self.temperature = _double("temperature", 0.05, "0 always picks the most likely token")
        self.top_p = _double("top_p", 0.05, "Sample only from the smallest set of tokens whose probability "
                                            "adds up to this")
        self.top_k = _integer("top_k", 1)
        self.top_k.setSpecialValueText("off")
        self.min_p = _double("min_p", 0.01, "Drop tokens less likely than this fraction of the best one")
        self.repetition_penalty = _double("repetition_penalty", 0.05, "Discourage repeating tokens (1 = off)")
        self.max_tokens = _integer("max_new_tokens", 256)
        self.fixed_seed = QCheckBox("Fixed seed")
        self.seed = _integer("seed", 1)
        self.seed.setEnabled(False)
        self.fixed_seed.toggled.connect(self.seed.setEnabled)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Top-k", self.top_k)
        form.addRow("Min-p", self.min_p)
        form.addRow("Repetition penalty", self.repetition_penalty)
        form.addRow("Max reply tokens", self.max_tokens)
        form.addRow(self.fixed_seed, self.seed)
        for widget in (self.temperature, self.top_p, self.min_p, self.repetition_penalty):
            widget.valueChanged.connect(self.changed)
        for widget in (self.top_k, self.max_tokens, self.seed):
            widget.valueChanged.connect(self.changed)
        self.fixed_seed.toggled.connect(self.changed)
        layout.addLayout(form)
        layout.addStretch(1)
        self.set_values(self._settings)

    def settings(self, reasoning_effort: str) -> ChatSettings:
        """What the panel shows, with the composer's reasoning effort."""
        sampling = replace(
            self._settings.sampling, temperature=self.temperature.value(), top_p=self.top_p.value(),
            top_k=self.top_k.value(), min_p=self.min_p.value(), repetition_penalty=self.repetition_penalty.value(),
            seed=self.seed.value() if self.fixed_seed.isChecked() else None)
        return replace(self._settings, system_prompt=self.system_prompt.toPlainText(),
                       reasoning_effort=reasoning_effort, sampling=sampling, max_new_tokens=self.max_tokens.value())

    def set_values(self, settings: ChatSettings) -> None:
        self._settings = settings
        sampling = settings.sampling
        widgets = (self.system_prompt, self.temperature, self.top_p, self.top_k, self.min_p,
                   self.repetition_penalty, self.max_tokens, self.seed, self.fixed_seed)
        for w in widgets:
            w.blockSignals(True)
        self.system_prompt.setPlainText(settings.system_prompt)
        self.temperature.setValue(sampling.temperature)
        self.top_p.setValue(sampling.top_p)
        self.top_k.setValue(sampling.top_k)
        self.min_p.setValue(sampling.min_p)
        self.repetition_penalty.setValue(sampling.repetition_penalty)
        self.max_tokens.setValue(settings.max_new_tokens)
        self.fixed_seed.setChecked(sampling.seed is not None)
        self.seed.setEnabled(sampling.seed is not None)
        self.seed.setValue(sampling.seed or 0)
        for w in widgets:
            w.blockSignals(False)


def _double(name: str, step: float, tip: str) -> QDoubleSpinBox:
    bound = SAMPLING_BOUNDS[name]
    box = QDoubleSpinBox()
    box.setDecimals(_DECIMALS)
    box.setRange(bound.low + (10 ** -_DECIMALS if bound.low_open else 0.0), bound.high)
    box.setSingleStep(step)
    box.setToolTip(tip)
    return box


def _integer(name: str, step: int) -> QSpinBox:
    bound = SAMPLING_BOUNDS[name]
    box = QSpinBox()
    box.setRange(int(bound.low), int(bound.high))
    box.setSingleStep(step)
    return box
