"""Fixtures for the library tests: a loopback Hub serving the tiny checkpoint, and an isolated `enclave` to run.

Every test gets its own HOME / XDG folders (so the library, settings and verified records live in tmp_path) and
an environment like the app's at startup: offline (HF_HUB_OFFLINE=1), telemetry off, no proxy variables.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.hub_server import HubRepo, HubServer, repo_from_folder

TINY_REPO = "test-org/gpt-oss-tiny"
TINY_COMMIT = "1" * 40
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def hub_files(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny checkpoint plus what the official repos also hold and Enclave must never fetch."""
    extra_dir = tmp_path_factory.mktemp("hub_extra")
    (extra_dir / "original.safetensors").write_bytes(os.urandom(300_000))
    (extra_dir / "metal.bin").write_bytes(os.urandom(200_000))
    (extra_dir / "README.md").write_text("# tiny\n")
    return {"original/model.safetensors": extra_dir / "original.safetensors",
            "metal/model.bin": extra_dir / "metal.bin", "README.md": extra_dir / "README.md"}


@pytest.fixture
def tiny_repo(tiny_checkpoint: Path, hub_files: dict[str, Path]) -> HubRepo:
    return repo_from_folder(TINY_REPO, tiny_checkpoint, TINY_COMMIT, hub_files)


@pytest.fixture
def hub(tiny_repo: HubRepo):
    with HubServer([tiny_repo]) as server:
        yield server


@dataclass
class Enclave:
    """Runs the real `enclave` command in a subprocess with an isolated home."""

    home: Path
    env: dict[str, str]

    @property
    def library(self) -> Path:
        return self.home / "data" / "Enclave" / "library"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "app.cli.main", *args]

    def run(self, *args: str, timeout: float = 300, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), env=self.env, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, input=input)

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), env=self.env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


def isolated_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.upper() not in {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "HF_ENDPOINT", "HF_TOKEN",
                                "ENCLAVE_LIBRARY", "HF_HOME"}}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"), HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
               PYTHONPATH=str(ROOT), PYTHON_KEYRING_BACKEND="tests.support.file_keyring.FileKeyring",
               ENCLAVE_TEST_KEYRING=str(home / "test-keyring.json"))
    return env


@pytest.fixture
def enclave(tmp_path: Path) -> Enclave:
    home = tmp_path / "home"
    home.mkdir()
    return Enclave(home, isolated_env(home))


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The same isolation for in-process tests (platformdirs reads these variables on every call)."""
    home = tmp_path / "home"
    home.mkdir()
    for key, value in isolated_env(home).items():
        monkeypatch.setenv(key, value)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "HF_ENDPOINT", "http_proxy", "https_proxy",
                "all_proxy", "no_proxy"):
        monkeypatch.delenv(key, raising=False)
    return home


def copy_tree(source: Path, destination: Path) -> Path:
    return Path(shutil.copytree(source, destination))
