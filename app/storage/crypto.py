"""AES-256-GCM for single database values (the passphrase side lives in kdf.py).

Every value gets a fresh random 96-bit nonce (random nonces are safe for far more than the 2**32 values
one key will ever seal here). The associated data names where the value lives (table, column, row), so a
ciphertext copied into another row or column fails authentication instead of decrypting as valid data.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit GCM nonce
FORMAT_V1 = b"\x01"  # leading byte so a later format can be told apart from this one


class AuthenticationFailed(Exception):
    """Internal: a sealed value did not authenticate. The store turns it into a named StorageError."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=8 * KEY_BYTES)


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """Encrypt one value: version byte + nonce + ciphertext-with-tag."""
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def open_sealed(key: bytes, sealed: bytes, associated_data: bytes) -> bytes:
    """Decrypt a value made by `seal`; raises AuthenticationFailed for any modification or misplacement."""
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != FORMAT_V1:
        raise AuthenticationFailed("sealed value is truncated or has an unknown format")
    nonce, body = sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, body, associated_data)
    except InvalidTag as exc:
        raise AuthenticationFailed("sealed value failed authentication") from exc

