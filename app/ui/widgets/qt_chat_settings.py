"""Per-chat settings: the system prompt and sampling. Shown in a side panel the user can hide."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QDoubleSpinBox, QFormLayout, QLabel, QPlainTextEdit, QSpinBox, QVBoxLayout, QWidget,
)

from app.ui.requests import SamplingSettings


class QtChatSettings(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        self.temperature = _double(0.0, 2.0, 0.05, 1.0, "0 always picks the most likely token")
        self.top_p = _double(0.0, 1.0, 0.05, 1.0, "Sample only from the smallest set of tokens whose probability "
                                                 "adds up to this")
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 1000)
        self.top_k.setSpecialValueText("off")
        self.min_p = _double(0.0, 1.0, 0.01, 0.0, "Drop tokens less likely than this fraction of the best one")
        self.repetition_penalty = _double(1.0, 2.0, 0.05, 1.0, "Discourage repeating tokens (1 = off)")
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(16, 131072)
        self.max_tokens.setValue(4096)
        self.max_tokens.setSingleStep(256)
        self.fixed_seed = QCheckBox("Fixed seed")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
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

    def sampling(self) -> SamplingSettings:
        return SamplingSettings(
            temperature=self.temperature.value(), top_p=self.top_p.value(), top_k=self.top_k.value(),
            min_p=self.min_p.value(), repetition_penalty=self.repetition_penalty.value(),
            max_new_tokens=self.max_tokens.value(),
            seed=self.seed.value() if self.fixed_seed.isChecked() else None,
        )

    def set_values(self, system_prompt: str, sampling: SamplingSettings) -> None:
        widgets = (self.system_prompt, self.temperature, self.top_p, self.top_k, self.min_p,
                   self.repetition_penalty, self.max_tokens, self.seed, self.fixed_seed)
        for w in widgets:
            w.blockSignals(True)
        self.system_prompt.setPlainText(system_prompt)
        self.temperature.setValue(sampling.temperature)
        self.top_p.setValue(sampling.top_p)
        self.top_k.setValue(sampling.top_k)
        self.min_p.setValue(sampling.min_p)
        self.repetition_penalty.setValue(sampling.repetition_penalty)
        self.max_tokens.setValue(sampling.max_new_tokens)
        self.fixed_seed.setChecked(sampling.seed is not None)
        self.seed.setEnabled(sampling.seed is not None)
        self.seed.setValue(sampling.seed or 0)
        for w in widgets:
            w.blockSignals(False)


def _double(lo: float, hi: float, step: float, value: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setValue(value)
    box.setToolTip(tip)
    return box
