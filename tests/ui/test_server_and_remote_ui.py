"""The window's switch for the local API server (the real openai client against the window's own model) and a
remote engine added in the window (a second `enclave serve` process over TLS with a test CA)."""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

import openai
import pytest

from app.netguard import network_allowed
from app.ui import backend
from app.ui.chat_state import MessageState
from app.ui.widgets.qt_remote_dialog import RemoteChoice
from tests.support.file_keyring import child_env
from tests.support.serve_process import ServeProcess
from tests.support.tls import make_pki
from tests.ui.test_app_real_model import greedy

pytestmark = pytest.mark.timeout(600)


def _free_port() -> int:
    with network_allowed(["127.0.0.1"], reason="Test: find a free port"), socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ask_in_thread(qtbot, call):
    """Runs a blocking client call off the UI thread (the window answers it through its event loop)."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["value"] = call()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=120000)
    return result


def test_the_window_serves_its_open_model_to_the_openai_client(qtbot, make_app, tiny_cpu_package) -> None:
    parts = make_app(backend.open_backend)
    window = parts.window
    with qtbot.waitSignal(parts.models.loaded, timeout=120000):
        window.open_model_folder(str(tiny_cpu_package))
    assert parts.server.state().running is False  # off by default
    dialog = window.show_server_dialog()
    port = _free_port()
    dialog.port.setValue(port)
    with qtbot.waitSignal(parts.server.stateChanged, timeout=10000):
        dialog.switch.setChecked(True)
    assert window.server_action.isChecked()
    assert window.status.server_label.text() == f"API on 127.0.0.1:{port}"
    assert dialog.url.text() == f"http://127.0.0.1:{port}/v1"
    token = dialog.token.text()
    assert token.startswith("enclave-") and dialog.token.echoMode() is dialog.token.EchoMode.Password
    assert "for this run only" in dialog.note.text()  # the test session has no OS keyring

    client = openai.OpenAI(base_url=dialog.url.text(), api_key=token, max_retries=0, timeout=60)
    result = _ask_in_thread(qtbot, lambda: client.chat.completions.create(
        model=parts.models.info().name, messages=[{"role": "user", "content": "hi"}], max_tokens=8, temperature=0))
    reply = result["value"]
    assert reply.usage.completion_tokens == 8 and reply.choices[0].message.content
    qtbot.waitUntil(lambda: parts.server.state().requests == 1, timeout=10000)
    assert "1 request answered" in dialog.status.text()

    # The window's own chat shares the engine with the server and still answers.
    window.use_chat_settings(greedy(8))
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=120000) as finished:
        window.composer.set_text("and you, window?")
        window.composer.send_button.click()
    assert finished.args[0].state is MessageState.COMPLETE

    old = token
    dialog.renew.click()
    assert dialog.token.text() != old
    refused = _ask_in_thread(qtbot, lambda: client.models.list())
    assert isinstance(refused["error"], openai.AuthenticationError)

    window.server_action.setChecked(False)  # the menu's switch turns it off too
    assert not dialog.switch.isChecked() and window.status.server_label.text() == ""
    gone = _ask_in_thread(qtbot, lambda: openai.OpenAI(base_url=dialog.url.text(), api_key=old, max_retries=0,
                                                       timeout=5).models.list())
    assert isinstance(gone["error"], openai.APIConnectionError)


def test_a_policy_that_forbids_the_server_locks_the_switch(qtbot, make_app, enterprise_policy) -> None:
    enterprise_policy({"ServerAllowed": False})
    parts = make_app(backend.open_backend)
    assert not parts.window.server_action.isEnabled()
    dialog = parts.window.show_server_dialog()
    assert not dialog.switch.isEnabled() and "Managed by your organization" in dialog.switch.toolTip()
    assert parts.server.start(_free_port()) is False
    assert "does not allow the local API server" in parts.server.state().error


@pytest.fixture
def remote_server(tiny_cpu_package: Path, tmp_path: Path):
    pki = make_pki(tmp_path / "pki")
    token_file = tmp_path / "remote-token"
    server = ServeProcess([str(tiny_cpu_package), "--port", "0", "--token-file", str(token_file), "--tls-cert",
                           str(pki.certificate), "--tls-key", str(pki.key)], child_env(tmp_path / "keyring.json"))
    try:
        url = server.started()
        yield url, pki.ca_bundle, token_file.read_text().strip(), server
    finally:
        server.stop()


def test_a_remote_engine_added_in_the_window_answers_and_says_where_documents_go(
        qtbot, make_app, remote_server, enterprise_policy, tiny_cpu_package, tmp_path, monkeypatch) -> None:
    url, ca_bundle, token, server = remote_server
    enterprise_policy({"AllowedRemoteEngines": [url]})
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))  # the app's cache folder, not the user's
    (cache / "Enclave" / "tokenizer").mkdir(parents=True)  # the same o200k_harmony file the package carries
    shutil.copy(tiny_cpu_package / "tokenizer.json", cache / "Enclave" / "tokenizer" / "tokenizer.json")
    parts = make_app(backend.open_backend)
    window = parts.window
    offered: list[list[str]] = []

    def choose(allowed, last):
        offered.append(allowed)
        return RemoteChoice(url=url, model="", ca_bundle=str(ca_bundle), token=token)

    window.ask_remote_with(choose)
    with qtbot.waitSignal(parts.models.loaded, timeout=60000) as loaded:
        window.choose_remote_engine()
    info = loaded.args[0]
    assert offered == [[url]]
    assert info.provider == "Remote engine 127.0.0.1" and info.provider in window.model_bar.facts.text()
    assert not window.composer.notice.isHidden()
    assert "passages of attached documents are sent to that server and nowhere else" in window.composer.notice.text()
    assert window.settings.remote_engine["url"] == url and window.settings.last_model == ""

    window.use_chat_settings(greedy(12))
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=60000) as finished:
        window.composer.set_text("Hello over there")
        window.composer.send_button.click()
    message = finished.args[0]
    assert message.state is MessageState.COMPLETE and message.text
    assert message.stats.new_tokens == 12
    server.wait_for(r"^request 1: .* 12 new, length")  # the server's engine wrote it

    window.ask_remote_with(lambda allowed, last: RemoteChoice(url=url, model="", ca_bundle=str(ca_bundle),
                                                             token="enclave-wrong"))
    with qtbot.waitSignal(parts.models.failed, timeout=60000) as failed:
        window.choose_remote_engine()
    assert "refused the token (HTTP 401)" in failed.args[0]
    assert window.composer.notice.isHidden()

    assert window.connect_remote(RemoteChoice("https://elsewhere.example/v1", "", "", "x")) is False
    assert "does not list https://elsewhere.example/v1" in window.first_run.status.text()
