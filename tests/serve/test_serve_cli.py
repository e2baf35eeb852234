"""`enclave serve` as its own process: where it listens, the token (keyring and --token-file), the request log,
Ctrl+C, and the one-sentence refusals (port taken, policy)."""

from __future__ import annotations

import json
import signal
import socket
import stat
import subprocess
import sys

import openai
import pytest

from app.netguard import network_allowed
from tests.support.file_keyring import child_env
from tests.support.serve_process import ServeProcess

pytestmark = pytest.mark.timeout(300)


def _keyring_token(keyring_file) -> str | None:
    return json.loads(keyring_file.read_text()).get("Enclave/api-server-token") if keyring_file.exists() else None


def test_serve_keeps_its_token_in_the_keyring_writes_the_token_file_and_logs_requests(tiny_cpu_package,
                                                                                    tmp_path) -> None:
    keyring_file, token_file = tmp_path / "keyring.json", tmp_path / "secrets" / "token"
    env = child_env(keyring_file)
    server = ServeProcess([str(tiny_cpu_package), "--port", "0", "--token-file", str(token_file)], env)
    try:
        url = server.started()
        token = token_file.read_text().strip()
        assert token == _keyring_token(keyring_file) and token.startswith("enclave-")
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert token not in "\n".join(server.lines)  # written to the file, not printed
        assert any("kept in the OS keyring" in line for line in server.lines)
        with network_allowed(["127.0.0.1"], reason="Test client of enclave serve"):
            client = openai.OpenAI(base_url=url, api_key=token, max_retries=0)
            reply = client.chat.completions.create(model=client.models.list().data[0].id, max_tokens=5,
                                                   messages=[{"role": "user", "content": "hi"}], temperature=0)
        assert reply.usage.completion_tokens == 5
        line = server.wait_for(r"^request 1: ")
        assert "5 new, length" in line.string
    finally:
        code = server.stop(signal.SIGINT)  # Ctrl+C in the terminal
    assert (code, server.lines[-1]) == (0, "Stopped."), server.lines

    again = ServeProcess([str(tiny_cpu_package), "--port", "0"], env)  # the same token, from the keyring
    try:
        again.started()
        assert any(line.endswith(f"): {token}") for line in again.lines)
    finally:
        assert again.stop() == 0 and again.lines[-1] == "Stopped."  # SIGTERM, as a service manager stops it
    renewed = ServeProcess([str(tiny_cpu_package), "--port", "0", "--new-token", "--token-file", str(token_file)], env)
    try:
        renewed.started()
    finally:
        renewed.stop()
    assert token_file.read_text().strip() == _keyring_token(keyring_file) != token


def test_without_a_keyring_the_token_lasts_one_run(tiny_cpu_package, tmp_path) -> None:
    env = child_env(tmp_path / "unused.json", PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    server = ServeProcess([str(tiny_cpu_package), "--port", "0"], env)
    try:
        server.started()
        assert any("for this run only (no OS keyring" in line for line in server.lines)
    finally:
        server.stop()


def test_a_port_in_use_and_a_policy_that_forbids_serving_are_one_sentence(tiny_cpu_package, tmp_path) -> None:
    env = child_env(tmp_path / "keyring.json")
    with network_allowed(["127.0.0.1"], reason="Test: a program already on the port"), socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        taken = subprocess.run([sys.executable, "-m", "app.cli.main", "serve", str(tiny_cpu_package), "--port",
                                str(port)], env=env, capture_output=True, text=True, timeout=120)
    assert taken.returncode == 1
    assert taken.stderr.strip().splitlines()[-1] == (f"enclave serve: Port {port} on 127.0.0.1 is already in use by "
                                                     "another program; choose another port.")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"ServerAllowed": False}))
    fresh_keyring = tmp_path / "fresh-keyring.json"
    refused = subprocess.run([sys.executable, "-m", "app.cli.main", "serve", str(tiny_cpu_package)],
                             env=child_env(fresh_keyring, ENCLAVE_POLICY_FILE=str(policy)), capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 1
    assert "does not allow the local API server (ServerAllowed is off)" in refused.stderr
    assert not fresh_keyring.exists()  # refused before any token was made
