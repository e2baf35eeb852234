"""Where the history's data key comes from: the OS keyring, or a passphrase when there is no keyring.

The database is encrypted under one random 256-bit data key. Normally that key is kept in the OS
keyring (Windows Credential Manager, macOS Keychain, Secret Service), so the user never sees it. Where no
keyring backend exists (minimal Linux installs, CI, some kiosks) the key is instead wrapped with a key
derived from a passphrase by scrypt, and the salt and wrapped key are stored in the database. That mode is
weaker (an offline guessing attack on the passphrase is possible with the file alone), so it carries a
warning the UI must show. There is deliberately no third mode: a plaintext key next to the data would be
encryption in name only.

This module only produces and checks keys; it does not know the database layout. The store persists the
`meta` entries returned by `create_key` and hands them back to `unlock_key`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.errors

from app.storage import crypto
from app.storage.errors import (CorruptDatabaseError, KeyUnavailableError, PassphraseRequiredError,
                                WrongKeyError, WrongPassphraseError)

log = logging.getLogger(__name__)

KEYRING_SERVICE = "Enclave"
KEYRING_NAME_PREFIX = "history-data-key"
PASSPHRASE_ENV = "ENCLAVE_PASSPHRASE"
PASSPHRASE_WARNING = (
    "No OS keyring is available, so your history is protected only by your passphrase: "
    "anyone with a copy of the file can try to guess it, and a forgotten passphrase cannot be recovered."
)
_KEY_CHECK_PLAINTEXT = b"Enclave history key check v1"


class KeyMode(enum.Enum):
    KEYRING = "keyring"
    PASSPHRASE = "passphrase"


@dataclass(frozen=True)
class UnlockedKey:
    """The data key plus how it was obtained; `warning` is set when the UI must warn the user."""

    data_key: bytes = field(repr=False)
    mode: KeyMode
    meta: dict[str, object] = field(default_factory=dict, repr=False)  # entries to persist (new key only)
    warning: str | None = None


def keyring_usable() -> bool:
    """True when keyring resolved to a backend that can actually store secrets."""
    backend = keyring.get_keyring()
    if isinstance(backend, keyring.backends.fail.Keyring):
        return False
    if isinstance(backend, keyring.backends.chainer.ChainerBackend) and not backend.backends:
        return False
    return True


def keyring_entry_name(db_id: str) -> str:
    """Keyring user name for one database; the database id keeps two profiles' keys apart."""
    return f"{KEYRING_NAME_PREFIX}/{db_id}"


def resolve_passphrase(passphrase: str | None) -> str | None:
    """An explicit passphrase wins; headless runs (tests, CI, --smoke) use ENCLAVE_PASSPHRASE."""
    chosen = passphrase if passphrase else os.environ.get(PASSPHRASE_ENV, "")
    return chosen or None


def create_key(db_id: str, path: Path, passphrase: str | None = None, use_keyring: bool = True) -> UnlockedKey:
    """Make the data key for a new database, stored in the keyring or wrapped by a passphrase.

    `use_keyring=False` forces passphrase mode (e.g. a throwaway session history that must not leave an
    entry in the user's keyring); otherwise the keyring wins whenever one is usable.
    """
    data_key = crypto.new_data_key()
    if use_keyring and keyring_usable():
        name = keyring_entry_name(db_id)
        try:
            keyring.set_password(KEYRING_SERVICE, name, base64.b64encode(data_key).decode("ascii"))
        except (keyring.errors.KeyringError, OSError) as exc:  # locked, or its service (D-Bus) unreachable
            log.warning("Could not store the history key in the OS keyring (%s); using a passphrase.", exc)
        else:
            meta: dict[str, object] = {"key_mode": KeyMode.KEYRING.value, "keyring_service": KEYRING_SERVICE,
                                       "keyring_name": name}
            return UnlockedKey(data_key, KeyMode.KEYRING, meta, None)

    chosen = resolve_passphrase(passphrase)
    if chosen is None:
        raise PassphraseRequiredError(path, new_database=True)
    salt = os.urandom(crypto.SALT_BYTES)
    wrapping_key = crypto.derive_wrapping_key(chosen, salt)
    meta = {
        "key_mode": KeyMode.PASSPHRASE.value, "kdf": "scrypt", "kdf_salt": salt,
        "kdf_n": crypto.SCRYPT_N, "kdf_r": crypto.SCRYPT_R, "kdf_p": crypto.SCRYPT_P,
        "wrapped_key": crypto.seal(wrapping_key, data_key, _wrap_ad(db_id)),
    }
    return UnlockedKey(data_key, KeyMode.PASSPHRASE, meta, PASSPHRASE_WARNING)


def unlock_key(meta: Mapping[str, object], db_id: str, path: Path, passphrase: str | None = None) -> UnlockedKey:
    """Recover the data key of an existing database; wrong or missing keys raise a named StorageError."""
    mode = meta.get("key_mode")
    if mode == KeyMode.KEYRING.value:
        return UnlockedKey(_key_from_keyring(db_id, path), KeyMode.KEYRING)
    if mode == KeyMode.PASSPHRASE.value:
        chosen = resolve_passphrase(passphrase)
        if chosen is None:
            raise PassphraseRequiredError(path, new_database=False)
        try:
            salt, wrapped = _bytes(meta["kdf_salt"]), _bytes(meta["wrapped_key"])
            n, r, p = int(meta["kdf_n"]), int(meta["kdf_r"]), int(meta["kdf_p"])  # type: ignore[call-overload]
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptDatabaseError(f"The key settings stored in {path} are incomplete or damaged ({exc}).") from exc
        try:
            data_key = crypto.open_sealed(crypto.derive_wrapping_key(chosen, salt, n, r, p), wrapped, _wrap_ad(db_id))
        except crypto.AuthenticationFailed as exc:
            raise WrongPassphraseError(f"The passphrase does not unlock the history in {path}.") from exc
        return UnlockedKey(data_key, KeyMode.PASSPHRASE, warning=PASSPHRASE_WARNING)
    raise CorruptDatabaseError(f"The history in {path} names an unknown key mode {mode!r}.")


def make_key_check(data_key: bytes, db_id: str) -> bytes:
    """A value sealed under the data key, so a wrong key is detected before any row is read."""
    return crypto.seal(data_key, _KEY_CHECK_PLAINTEXT, _check_ad(db_id))


def verify_key_check(data_key: bytes, db_id: str, key_check: bytes, path: Path) -> None:
    try:
        ok = crypto.open_sealed(data_key, key_check, _check_ad(db_id)) == _KEY_CHECK_PLAINTEXT
    except crypto.AuthenticationFailed:
        ok = False
    if not ok:
        raise WrongKeyError(f"The encryption key does not match the history in {path}.")


def _key_from_keyring(db_id: str, path: Path) -> bytes:
    name = keyring_entry_name(db_id)
    if not keyring_usable():
        raise KeyUnavailableError(
            f"The history in {path} is encrypted with a key kept in the OS keyring, "
            "but no keyring is available in this session.")
    try:
        stored = keyring.get_password(KEYRING_SERVICE, name)
    except (keyring.errors.KeyringError, OSError) as exc:
        raise KeyUnavailableError(f"The OS keyring could not return the key for the history in {path} ({exc}).") from exc
    if stored is None:
        raise KeyUnavailableError(
            f"The OS keyring has no entry {KEYRING_SERVICE}/{name}, so the history in {path} cannot be decrypted.")
    try:
        data_key = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WrongKeyError(f"The keyring entry {KEYRING_SERVICE}/{name} for {path} is not a valid key.") from exc
    if len(data_key) != crypto.KEY_BYTES:
        raise WrongKeyError(f"The keyring entry {KEYRING_SERVICE}/{name} for {path} is not a valid key.")
    return data_key


def _bytes(value: object) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"expected bytes, got {type(value).__name__}")
    return value


def _wrap_ad(db_id: str) -> bytes:
    return f"enclave/v1/meta/wrapped_key/{db_id}".encode()


def _check_ad(db_id: str) -> bytes:
    return f"enclave/v1/meta/key_check/{db_id}".encode()
