"""Proxy and access token: a real HTTP proxy on loopback (pproxy), the token only in the (test) keyring."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.library.conftest import TINY_REPO, Enclave
from tests.support.hub_server import HubServer


def _free_port() -> int:
    from app import netguard

    with netguard.network_allowed(["127.0.0.1"], reason="finding a free loopback port"), socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def proxy(tmp_path: Path):
    """pproxy (a PyPI HTTP proxy) on 127.0.0.1, logging each connection it relays."""
    pytest.importorskip("pproxy")
    port = _free_port()
    log = open(tmp_path / "proxy.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "pproxy", "-l", f"http://127.0.0.1:{port}", "-v"],
                               stdout=log, stderr=subprocess.STDOUT)
    from app import netguard

    deadline = time.monotonic() + 30
    while True:  # wait until it accepts connections (bounded)
        try:
            with netguard.network_allowed(["127.0.0.1"], reason="waiting for the test proxy"):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("pproxy did not start") from None
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", tmp_path / "proxy.log"
    process.terminate()
    process.wait(10)
    log.close()


def test_https_proxy_from_the_environment_carries_the_download(hub: HubServer, enclave: Enclave, proxy) -> None:
    url, log = proxy
    enclave.env["HF_ENDPOINT"] = hub.url
    enclave.env["HTTPS_PROXY"] = url
    result = enclave.run("models", "download", TINY_REPO, "--target", "none", "--json")
    assert result.returncode == 0, result.stderr
    ports = {hub.url.rsplit(":", 1)[1], hub.cdn_url.rsplit(":", 1)[1]}
    relayed = [line for line in log.read_text().splitlines() if any(f"-> 127.0.0.1:{p}" in line for p in ports)]
    assert relayed, log.read_text()  # the client's (kept-alive) connections to the Hub went through the proxy
    peers = {peer for peer in hub.peers}
    assert len(peers) == len(relayed)  # and the Hub saw no connection that did not come from the proxy


def test_the_settings_proxy_is_used_and_a_dead_one_is_named(hub: HubServer, enclave: Enclave, proxy) -> None:
    url, log = proxy
    settings = enclave.home / "config" / "Enclave" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"hub_endpoint": hub.url, "hub_proxy": url}))
    result = enclave.run("models", "download", TINY_REPO, "--target", "none", "--json")
    assert result.returncode == 0, result.stderr
    assert hub.url.rsplit(":", 1)[1] in log.read_text()
    settings.write_text(json.dumps({"hub_endpoint": hub.url, "hub_proxy": "http://127.0.0.1:9"}))
    enclave.run("models", "remove", json.loads(result.stdout)["name"])
    failed = enclave.run("models", "download", TINY_REPO, "--target", "none")
    assert failed.returncode == 1
    assert "http://127.0.0.1:9" in failed.stderr and "Traceback" not in failed.stderr, failed.stderr


def test_the_access_token_lives_in_the_keyring_and_reaches_only_the_hub(hub: HubServer, enclave: Enclave) -> None:
    hub.require_token = "hf_testtoken123"
    enclave.env["HF_ENDPOINT"] = hub.url
    refused = enclave.run("models", "download", TINY_REPO, "--target", "none")
    assert refused.returncode == 1 and "access token" in refused.stderr
    saved = enclave.run("models", "login", input="hf_testtoken123\n")
    assert saved.returncode == 0, saved.stderr
    result = enclave.run("models", "download", TINY_REPO, "--target", "none", "--json")
    assert result.returncode == 0, result.stderr
    keyring_file = enclave.home / "test-keyring.json"
    for path in enclave.home.rglob("*"):  # only the keyring holds it: no settings, no record, no cache file
        if path.is_file() and path != keyring_file and path.stat().st_size < 50_000_000:
            assert b"hf_testtoken123" not in path.read_bytes(), path
    cdn = [h for m, p, h in hub.requests if p.startswith("/cdn/")]
    assert cdn and all("authorization" not in h for h in cdn)  # never sent to the (CDN) redirect target
    assert enclave.run("models", "logout").returncode == 0
    assert "hf_testtoken123" not in keyring_file.read_text()
