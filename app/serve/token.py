"""The bearer token that every request to the local API server must carry.

Any program on this computer can reach 127.0.0.1, so the port alone proves nothing: a client must send
`Authorization: Bearer <token>`. The token is 256 random bits, generated once and kept in the OS keyring, so
the window and `enclave serve` use the same one and tools configured with it keep working across restarts.
Where no keyring is usable it lives for this run only (`kept` is False, and the window and the CLI say so).
Scripts get it from `--token-file`, written readable by the user only. Comparison is constant-time.
"""

from __future__ import annotations

import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.storage.secrets import read_secret, store_secret

TOKEN_NAME = "api-server-token"
TOKEN_PREFIX = "enclave-"  # recognisable in a config file or a leaked log


class TokenFileError(OSError):
    """The token file could not be written; the message is one sentence naming it."""


@dataclass(frozen=True)
class ServerToken:
    value: str
    kept: bool  # True: in the OS keyring (the same token next time); False: for this run only

    def matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.value.encode("utf-8"))

    def describe(self) -> str:
        return ("kept in the OS keyring" if self.kept
                else "for this run only (no OS keyring is available to keep it)")


def new_token_value() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def server_token(*, renew: bool = False) -> ServerToken:
    """The token in the keyring (made and stored if there is none, or when `renew`)."""
    stored = None if renew else read_secret(TOKEN_NAME)
    if stored:
        return ServerToken(stored, kept=True)
    value = new_token_value()
    return ServerToken(value, kept=store_secret(TOKEN_NAME, value))


def write_token_file(path: Path, token: ServerToken) -> None:
    """Writes the token (and a newline) to `path`, readable by this user only, replacing the file atomically."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(token.value + "\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise TokenFileError(f"Could not write the token to {path} ({exc.strerror or exc}).") from exc
