"""The organisation's policy (app.policy) over the library: downloads off, its mirror and proxy, its library
folder, and AllowedModels when a model is opened."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.library.conftest import TINY_REPO, Enclave, copy_tree
from tests.support.hub_server import HubServer


def _policy(enclave: Enclave, values: dict) -> None:
    path = enclave.home / "policy.json"
    path.write_text(json.dumps(values))
    enclave.env["ENCLAVE_POLICY_FILE"] = str(path)


def test_downloads_turned_off_by_policy_are_one_sentence_and_no_request(hub: HubServer, enclave: Enclave) -> None:
    _policy(enclave, {"DownloadsAllowed": False})
    enclave.env["HF_ENDPOINT"] = hub.url
    result = enclave.run("models", "download", TINY_REPO, "--target", "none")
    assert result.returncode == 1
    assert "turned off by your organisation's policy" in result.stderr
    assert hub.requests == []


def test_the_policy_mirror_beats_hf_endpoint_and_its_library_folder_is_used(hub: HubServer, enclave: Enclave,
                                                                           tmp_path: Path) -> None:
    managed = tmp_path / "managed-library"
    _policy(enclave, {"HubEndpoint": hub.url, "LibraryFolder": str(managed)})
    enclave.env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # the user's own setting loses to the organisation's
    result = enclave.run("models", "download", TINY_REPO, "--target", "none", "--json")
    assert result.returncode == 0, result.stderr
    assert Path(json.loads(result.stdout)["folder"]).parent == managed / "models"
    assert (managed / "registry.json").is_file() and not enclave.library.exists()


def test_allowed_models_refuses_a_package_not_on_the_list(tiny_cpu_package: Path, tmp_path: Path,
                                                          enclave: Enclave) -> None:
    package = copy_tree(tiny_cpu_package, tmp_path / "pkg")
    _policy(enclave, {"AllowedModels": ["0" * 64]})
    result = enclave.run("chat", str(package), "--prompt", "hi", "--max-tokens", "2")
    assert result.returncode == 1
    assert "policy does not allow opening" in result.stderr and "Traceback" not in result.stderr
    digest = hashlib.sha256((package / "manifest.json").read_bytes()).hexdigest()
    _policy(enclave, {"AllowedModels": [digest]})
    allowed = enclave.run("chat", str(package), "--prompt", "hi", "--max-tokens", "2")
    assert allowed.returncode == 0, allowed.stderr
