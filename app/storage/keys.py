"""Where the history's data key comes from: the OS keyring, or a passphrase when there is no keyring.

The database is encrypted under one random 256-bit data key. Normally that key is kept in the OS
keyring (Windows Credential Manager, macOS Keychain, Secret Service), so the user never sees it. Where no
keyring backend exists (minimal Linux installs, CI, some kiosks) the key is instead wrapped with a key
derived from a passphrase (Argon2id, see kdf.py), and the salt and wrapped key are stored in the database. That
mode is weaker (an offline guessing attack on the passphrase is possible with the file alone), so it carries a
warning the UI must show, and a passphrase must pass a minimum strength. There is deliberately no third mode: a
plaintext key next to the data would be encryption in name only. An organisation can forbid the passphrase mode
(policy RequireOsKeyring): then there is no history where there is no keyring.

This module only produces and checks keys; it does not know the database layout. The database persists the
`meta` entries returned here and hands them back to `unlock_key`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.errors

from app.storage import crypto, kdf
from app.storage.errors import (CorruptDatabaseError, KeyringRequiredError, KeyUnavailableError,
                                PassphraseRequiredError, WrongKeyError, WrongPassphraseError)
from app.storage.passphrase import check_passphrase, passphrase_problem

log = logging.getLogger(__name__)

KEYRING_SERVICE = "Enclave"
KEYRING_NAME_PREFIX = "history-data-key"
PASSPHRASE_ENV = "ENCLAVE_PASSPHRASE"
PASSPHRASE_WARNING = (
    "No OS keyring is available, so your history is protected only by your passphrase: "
    "anyone with a copy of the file can try to guess it, and a forgotten passphrase cannot be recovered."
)
_KEY_CHECK_PLAINTEXT = b"Enclave history key check v1"
# Every meta row that describes where the key is; replaced together when the key moves or changes.
KEY_META_KEYS = ("key_mode", "keyring_service", "keyring_name", "wrapped_key", "key_check", *kdf.META_KEYS)


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
    rewrap_passphrase: str | None = field(default=None, repr=False)  # set when the KDF is older than kdf.CURRENT


def keyring_usable() -> bool:
    """True when keyring resolved to a backend that can actually store secrets."""
    backend = keyring.get_keyring()
    if isinstance(backend, keyring.backends.fail.Keyring):
        return False
    if isinstance(backend, keyring.backends.chainer.ChainerBackend) and not backend.backends:
        return False
    return True


def keyring_backend_name() -> str:
    """For `enclave doctor`: the backend keyring resolved to, or why there is none."""
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    return name if keyring_usable() else f"none usable ({name})"


def keyring_entry_name(db_id: str) -> str:
    """Keyring user name for one database (Enclave 0.1 used exactly this; later keys add a suffix)."""
    return f"{KEYRING_NAME_PREFIX}/{db_id}"


def resolve_passphrase(passphrase: str | None) -> str | None:
    """An explicit passphrase wins; headless runs (tests, CI) use ENCLAVE_PASSPHRASE."""
    chosen = passphrase if passphrase else os.environ.get(PASSPHRASE_ENV, "")
    return chosen or None


def create_key(db_id: str, path: Path, passphrase: str | None = None, use_keyring: bool = True,
               require_keyring: bool = False) -> UnlockedKey:
    """Make the data key for a new database, stored in the keyring or wrapped by a passphrase.

    `use_keyring=False` forces passphrase mode (e.g. a throwaway session history that must not leave an
    entry in the user's keyring); otherwise the keyring wins whenever one is usable. `require_keyring` (the
    organisation's policy) refuses the passphrase fallback.
    """
    data_key = crypto.new_data_key()
    if use_keyring and keyring_usable():
        try:
            meta = keyring_meta(data_key, db_id)
        except KeyUnavailableError as exc:  # locked, or its service (D-Bus) unreachable
            if require_keyring:
                raise KeyringRequiredError(path, str(exc)) from exc
            log.warning("Could not store the history key in the OS keyring (%s); using a passphrase.", exc)
        else:
            return UnlockedKey(data_key, KeyMode.KEYRING, meta, None)
    if require_keyring:
        raise KeyringRequiredError(path, "no keyring is available in this session")
    chosen = resolve_passphrase(passphrase)
    if chosen is None:
        raise PassphraseRequiredError(path, new_database=True)
    check_passphrase(chosen)
    return UnlockedKey(data_key, KeyMode.PASSPHRASE, passphrase_meta(data_key, db_id, chosen), PASSPHRASE_WARNING)


def keyring_meta(data_key: bytes, db_id: str) -> dict[str, object]:
    """Stores `data_key` under a new keyring entry and returns the meta rows naming it.

    A new entry per key (never overwriting the current one): if the database update that follows fails or the
    app is killed, the database still names the old entry, which still holds the old key.
    """
    name = f"{keyring_entry_name(db_id)}/{secrets.token_hex(4)}"
    try:
        keyring.set_password(KEYRING_SERVICE, name, base64.b64encode(data_key).decode("ascii"))
    except (keyring.errors.KeyringError, OSError) as exc:
        raise KeyUnavailableError(f"The OS keyring did not accept the history key ({exc}).") from exc
    return {"key_mode": KeyMode.KEYRING.value, "keyring_service": KEYRING_SERVICE, "keyring_name": name,
            "key_check": make_key_check(data_key, db_id)}


def passphrase_meta(data_key: bytes, db_id: str, passphrase: str) -> dict[str, object]:
    """Wraps `data_key` under a new salt with kdf.CURRENT (callers check the strength of a newly chosen one)."""
    salt = os.urandom(kdf.SALT_BYTES)
    wrapping_key = kdf.derive(passphrase, salt, kdf.CURRENT)
    return {"key_mode": KeyMode.PASSPHRASE.value, **kdf.meta_entries(salt, kdf.CURRENT),
            "wrapped_key": crypto.seal(wrapping_key, data_key, _wrap_ad(db_id)),
            "key_check": make_key_check(data_key, db_id)}


def unlock_key(meta: Mapping[str, object], db_id: str, path: Path, passphrase: str | None = None) -> UnlockedKey:
    """Recover the data key of an existing database; wrong or missing keys raise a named StorageError.

    The KDF parameters are checked against fixed bounds before any work (kdf.read_params).
    """
    mode = meta.get("key_mode")
    if mode == KeyMode.KEYRING.value:
        return UnlockedKey(_key_from_keyring(meta, db_id, path), KeyMode.KEYRING)
    if mode == KeyMode.PASSPHRASE.value:
        salt, params = kdf.read_params(meta, path)
        wrapped = meta.get("wrapped_key")
        if not isinstance(wrapped, bytes):
            raise CorruptDatabaseError(f"The key settings stored in {path} are incomplete or damaged (no wrapped key).")
        chosen = resolve_passphrase(passphrase)
        if chosen is None:
            raise PassphraseRequiredError(path, new_database=False)
        data_key = unwrap(chosen, salt, params, wrapped, db_id, path)
        rewrap = None if kdf.is_current(params) else chosen
        warning = PASSPHRASE_WARNING
        if passphrase_problem(chosen):  # chosen before Enclave asked for a minimum strength
            warning += " This passphrase is weaker than Enclave now asks for: change it in the history settings."
        return UnlockedKey(data_key, KeyMode.PASSPHRASE, warning=warning, rewrap_passphrase=rewrap)
    raise CorruptDatabaseError(f"The history in {path} names an unknown key mode {mode!r}.")


def unwrap(passphrase: str, salt: bytes, params: kdf.KdfParams, wrapped: bytes, db_id: str, path: Path) -> bytes:
    try:
        return crypto.open_sealed(kdf.derive(passphrase, salt, params), wrapped, _wrap_ad(db_id))
    except crypto.AuthenticationFailed as exc:
        raise WrongPassphraseError(f"The passphrase does not unlock the history in {path}.") from exc


def verify_passphrase(meta: Mapping[str, object], db_id: str, path: Path, passphrase: str, data_key: bytes) -> None:
    """Raises WrongPassphraseError unless `passphrase` is the one the open database is wrapped with."""
    if meta.get("key_mode") != KeyMode.PASSPHRASE.value:
        raise WrongPassphraseError(f"The history in {path} is not protected by a passphrase.")
    salt, params = kdf.read_params(meta, path)
    wrapped = meta.get("wrapped_key")
    if not isinstance(wrapped, bytes) or not hmac.compare_digest(
            unwrap(passphrase, salt, params, wrapped, db_id, path), data_key):
        raise WrongPassphraseError(f"The passphrase does not unlock the history in {path}.")


def delete_keyring_entry(meta: Mapping[str, object]) -> None:
    """Removes the key a database no longer uses; a failure only leaves an unused entry behind (logged)."""
    name = meta.get("keyring_name")
    if meta.get("key_mode") != KeyMode.KEYRING.value or not isinstance(name, str):
        return
    try:
        keyring.delete_password(KEYRING_SERVICE, name)
    except (keyring.errors.KeyringError, OSError) as exc:
        log.warning("Could not remove the old history key %s/%s from the OS keyring (%s).", KEYRING_SERVICE, name,
                    exc)


def describe_key(meta: Mapping[str, object]) -> dict[str, object]:
    """Where a database's key is and how it is derived, from its meta rows alone (no secret), for `enclave doctor`."""
    mode = meta.get("key_mode")
    if mode == KeyMode.KEYRING.value:
        return {"mode": "keyring", "entry": f"{meta.get('keyring_service')}/{meta.get('keyring_name')}"}
    if mode == KeyMode.PASSPHRASE.value:
        names = ("kdf", "kdf_memory_kib", "kdf_iterations", "kdf_lanes", "kdf_n", "kdf_r", "kdf_p")
        return {"mode": "passphrase", **{n.removeprefix("kdf_"): meta[n] for n in names if n in meta}}
    return {"mode": repr(mode)}


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


def _key_from_keyring(meta: Mapping[str, object], db_id: str, path: Path) -> bytes:
    name = meta.get("keyring_name", keyring_entry_name(db_id))
    if not isinstance(name, str) or not (name == keyring_entry_name(db_id)
                                         or name.startswith(keyring_entry_name(db_id) + "/")):
        raise CorruptDatabaseError(f"The key settings in {path} name a keyring entry that is not this history's.")
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


def _wrap_ad(db_id: str) -> bytes:
    return f"enclave/v1/meta/wrapped_key/{db_id}".encode()


def _check_ad(db_id: str) -> bytes:
    return f"enclave/v1/meta/key_check/{db_id}".encode()
