"""Small secrets kept in the OS keyring: the local API server's token and the tokens of remote engines.

The history's data key has its own, stricter rules (app.storage.keys); these are access tokens the user can
always make again, so where no keyring is usable nothing is written anywhere: the caller keeps the secret
for this run only and says so (`stored` is False). A keyring that exists but fails (locked, its D-Bus service
gone) is reported as one sentence instead of a traceback.
"""

from __future__ import annotations

import keyring
import keyring.errors

from app.storage.errors import StorageError
from app.storage.keys import KEYRING_SERVICE, keyring_usable


class SecretStoreError(StorageError):
    """The OS keyring exists but could not read or write a secret; the message is one sentence."""


def keyring_available() -> bool:
    return keyring_usable()


def read_secret(name: str) -> str | None:
    """The secret stored under `name`, or None (no keyring, or no such entry)."""
    if not keyring_usable():
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, name)
    except (keyring.errors.KeyringError, OSError) as exc:
        raise SecretStoreError(f"The OS keyring could not return {KEYRING_SERVICE}/{name} ({exc}).") from exc


def store_secret(name: str, value: str) -> bool:
    """Keeps `value` under `name`; False when no keyring is usable (nothing was written)."""
    if not keyring_usable():
        return False
    try:
        keyring.set_password(KEYRING_SERVICE, name, value)
    except (keyring.errors.KeyringError, OSError) as exc:
        raise SecretStoreError(f"The OS keyring could not keep {KEYRING_SERVICE}/{name} ({exc}).") from exc
    return True


def delete_secret(name: str) -> None:
    """Forgets `name` (nothing happens when there is no keyring or no such entry)."""
    if not keyring_usable():
        return
    try:
        keyring.delete_password(KEYRING_SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        return
    except (keyring.errors.KeyringError, OSError) as exc:
        raise SecretStoreError(f"The OS keyring could not delete {KEYRING_SERVICE}/{name} ({exc}).") from exc
