"""The remote engine against a second `enclave serve` process: real HTTP over real TLS, its certificate signed by
a test CA the client pins. Each answer is compared with the same package driven directly through the engine,
and each failure a user can meet (server down, untrusted certificate, wrong token, unknown model, a server that
never answers, a conversation too long) must be one sentence."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from app import netguard
from app.documents.sandbox import extract_document
from app.engine.chat_request import ChatRequest, ChatSettings, Turn
from app.engine.events import Channel, FinishReason
from app.engine.sampling import SamplingParams
from app.netguard import NetworkBlockedError, network_allowed
from app.policy.policy import RawPolicy, build_policy
from app.remote.assistant import RemoteAssistant
from app.remote.endpoint import RemoteEndpoint, RemoteError
from app.tokenizer.o200k_harmony import load_tokenizer
from tests.support.file_keyring import child_env
from tests.support.serve_process import ServeProcess
from tests.support.tls import make_pki

pytestmark = pytest.mark.timeout(300)

GREEDY = ChatSettings(sampling=SamplingParams(temperature=0.0), max_new_tokens=40)
FACT = "The backup generator at depot 7 is serviced every March by Kowalski Electric."


class Remote:
    def __init__(self, server: ServeProcess, pki, token: str, tokenizer_folder: Path) -> None:
        self.server, self.pki, self.token = server, pki, token
        self.url = server.url
        self.policy = build_policy(RawPolicy(values={"AllowedRemoteEngines": [self.url]}, source="test"))
        self.tokenizer = load_tokenizer(tokenizer_folder)
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])

    def endpoint(self, **kwargs) -> RemoteEndpoint:
        return RemoteEndpoint.parse(kwargs.pop("url", self.url), ca_bundle=kwargs.pop("ca_bundle", self.pki.ca_bundle),
                                    **kwargs)

    def connect(self, token: str | None = None, policy=None, **kwargs) -> RemoteAssistant:
        return RemoteAssistant.connect(self.endpoint(**kwargs), self.token if token is None else token,
                                       policy=policy or self.policy, tokenizer=self.tokenizer)


@pytest.fixture(scope="module")
def remote(tiny_cpu_package: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("remote")
    pki = make_pki(folder / "pki")
    token_file = folder / "token"
    server = ServeProcess([str(tiny_cpu_package), "--port", "0", "--token-file", str(token_file), "--tls-cert",
                           str(pki.certificate), "--tls-key", str(pki.key)], child_env(folder / "keyring.json"))
    try:
        assert server.started().startswith("https://127.0.0.1:")
        yield Remote(server, pki, token_file.read_text().strip(), tiny_cpu_package)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def local(tiny_cpu_package: Path):
    from app.engine.assistant import Assistant
    from app.engine.session import load_model

    return Assistant(load_model(tiny_cpu_package, threads=2))


def _run(assistant, request: ChatRequest):
    events = list(assistant.reply(request))
    answer = "".join(e.text for e in events if e.channel is not Channel.ANALYSIS)
    return answer, events


def test_a_remote_reply_over_pinned_tls_is_the_model_s_own_reply(remote, local) -> None:
    assistant = remote.connect()
    try:
        assert assistant.info.context_length == local.info.context_length  # reported by the server
        assert assistant.info.provider == "Remote engine 127.0.0.1"
        assert "sent there and nowhere else" in assistant.info.provider_reason
        request = ChatRequest(history=(Turn("user", "Earlier question"), Turn("assistant", "Earlier answer")),
                              user_text="And now?", settings=replace(GREEDY, system_prompt="Be brief."))
        answer, events = _run(assistant, request)
        expected, local_events = _run(local, request)
        assert answer == expected
        assert events[-1].finish_reason is local_events[-1].finish_reason
        assert events[-1].prompt_tokens == local_events[-1].prompt_tokens  # the same prompt reached the model
        assert events[-1].new_tokens == local_events[-1].new_tokens
    finally:
        assistant.close()
    assert netguard.state().scopes == ()  # the host is reachable only while a request runs


def test_documents_are_grounded_here_and_only_their_passages_go_to_the_endpoint(remote, local, tmp_path) -> None:
    notes = tmp_path / "depot-facts.txt"
    notes.write_text("Maintenance notes.\n\n" + FACT + "\n", encoding="utf-8")
    request = ChatRequest(history=(), user_text="Who services the generator?", settings=GREEDY,
                          documents=(extract_document(notes),))
    assistant = remote.connect()
    try:
        _, events = _run(assistant, request)
    finally:
        assistant.close()
    _, local_events = _run(local, request)
    assert events[0].citations == local_events[0].citations  # chosen here, the same way as for a local model
    assert events[0].citations[0].label == "depot-facts.txt lines 1-3"
    assert events[-1].prompt_tokens == local_events[-1].prompt_tokens  # counted by the server: the passage got there
    assert events[-1].prompt_tokens > _run(local, replace(request, documents=()))[1][-1].prompt_tokens + 20


def test_during_a_remote_reply_only_that_host_is_reachable(remote) -> None:
    assistant = remote.connect()
    refusals: list[str] = []
    try:
        request = ChatRequest(history=(), user_text="hi", settings=replace(GREEDY, max_new_tokens=100))
        for event in assistant.reply(request):
            if event.text and not refusals:
                assert netguard.state().scopes == ("Remote engine 127.0.0.1",)
                for attempt in (lambda: socket.create_connection(("127.0.0.2", remote.port), timeout=2),
                                lambda: socket.getaddrinfo("example.com", 443)):
                    with pytest.raises(NetworkBlockedError) as caught:
                        attempt()
                    refusals.append(str(caught.value))
    finally:
        assistant.close()
    assert len(refusals) == 2 and all("only 127.0.0.1 may be reached now" in r for r in refusals)


def test_stop_in_the_window_disconnects_and_the_server_stops_generating(remote) -> None:
    assistant = remote.connect()
    request = ChatRequest(history=(), user_text="hi", settings=replace(GREEDY, max_new_tokens=400))
    try:
        events = []
        for event in assistant.reply(request):
            events.append(event)
            if event.text:
                request.cancel.set()  # what Stop does
    finally:
        assistant.close()
    assert events[-1].finish_reason is FinishReason.CANCELLED and events[-1].error is None
    line = remote.server.wait_for(r"cancelled \(the client disconnected\)")
    new = int(line.string.split(" new, ")[0].rsplit(" ", 1)[1])
    assert new < 400  # the server's engine stopped: it did not write the whole budget


def test_errors_a_user_meets_are_one_sentence(remote, tmp_path) -> None:
    with pytest.raises(RemoteError, match=r"^127\.0\.0\.1 refused the token \(HTTP 401\)"):
        remote.connect(token="enclave-not-the-token")
    with pytest.raises(RemoteError, match=r"does not serve the model 'gpt-oss-120b' \(it serves: gpt-oss-tiny\)"):
        remote.connect(model="gpt-oss-120b")
    with pytest.raises(RemoteError, match=r"^The TLS certificate of 127\.0\.0\.1 is not trusted .*; choose the CA"):
        remote.connect(ca_bundle=None)  # the system's CAs do not know the test CA
    other = make_pki(tmp_path / "other", name="Another CA")
    with pytest.raises(RemoteError, match=r"is not trusted .*; check the CA bundle chosen for it"):
        remote.connect(ca_bundle=other.ca_bundle)

    with network_allowed(["127.0.0.1"], reason="Test: find a free port"), socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    down = f"https://127.0.0.1:{free}/v1"
    policy = build_policy(RawPolicy(values={"AllowedRemoteEngines": [remote.url, down]}, source="test"))
    with pytest.raises(RemoteError, match=rf"^Nothing answers at {down} \(connection refused\); is the server"):
        remote.connect(url=down, policy=policy)

    with pytest.raises(RemoteError, match="does not list https://127.0.0.1:1/v1"):
        remote.connect(url="https://127.0.0.1:1/v1")
    with pytest.raises(RemoteError, match="lists no remote engines"):
        remote.connect(policy=build_policy(RawPolicy(source="test")))
    with pytest.raises(RemoteError, match="must start with https://"):
        RemoteEndpoint.parse(remote.url.replace("https", "http"))


def test_a_server_that_never_answers_times_out(remote, tmp_path) -> None:
    """A TLS server (the same test certificate) that reads the request and never replies."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(remote.pki.certificate, remote.pki.key)
    with network_allowed(["127.0.0.1"], reason="Test: a server that hangs"):
        listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    done = threading.Event()

    def hang() -> None:
        with listener:
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(65536)
                done.wait(30)

    thread = threading.Thread(target=hang, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{port}/v1"
    policy = build_policy(RawPolicy(values={"AllowedRemoteEngines": [url]}, source="test"))
    try:
        with pytest.raises(RemoteError, match=r"^127\.0\.0\.1 did not answer within 1 s"):
            remote.connect(url=url, policy=policy, timeout_s=1.0)
    finally:
        done.set()
        thread.join(10)


def test_a_conversation_longer_than_the_remote_context_says_so(remote) -> None:
    assistant = remote.connect()
    try:
        request = ChatRequest(history=(), user_text="word " * (assistant.info.context_length + 50),
                              settings=GREEDY)
        _, events = _run(assistant, request)
    finally:
        assistant.close()
    assert events[-1].finish_reason is FinishReason.ERROR
    assert events[-1].error.startswith("The conversation is too long for the remote model's context (This model's "
                                       f"context holds {assistant.info.context_length} tokens")


def test_enclave_chat_remote_keeps_the_token_in_the_keyring(remote, tmp_path) -> None:
    token_file, keyring_file = tmp_path / "token", tmp_path / "keyring.json"
    token_file.write_text(remote.token + "\n")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"AllowedRemoteEngines": [remote.url + "/"]}))
    env = child_env(keyring_file, ENCLAVE_POLICY_FILE=str(policy))
    base = [sys.executable, "-m", "app.cli.main", "chat", "--remote", remote.url, "--ca-bundle",
            str(remote.pki.ca_bundle), "--prompt", "hi", "--max-tokens", "5", "--json"]
    first = subprocess.run([*base, "--token-file", str(token_file)], env=env, capture_output=True, text=True,
                           timeout=120)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout.strip().splitlines()[-1])
    assert (result["provider"], result["new_tokens"], result["stop_reason"]) == ("Remote engine 127.0.0.1", 5,
                                                                                "length")
    assert json.loads(keyring_file.read_text())[f"Enclave/remote-engine-token/{remote.url}"] == remote.token
    again = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)  # the keyring's token
    assert again.returncode == 0, again.stderr
    wrong = subprocess.run([sys.executable, "-m", "app.cli.main", "chat", "--remote", remote.url, "--prompt", "hi"],
                           env=env, capture_output=True, text=True, timeout=120)  # no CA bundle: the certificate is not trusted
    assert wrong.returncode == 1
    assert wrong.stderr.strip().splitlines()[-1].startswith("enclave chat: The TLS certificate of 127.0.0.1 is not "
                                                            "trusted")


def test_an_https_url_to_a_plain_http_server_is_a_tls_failure(remote, served) -> None:
    url = served.url.replace("http://", "https://")
    policy = build_policy(RawPolicy(values={"AllowedRemoteEngines": [url]}, source="test"))
    with pytest.raises(RemoteError, match=r"^The TLS connection to 127\.0\.0\.1 failed \(.*\); is it an https "
                                          r"server\?$"):
        remote.connect(url=url, policy=policy)
