"""Fixtures for the history store: a real in-memory keyring backend, and no test ever touches the OS keyring."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from storage_keyrings import MemoryKeyring

from app.storage import HistoryStore


@pytest.fixture(autouse=True)
def no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Default for every storage test: no keyring backend and no passphrase from the CI environment."""
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    monkeypatch.delenv("ENCLAVE_PASSPHRASE", raising=False)
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(no_os_keyring: None) -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch, no_os_keyring: None) -> str:
    value = "correct horse battery staple"
    monkeypatch.setenv("ENCLAVE_PASSPHRASE", value)
    return value


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite3"


@pytest.fixture
def store(db_path: Path, memory_keyring: MemoryKeyring) -> Iterator[HistoryStore]:
    """A store keyed by the in-memory keyring (no scrypt, so fast)."""
    with HistoryStore.open(db_path) as opened:
        yield opened


@pytest.fixture
def file_hash() -> Callable[[Path], str]:
    """SHA-256 of a file, to prove a refused file was left byte-for-byte unchanged."""
    return lambda path: hashlib.sha256(path.read_bytes()).hexdigest()
