"""A keyring backend that keeps secrets in one JSON file named by ENCLAVE_TEST_KEYRING: a real, complete
KeyringBackend that subprocesses of a test can share (PYTHON_KEYRING_BACKEND=tests.support.file_keyring.FileKeyring),
standing in for the OS keyring, which a test must never touch."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.backend
import keyring.errors


class FileKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def _path(self) -> Path:
        return Path(os.environ["ENCLAVE_TEST_KEYRING"])

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self._path().read_text())
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._path().write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise keyring.errors.PasswordDeleteError("no such secret")
        self._path().write_text(json.dumps(data))


BACKEND = "tests.support.file_keyring.FileKeyring"


def child_env(keyring_file: Path, **extra: str) -> dict[str, str]:
    """The environment for an `enclave` child process with this keyring (and `extra` variables)."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": BACKEND, "ENCLAVE_TEST_KEYRING": str(keyring_file), **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    return env
