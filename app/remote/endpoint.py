"""Which remote engine: its URL, the model it serves, the CA bundle its certificate must chain to, its token.

A remote engine sees the user's conversations and documents, so three rules hold before a byte is sent:
- https only (the policy schema itself accepts nothing else for AllowedRemoteEngines);
- the URL must be one the organisation's policy lists (compared after normalising case, default port and a
  trailing slash); when the policy lists none, no remote engine may be used;
- no user name or password in the URL (it would end up in settings files and logs); the token is kept in the
  OS keyring, one entry per URL, and travels as a bearer token.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from app.policy import Policy
from app.storage.secrets import delete_secret, read_secret, store_secret

REMOTE_TARGET = "remote"  # ModelInfo.target of a remote engine (a local package names its export target)
DEFAULT_TIMEOUT_S = 300.0  # a big model on a busy server may take minutes to read a long prompt
TOKEN_NAME_PREFIX = "remote-engine-token/"


class RemoteError(RuntimeError):
    """Something about the remote engine a user can act on; the message is one sentence."""


@dataclass(frozen=True)
class RemoteEndpoint:
    url: str  # normalised base URL of the OpenAI-compatible API, e.g. https://gpt-oss.example.com/v1
    model: str | None = None  # None: the model the server lists (it must list exactly one then)
    ca_bundle: Path | None = None  # PEM file of the CA(s) to trust instead of the system's (pinning)
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def parse(cls, url: str, *, model: str | None = None, ca_bundle: Path | str | None = None,
              timeout_s: float = DEFAULT_TIMEOUT_S) -> RemoteEndpoint:
        """Checks what the user typed; raises RemoteError naming what is wrong."""
        bundle = Path(ca_bundle).expanduser() if ca_bundle else None
        if bundle is not None and not bundle.is_file():
            raise RemoteError(f"The CA bundle {bundle} does not exist.")
        if not timeout_s > 0:
            raise RemoteError(f"The timeout must be a positive number of seconds, not {timeout_s}.")
        return cls(normalize_url(url), (model or "").strip() or None, bundle, float(timeout_s))

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urllib.parse.urlsplit(self.url).port or 443

    def check_allowed(self, policy: Policy) -> None:
        """Raises RemoteError unless the organisation's policy lists this URL."""
        allowed = policy.allowed_remote_engines
        if not allowed:
            raise RemoteError(f"Your organisation's policy lists no remote engines, so {self.url} may not be used "
                              "(an administrator can list it in AllowedRemoteEngines).")
        listed = set()
        for entry in allowed:
            try:
                listed.add(normalize_url(entry))
            except RemoteError:
                continue
        if self.url not in listed:
            raise RemoteError(f"Your organisation's policy does not list {self.url} as a remote engine "
                              f"(it allows {', '.join(sorted(allowed))}).")

    # --- the token, one keyring entry per URL -----------------------------------------------------------------
    @property
    def token_name(self) -> str:
        return TOKEN_NAME_PREFIX + self.url

    def stored_token(self) -> str | None:
        return read_secret(self.token_name)

    def store_token(self, token: str) -> bool:
        """Keeps the token in the OS keyring; False when there is none (then it lasts for this run only)."""
        return store_secret(self.token_name, token)

    def forget_token(self) -> None:
        delete_secret(self.token_name)


def normalize_url(text: str) -> str:
    """https://Host:443/v1/ -> https://host/v1; an empty path means /v1 (what every OpenAI-compatible server uses)."""
    if not isinstance(text, str) or not text.strip():
        raise RemoteError("Enter the remote engine's URL, for example https://gpt-oss.example.com/v1.")
    raw = text.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in raw):
        raise RemoteError("The remote engine's URL must not contain spaces or control characters.")
    try:
        parts = urllib.parse.urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise RemoteError(f"{_short(raw)} is not a valid URL ({exc}).") from exc
    if parts.scheme.lower() != "https":
        raise RemoteError(f"The remote engine's URL must start with https:// (conversations and documents must "
                          f"not cross the network unencrypted), not {_short(raw)}.")
    if parts.username or parts.password:
        raise RemoteError("The remote engine's URL must not hold a user name or password; enter the token "
                          "instead.")
    host = (parts.hostname or "").lower()
    if not host:
        raise RemoteError(f"{_short(raw)} names no host.")
    if parts.query or parts.fragment:
        raise RemoteError(f"The remote engine's URL must not have a query or fragment: {_short(raw)}.")
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port in (None, 443) else f"{shown_host}:{port}"
    path = parts.path.rstrip("/") or "/v1"
    return f"https://{netloc}{path}"


def _short(text: str) -> str:
    shown = "".join(ch if ch.isprintable() else "?" for ch in text)
    return shown if len(shown) <= 80 else shown[:77] + "..."
