"""The Hugging Face access token, kept in the OS keyring only (never in a file, never in settings.json).

Only gated or private repositories need one; the official gpt-oss repositories do not.
"""

from __future__ import annotations

from app.library.errors import LibraryError

SERVICE = "Enclave"
ACCOUNT = "huggingface-token"


def load_token() -> str | None:
    import keyring
    import keyring.errors

    try:
        return keyring.get_password(SERVICE, ACCOUNT) or None
    except keyring.errors.KeyringError:
        return None  # no usable keyring: downloads go without a token (public repositories need none)


def save_token(token: str) -> None:
    import keyring
    import keyring.errors

    token = token.strip()
    if not token or any(c.isspace() for c in token):
        raise LibraryError("That is not an access token (it is empty or contains spaces).")
    try:
        keyring.set_password(SERVICE, ACCOUNT, token)
    except keyring.errors.KeyringError as exc:
        raise LibraryError(f"The token was not saved: no OS keyring is available here ({exc}); Enclave never "
                           "writes tokens to a file.") from exc


def forget_token() -> bool:
    import keyring
    import keyring.errors

    try:
        keyring.delete_password(SERVICE, ACCOUNT)
    except keyring.errors.PasswordDeleteError:
        return False
    except keyring.errors.KeyringError as exc:
        raise LibraryError(f"The keyring could not be changed ({exc}).") from exc
    return True
