"""The main window's part of the other engines: a remote engine to chat with (File › Connect to a remote engine) and
the local OpenAI-compatible API server (Server menu, its dialog, the status bar).

A mixin of MainWindow, kept apart so that the window's file stays about the chat. It uses the window's `_models`,
`_server`, `settings`, `status`, `server_action`, `_show_busy`, `_report_open_failure` and `show_notice`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMainWindow

from app.ui.server_controller import ServerState
from app.ui.widgets.qt_remote_dialog import QtRemoteDialog, RemoteChoice
from app.ui.widgets.qt_server_dialog import QtServerDialog


class WindowServer(QMainWindow):
    """Remote engine and local API server of the main window (mixed into MainWindow)."""

    server_dialog: QtServerDialog | None = None

    def _build_server_menu(self) -> None:
        if self._server is None:
            return
        server_menu = self.menuBar().addMenu(self.tr("&Server"))
        self.server_action = self._action(self.tr("&Serve the API on 127.0.0.1"), self.switch_server, checkable=True)
        self.server_action.setEnabled(self._server.allowed())
        if not self._server.allowed():
            self.server_action.setToolTip(self.tr("Managed by your organization"))
        server_menu.addAction(self.server_action)
        server_menu.addAction(self._action(self.tr("API &address and token…"), self.show_server_dialog))

    # ================================================================== remote engine
    def choose_remote_engine(self) -> None:
        from app.policy import current_policy

        allowed = sorted(current_policy().allowed_remote_engines or ())
        choice = self._ask_remote(allowed, self.settings.remote_engine)
        if choice is not None:
            self.connect_remote(choice)

    def ask_remote_with(self, ask: Callable[[list[str], dict[str, str]], RemoteChoice | None]) -> None:
        """Asks for the remote engine with `ask(allowed, last)` instead of a modal dialog (headless runs)."""
        self._ask_remote = ask

    def _remote_dialog(self, allowed: list[str], last: dict[str, str]) -> RemoteChoice | None:
        dialog = QtRemoteDialog(allowed, last, self)
        try:
            return dialog.choice() if dialog.exec() == QtRemoteDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    def connect_remote(self, choice: RemoteChoice) -> bool:
        """Checks the choice (https, the policy, the CA bundle), keeps its token in the keyring, and opens it on the
        engine thread; a problem is one sentence in the first-run screen and the status bar."""
        from app.policy import current_policy
        from app.remote.assistant import RemoteAssistant
        from app.remote.endpoint import RemoteEndpoint, RemoteError
        from app.storage.secrets import SecretStoreError

        try:
            endpoint = RemoteEndpoint.parse(choice.url, model=choice.model, ca_bundle=choice.ca_bundle or None)
            endpoint.check_allowed(current_policy())
            token = choice.token or endpoint.stored_token()
            if choice.token and not endpoint.store_token(choice.token):
                self.status.showMessage(self.tr("No OS keyring is available: the token is kept until Enclave "
                                                "closes."), 10000)
        except (RemoteError, SecretStoreError) as exc:
            self._report_open_failure(str(exc))  # nothing was tried: the model in use stays
            return False
        self.settings.remote_engine = {"url": endpoint.url, "model": endpoint.model or "",
                                       "ca_bundle": str(endpoint.ca_bundle or "")}
        self._show_busy(None, self.tr("Connecting to {host}…").format(host=endpoint.host), cancellable=False)
        self._loading_path = ""
        self._models.open_backend(lambda progress: RemoteAssistant.connect(endpoint, token, progress=progress))
        return True

    def remote_notice(self, provider: str) -> str:
        return self.tr("{engine}: this conversation and the passages of attached documents are sent to that server "
                       "and nowhere else.").format(engine=provider)

    # ================================================================== local API server
    def switch_server(self, on: bool) -> None:
        if self._server is None:
            return
        if on:
            self._server.start(self.settings.server_port)
        else:
            self._server.stop()

    def show_server_dialog(self) -> QtServerDialog | None:
        """The switch, address and token, in a window that stays open beside the chat."""
        server = self._server
        if server is None:
            return None
        if self.server_dialog is None:
            dialog = QtServerDialog(self)
            dialog.set_allowed(server.allowed())
            dialog.switched.connect(self._on_server_switched)
            dialog.renewRequested.connect(self._on_renew_token)
            self.server_dialog = dialog
        if server.allowed():
            self._show_token()
        self.server_dialog.show_state(server.state(), self.settings.server_port)
        self.server_dialog.show()
        return self.server_dialog

    def _on_server_switched(self, on: bool, port: int) -> None:
        if on and port != self.settings.server_port:
            self.settings.server_port = port
            self._save_settings()
        self.server_action.setChecked(on)  # the menu and the dialog are one switch
        if on != self._server.state().running:  # type: ignore[union-attr]
            self.switch_server(on)

    def _on_renew_token(self) -> None:
        if self._server is not None:
            self._server.renew_token()
            self._show_token()

    def _show_token(self) -> None:
        from app.storage.secrets import SecretStoreError

        try:
            token = self._server.token()  # type: ignore[union-attr]
        except SecretStoreError as exc:
            self.show_notice(str(exc))
            return
        if self.server_dialog is not None:
            self.server_dialog.set_token(token.value, token.describe())

    def _on_server_state(self, state: ServerState) -> None:
        self.server_action.blockSignals(True)
        self.server_action.setChecked(state.running)
        self.server_action.blockSignals(False)
        host = state.url.split("//", 1)[-1].removesuffix("/v1")
        self.status.show_server(self.tr("API on {host}").format(host=host) if state.running else "",
                                self.tr("OpenAI-compatible API at {url}; {count} requests answered").format(
                                    url=state.url, count=state.requests) if state.running else "")
        if state.error:
            self.show_notice(state.error)
        if self.server_dialog is not None:
            self.server_dialog.show_state(state, self.settings.server_port)
            if state.running:
                self._show_token()
