"""Status bar: passing notes on the left; on the right, whether the history is locked, whether the package was
verified here, the open chat's last reply speed and time to first token, how full the model's context is, policy
problems and whether the app is offline. The model itself is shown in the bar above the chat (qt_model_bar)."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar, QStatusBar, QToolButton, QWidget

from app.engine.events import ModelInfo
from app.netguard import GuardState
from app.ui.i18n import counts
from app.ui.safe_text import PlainLabel, plain_tooltip


class QtStatus(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.verified_label = PlainLabel("")  # what verifying the package on this computer found
        self.speed_label = PlainLabel("")
        self.ttft_label = PlainLabel("")
        self.server_label = PlainLabel("")  # "API on 127.0.0.1:8484" while the local API server runs
        self.context_bar = QProgressBar()
        self.context_bar.setMaximumWidth(170)
        self.context_bar.setMinimumWidth(120)
        self.context_bar.setTextVisible(True)
        self.context_bar.setValue(0)
        self.context_bar.setAccessibleName(self.tr("Context used"))
        self.history_button = QToolButton()
        self.history_button.setObjectName("historyLocked")
        self.history_button.setText(self.tr("History locked: Unlock…"))
        self.history_button.setAccessibleName(self.tr("Unlock the history"))
        self.history_button.setToolTip(self.tr("This session's conversations are not kept until you unlock the "
                                               "history"))
        self.history_button.setVisible(False)
        self.network_label = PlainLabel("")
        self.network_label.setObjectName("networkState")
        self.policy_label = PlainLabel("")
        self.policy_label.setObjectName("policyProblems")
        self.policy_label.setVisible(False)
        for widget in (self.verified_label, self.speed_label, self.ttft_label, self.server_label):
            widget.setObjectName("statusText")
        for widget in (self.history_button, self.verified_label, self.speed_label, self.ttft_label,
                       self.server_label, self.context_bar, self.policy_label, self.network_label):
            self.addPermanentWidget(widget)
        self._context_length = 0
        self._used: int | None = None
        self._show_context()

    def show_network(self, state: GuardState) -> None:
        """"Offline" while no download or server the user started may use the network."""
        if state.offline:
            self.network_label.setText(self.tr("Offline"))
        elif state.installed:
            self.network_label.setText(self.tr("Online: {scopes}").format(scopes="; ".join(state.scopes)))
        else:
            self.network_label.setText(self.tr("Network guard not installed"))
        if state.offline:
            tip = self.tr("Enclave refuses every network connection; nothing you type or attach leaves this "
                          "computer.")
        elif state.installed:
            tip = self.tr("Only what you started may use the network: {scopes}").format(
                scopes="; ".join(state.scopes))  # reasons: our text
        else:
            tip = self.tr("The network guard is not running in this process.")
        if state.blocked:
            tip += " " + self.tr("Refused so far: {count}.").format(count=state.blocked)
        self.network_label.setToolTip(plain_tooltip(tip))

    def show_policy_problems(self, problems: tuple[str, ...]) -> None:
        """A policy that could not be read as written is applied at its strictest; the user can see why."""
        self.policy_label.setVisible(bool(problems))
        self.policy_label.setText(counts.policy_problems(len(problems)) if problems else "")
        self.policy_label.setToolTip(plain_tooltip("\n".join(problems)))  # they quote the policy file's values

    def show_history_locked(self, locked: bool) -> None:
        self.history_button.setVisible(locked)

    def show_model(self, info: ModelInfo | None) -> None:
        self._context_length = info.context_length if info is not None else 0
        if info is None:
            self.show_speed(None, None)
        self._show_verification(info.verification if info is not None else "")
        self._show_context()

    def _show_verification(self, verification: str) -> None:
        """"passed: <sentence>" / "not verified: <sentence>" from app.reference.verify, as one word and a tooltip."""
        status, _, sentence = verification.partition(": ")
        # app.reference.verify's PASSED and UNVERIFIED (not imported: it pulls in NumPy and the reference model)
        word = self.tr("Verified") if status == "passed" else self.tr("Not verified") if status == "not verified" else ""
        self.verified_label.setText(word)
        self.verified_label.setToolTip(plain_tooltip(sentence))

    def show_server(self, text: str, tooltip: str = "") -> None:
        self.server_label.setText(text)
        self.server_label.setToolTip(tooltip)

    def show_speed(self, tokens_per_second: float | None, ttft_s: float | None) -> None:
        self.speed_label.setText(self.tr("{rate} tok/s").format(rate=f"{tokens_per_second:.1f}")
                                 if tokens_per_second else "")
        self.ttft_label.setText(self.tr("first token {seconds} s").format(seconds=f"{ttft_s:.2f}")
                                if ttft_s is not None else "")

    def show_context_usage(self, used_tokens: int | None) -> None:
        """How many tokens the open conversation holds (None: not known yet, e.g. a chat never answered)."""
        self._used = used_tokens
        self._show_context()

    def _show_context(self) -> None:
        used, length = self._used or 0, self._context_length
        percent = min(100, round(100 * used / length)) if length else 0
        self.context_bar.setVisible(bool(length))  # no model, no context to fill
        self.context_bar.setValue(percent)
        self.context_bar.setFormat(self.tr("Context {percent} %").format(percent=percent))
        if length:
            tip = self.tr("This conversation uses {used} of the model's {length} tokens of context").format(
                used=f"{used:,}", length=f"{length:,}")
        else:
            tip = self.tr("How much of the model's context window this conversation uses")
        self.context_bar.setToolTip(tip)
        self.context_bar.setAccessibleDescription(tip)
