"""Turning a passphrase into the key that wraps the history's data key: Argon2id, with bounded parameters.

New keys use Argon2id with 64 MiB of memory, 3 passes and 4 lanes: RFC 9106's second recommended setting, above
OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane). One derivation took 0.14 s on an idle core of the
development machine; `enclave doctor` measures it on the computer it runs on. Each guess costs an attacker the
same 64 MiB and time; scrypt N=2^15 (what Enclave 0.1 wrote) cost 32 MiB.

The parameters are stored next to the wrapped key, so they are attacker-controlled input: a file could ask for
terabytes of memory (a raw MemoryError) or minutes of work before the passphrase is even checked. Every value
is checked against fixed bounds before any derivation, and refused in milliseconds with one sentence.

Databases written with scrypt (Enclave 0.1) still unlock, within bounds, and are re-wrapped with Argon2id by the
caller right after the first successful unlock (`is_current` says when).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from app.storage.crypto import KEY_BYTES
from app.storage.errors import CorruptDatabaseError

SALT_BYTES = 16
ARGON2ID = "argon2id"
SCRYPT = "scrypt"


@dataclass(frozen=True)
class Argon2idParams:
    memory_kib: int
    iterations: int
    lanes: int


@dataclass(frozen=True)
class ScryptParams:
    """Only read (Enclave 0.1 databases), never written."""

    n: int
    r: int
    p: int


KdfParams = Argon2idParams | ScryptParams

CURRENT = Argon2idParams(memory_kib=64 * 1024, iterations=3, lanes=4)

# What a database may ask for. The minimums keep every file at or above OWASP's floor; the maximums cap the
# cost of a tampered file at about a second and 256 MiB on a laptop.
ARGON2ID_BOUNDS = {"memory_kib": (19 * 1024, 256 * 1024), "iterations": (2, 8), "lanes": (1, 8)}
SCRYPT_BOUNDS = {"n": (2**14, 2**17), "r": (8, 16), "p": (1, 4)}
SALT_BOUNDS = (16, 64)


def derive(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """The 256-bit wrapping key. `params` must come from `new_params` or `read_params` (already bounded)."""
    secret = passphrase.encode("utf-8")
    if isinstance(params, Argon2idParams):
        return Argon2id(salt=salt, length=KEY_BYTES, iterations=params.iterations, lanes=params.lanes,
                        memory_cost=params.memory_kib).derive(secret)
    return Scrypt(salt=salt, length=KEY_BYTES, n=params.n, r=params.r, p=params.p).derive(secret)


def is_current(params: KdfParams) -> bool:
    """False for anything weaker than what a new database gets: the caller re-wraps the key after unlocking."""
    return isinstance(params, Argon2idParams) and params.memory_kib >= CURRENT.memory_kib and \
        params.iterations >= CURRENT.iterations


def meta_entries(salt: bytes, params: Argon2idParams) -> dict[str, object]:
    """The meta rows that describe a new wrapping (the caller adds the wrapped key itself)."""
    return {"kdf": ARGON2ID, "kdf_salt": salt, "kdf_memory_kib": params.memory_kib,
            "kdf_iterations": params.iterations, "kdf_lanes": params.lanes}


META_KEYS = ("kdf", "kdf_salt", "kdf_memory_kib", "kdf_iterations", "kdf_lanes", "kdf_n", "kdf_r", "kdf_p")


def read_params(meta: Mapping[str, object], path: Path) -> tuple[bytes, KdfParams]:
    """(salt, parameters) from a database's meta rows, refused unless every value is within bounds."""
    name = meta.get("kdf")
    salt = meta.get("kdf_salt")
    if not isinstance(salt, bytes) or not SALT_BOUNDS[0] <= len(salt) <= SALT_BOUNDS[1]:
        raise CorruptDatabaseError(f"The key settings in {path} hold no valid salt; the file was changed or "
                                   "damaged, and Enclave left it untouched.")
    if name == ARGON2ID:
        values = _bounded(meta, path, "Argon2id", {k: ("kdf_" + k, b) for k, b in ARGON2ID_BOUNDS.items()})
        return salt, Argon2idParams(**values)
    if name == SCRYPT:
        values = _bounded(meta, path, "scrypt", {k: ("kdf_" + k, b) for k, b in SCRYPT_BOUNDS.items()})
        if values["n"] & (values["n"] - 1):
            raise CorruptDatabaseError(f"The key settings in {path} ask for scrypt with N={values['n']}, which is "
                                       "not a power of two; the file was changed or damaged, and Enclave left it "
                                       "untouched.")
        return salt, ScryptParams(**values)
    raise CorruptDatabaseError(f"The key settings in {path} name an unknown key derivation {_short(name)}; the file "
                               "was changed, damaged or written by a newer Enclave, and Enclave left it untouched.")


def _bounded(meta: Mapping[str, object], path: Path, label: str,
             wanted: dict[str, tuple[str, tuple[int, int]]]) -> dict[str, int]:
    values: dict[str, int] = {}
    for attribute, (column, (low, high)) in wanted.items():
        value = meta.get(column)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise CorruptDatabaseError(
                f"The key settings in {path} ask for {label} with {column.removeprefix('kdf_')}={_short(value)}, "
                f"outside what Enclave accepts ({low} to {high}); the file was changed or damaged, and Enclave "
                "left it untouched.")
        values[attribute] = value
    return values


def _short(value: object) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in repr(value))
    return text if len(text) <= 40 else text[:37] + "..."
