"""How a chat is answered: the system prompt and sampling. `ChatSettingsForm` is the one editor of a
ChatSettings; the side panel (`QtChatSettings`, this chat's) and Preferences (new chats' defaults) both use it.

Each spin box takes its limits from app.engine.sampling.SAMPLING_BOUNDS, the one range per parameter that
the engine, the settings file and the command line check too.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QPlainTextEdit, QPushButton, QScrollArea, QSpinBox,
    QVBoxLayout, QWidget,
)

from app.engine.chat_request import REASONING_EFFORTS, ChatSettings
from app.engine.sampling import SAMPLING_BOUNDS
from app.ui.theme import SPACE
from app.ui.widgets.qt_composer import effort_names

_DECIMALS = 2


class ChatSettingsForm(QWidget):
    """System prompt, (optionally) reasoning effort, sampling and the reply budget of one ChatSettings."""

    changed = Signal()

    def __init__(self, *, with_effort: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = ChatSettings()  # what is shown; fields without a widget are carried through unchanged
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACE["sm"])
        prompt_label = QLabel(self.tr("System prompt"))
        prompt_label.setObjectName("sectionHeading")
        layout.addWidget(prompt_label)
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setPlaceholderText(self.tr("e.g. Answer as a careful contracts lawyer. Cite clauses."))
        self.system_prompt.setMaximumHeight(140)
        self.system_prompt.setTabChangesFocus(True)
        self.system_prompt.setAccessibleName(self.tr("System prompt"))
        self.system_prompt.textChanged.connect(self.changed)
        prompt_label.setBuddy(self.system_prompt)
        layout.addWidget(self.system_prompt)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.effort: QComboBox | None = None
        if with_effort:
            self.effort = QComboBox()
            names = effort_names()
            for effort in REASONING_EFFORTS:
                self.effort.addItem(names[effort], effort)
            self.effort.currentIndexChanged.connect(self.changed)
            self._row(form, self.tr("Reasoning effort"), self.effort)
        self.temperature = _double("temperature", 0.05, self.tr("0 always picks the most likely token"))
        self.top_p = _double("top_p", 0.05, self.tr("Sample only from the smallest set of tokens whose probability "
                                                    "adds up to this"))
        self.top_k = _integer("top_k", 1, self.tr("Sample only from this many most likely tokens"))
        self.top_k.setSpecialValueText(self.tr("off"))
        self.min_p = _double("min_p", 0.01, self.tr("Drop tokens less likely than this fraction of the best one"))
        self.repetition_penalty = _double("repetition_penalty", 0.05, self.tr("Discourage repeating tokens (1 = off)"))
        self.max_tokens = _integer("max_new_tokens", 256, self.tr("The longest reply, in tokens"))
        self.fixed_seed = QCheckBox(self.tr("Fixed seed"))
        self.fixed_seed.setToolTip(self.tr("The same seed and settings give the same reply"))
        self.seed = _integer("seed", 1, self.tr("The random seed"))
        self.seed.setEnabled(False)
        self.fixed_seed.toggled.connect(self.seed.setEnabled)
        self._row(form, self.tr("Temperature"), self.temperature)
        self._row(form, self.tr("Top-p"), self.top_p)
        self._row(form, self.tr("Top-k"), self.top_k)
        self._row(form, self.tr("Min-p"), self.min_p)
        self._row(form, self.tr("Repetition penalty"), self.repetition_penalty)
        self._row(form, self.tr("Max reply tokens"), self.max_tokens)
        form.addRow(self.fixed_seed, self.seed)
        self.seed.setAccessibleName(self.tr("Seed"))
        for widget in (self.temperature, self.top_p, self.min_p, self.repetition_penalty):
            widget.valueChanged.connect(self.changed)
        for widget in (self.top_k, self.max_tokens, self.seed):
            widget.valueChanged.connect(self.changed)
        self.fixed_seed.toggled.connect(self.changed)
        layout.addLayout(form)
        self.set_values(self._settings)

    @staticmethod
    def _row(form: QFormLayout, label: str, field: QWidget) -> None:
        field.setAccessibleName(label.replace("&", ""))
        field.setMinimumWidth(120)
        form.addRow(label, field)

    def settings(self, reasoning_effort: str | None = None) -> ChatSettings:
        """What the form shows; the reasoning effort from the form, else `reasoning_effort`, else unchanged."""
        sampling = replace(
            self._settings.sampling, temperature=self.temperature.value(), top_p=self.top_p.value(),
            top_k=self.top_k.value(), min_p=self.min_p.value(), repetition_penalty=self.repetition_penalty.value(),
            seed=self.seed.value() if self.fixed_seed.isChecked() else None)
        effort = self.effort.currentData() if self.effort is not None else reasoning_effort
        return replace(self._settings, system_prompt=self.system_prompt.toPlainText(),
                       reasoning_effort=effort or self._settings.reasoning_effort, sampling=sampling,
                       max_new_tokens=self.max_tokens.value())

    def set_values(self, settings: ChatSettings) -> None:
        self._settings = settings
        sampling = settings.sampling
        widgets = [self.system_prompt, self.temperature, self.top_p, self.top_k, self.min_p,
                   self.repetition_penalty, self.max_tokens, self.seed, self.fixed_seed]
        if self.effort is not None:
            widgets.append(self.effort)
        for w in widgets:
            w.blockSignals(True)
        self.system_prompt.setPlainText(settings.system_prompt)
        if self.effort is not None:
            self.effort.setCurrentIndex(REASONING_EFFORTS.index(settings.reasoning_effort))
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


class QtChatSettings(QScrollArea):
    """The side panel: the open chat's settings, and a button that makes them the default for new chats."""

    changed = Signal()
    makeDefaultRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the fields inside take focus, not the scrolling frame
        inner = QWidget()
        inner.setObjectName("sidebar")
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(SPACE["lg"], SPACE["lg"], SPACE["lg"], SPACE["lg"])
        layout.setSpacing(SPACE["md"])
        title = QLabel(self.tr("This chat"))
        title.setObjectName("sidebarBrand")
        layout.addWidget(title)
        self.form = ChatSettingsForm(with_effort=False)
        self.form.changed.connect(self.changed)
        layout.addWidget(self.form)
        self.default_button = QPushButton(self.tr("Use for new chats"))
        self.default_button.setToolTip(self.tr("Make these settings the defaults of new chats (Preferences › "
                                               "New chats)"))
        self.default_button.clicked.connect(self.makeDefaultRequested)
        layout.addWidget(self.default_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.setWidget(inner)
        self.setMinimumWidth(260)
        # the panel's fields, named as before for callers (tests, the window)
        for name in ("system_prompt", "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_tokens",
                     "fixed_seed", "seed"):
            setattr(self, name, getattr(self.form, name))

    def settings(self, reasoning_effort: str) -> ChatSettings:
        """What the panel shows, with the composer's reasoning effort."""
        return self.form.settings(reasoning_effort)

    def set_values(self, settings: ChatSettings) -> None:
        self.form.set_values(settings)


def _double(name: str, step: float, tip: str) -> QDoubleSpinBox:
    bound = SAMPLING_BOUNDS[name]
    box = QDoubleSpinBox()
    box.setDecimals(_DECIMALS)
    box.setRange(bound.low + (10 ** -_DECIMALS if bound.low_open else 0.0), bound.high)
    box.setSingleStep(step)
    box.setToolTip(tip)
    return box


def _integer(name: str, step: int, tip: str) -> QSpinBox:
    bound = SAMPLING_BOUNDS[name]
    box = QSpinBox()
    box.setRange(int(bound.low), int(bound.high))
    box.setSingleStep(step)
    box.setToolTip(tip)
    return box
