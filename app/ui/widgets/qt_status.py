"""Status bar: model, execution provider, speed, time to first token, how full the context is, whether the app
is offline, and whether the history is locked."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar, QStatusBar, QToolButton, QWidget

from app.engine.events import ModelInfo
from app.netguard import GuardState
from app.ui.safe_text import PlainLabel, plain_tooltip


class QtStatus(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_label = PlainLabel("No model")  # the name comes from the package's manifest
        self.provider_label = PlainLabel("")
        self.verified_label = PlainLabel("")  # what verifying the package on this computer found
        self.speed_label = PlainLabel("")
        self.ttft_label = PlainLabel("")
        self.server_label = PlainLabel("")  # "API on 127.0.0.1:8484" while the local API server runs
        self.context_bar = QProgressBar()
        self.context_bar.setMaximumWidth(160)
        self.context_bar.setTextVisible(True)
        self.context_bar.setFormat("Context %p%")
        self.context_bar.setValue(0)
        self.context_bar.setToolTip("How much of the model's context window this conversation uses")
        self.history_button = QToolButton()
        self.history_button.setObjectName("historyLocked")
        self.history_button.setText("History locked: Unlock…")
        self.history_button.setToolTip("This session's conversations are not kept until you unlock the history")
        self.history_button.setVisible(False)
        self.network_label = PlainLabel("")
        self.network_label.setObjectName("networkState")
        self.policy_label = PlainLabel("")
        self.policy_label.setObjectName("policyProblems")
        self.policy_label.setVisible(False)
        for widget in (self.history_button, self.model_label, self.provider_label, self.verified_label,
                       self.speed_label, self.ttft_label, self.server_label):
            self.addPermanentWidget(widget)
        self.addPermanentWidget(self.context_bar)
        self.addPermanentWidget(self.policy_label)
        self.addPermanentWidget(self.network_label)
        self._context_length = 0

    def show_network(self, state: GuardState) -> None:
        """"Offline" while no download or server the user started may use the network."""
        self.network_label.setText(state.describe())
        if state.offline:
            tip = "Enclave refuses every network connection; nothing you type or attach leaves this computer."
        elif state.installed:
            tip = "Only what you started may use the network: " + "; ".join(state.scopes)  # reasons: our text
        else:
            tip = "The network guard is not running in this process."
        if state.blocked:
            tip += f" Refused so far: {state.blocked}."
        self.network_label.setToolTip(plain_tooltip(tip))

    def show_policy_problems(self, problems: tuple[str, ...]) -> None:
        """A policy that could not be read as written is applied at its strictest; the user can see why."""
        self.policy_label.setVisible(bool(problems))
        self.policy_label.setText("Organization policy: " + (f"{len(problems)} problem" +
                                  ("s" if len(problems) != 1 else "")) if problems else "")
        self.policy_label.setToolTip(plain_tooltip("\n".join(problems)))  # they quote the policy file's values

    def show_history_locked(self, locked: bool) -> None:
        self.history_button.setVisible(locked)

    def show_model(self, info: ModelInfo | None) -> None:
        if info is None:
            self.model_label.setText("No model")
            self.provider_label.setText("")
            self.verified_label.setText("")
            self._context_length = 0
            self.show_speed(None, None)
            self.context_bar.setValue(0)
            return
        self.model_label.setText(info.name)
        self.provider_label.setText(info.provider.replace("ExecutionProvider", ""))
        self.provider_label.setToolTip(plain_tooltip(info.provider_reason))
        status, _, sentence = info.verification.partition(": ")
        self.verified_label.setText({"passed": "Verified", "not verified": "Not verified"}.get(status, ""))
        self.verified_label.setToolTip(plain_tooltip(sentence))
        self._context_length = info.context_length

    def show_server(self, text: str, tooltip: str = "") -> None:
        self.server_label.setText(text)
        self.server_label.setToolTip(tooltip)

    def show_speed(self, tokens_per_second: float | None, ttft_s: float | None) -> None:
        self.speed_label.setText(f"{tokens_per_second:.1f} tok/s" if tokens_per_second else "")
        self.ttft_label.setText(f"first token {ttft_s:.2f} s" if ttft_s is not None else "")

    def show_context_usage(self, used_tokens: int) -> None:
        if self._context_length:
            self.context_bar.setValue(min(100, round(100 * used_tokens / self._context_length)))
            self.context_bar.setToolTip(f"{used_tokens:,} of {self._context_length:,} tokens")
