"""The one definition of every policy key an organisation can set: name, type, default, strictest reading, meaning.

Everything else is derived from `KEYS`: the loaders (Windows registry, macOS managed preferences, Linux JSON),
the `Policy` value the app reads, `enclave policy show`, and the generated ADMX/ADML template and example
`.mobileconfig`. A key's `name` is the same everywhere an administrator types it (registry value name, plist key,
JSON key); `field` is the attribute on `Policy`.

Each value is checked here, and a value that is malformed (wrong type, out of range, not a URL...) never falls
back to the permissive default: it becomes the key's `strictest` reading and the problem is reported. The only
exception is a key whose strictest reading would destroy data the user has (history retention): a value Enclave
cannot read must not delete anyone's conversations, so it is reported and not applied.
"""

from __future__ import annotations

import enum
import ipaddress
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class Kind(enum.Enum):
    BOOL = "bool"
    INT = "int"
    URL = "url"  # http(s) URL of a server (hub mirror, remote engine)
    PROXY = "proxy"  # http(s)/socks5 URL of a proxy
    PATH = "path"  # an absolute folder path
    SHA256_LIST = "sha256-list"  # SHA-256 hex digests
    URL_LIST = "url-list"


class PolicyValueError(ValueError):
    """A policy value that does not have the key's type or range; the message is one sentence part."""


@dataclass(frozen=True)
class PolicyKey:
    name: str  # registry value name, plist key and JSON key (CamelCase, like other vendors' policies)
    field: str  # attribute of app.policy.Policy
    kind: Kind
    default: object  # the reading when the key is not set
    strictest: object  # the reading when the key is set but malformed
    meaning: str  # one sentence for `enclave policy show`, the ADML explain text and the UI tooltip
    title: str  # short name shown in Group Policy editors
    example: object  # the value in the generated example .mobileconfig
    minimum: int | None = None
    maximum: int | None = None
    unit: str = ""
    malformed_disables: tuple[str, ...] = ()  # boolean keys forced off when this key is malformed
    apply_malformed: bool = True  # False: a malformed value is reported and not applied (see module docstring)


KEYS: tuple[PolicyKey, ...] = (
    PolicyKey("DownloadsAllowed", "downloads_allowed", Kind.BOOL, True, False,
              "Whether Enclave may download models from the Hugging Face Hub or the mirror set by HubEndpoint; "
              "when off, models can only be imported from a folder.",
              "Allow model downloads", False),
    PolicyKey("HubEndpoint", "hub_endpoint", Kind.URL, None, None,
              "The Hugging Face Hub mirror (for example Artifactory or Nexus) that downloads come from instead of "
              "huggingface.co.",
              "Model hub mirror", "https://artifactory.example.com/api/huggingfaceml/huggingface",
              malformed_disables=("DownloadsAllowed",)),
    PolicyKey("Proxy", "proxy", Kind.PROXY, None, None,
              "The proxy that downloads go through (http, https or socks5 URL with host and port).",
              "Download proxy", "http://proxy.example.com:3128", malformed_disables=("DownloadsAllowed",)),
    PolicyKey("AllowedModels", "allowed_models", Kind.SHA256_LIST, None, frozenset(),
              "The only models Enclave may open, each given as the SHA-256 of its package manifest.json or of its "
              "checkpoint manifest; when not set, any model may be opened.",
              "Allowed models", ["0" * 64]),
    PolicyKey("HistoryRetentionDays", "history_retention_days", Kind.INT, None, None,
              "Conversations not updated for this many days are deleted, and their text overwritten, when "
              "Enclave starts; when not set, the user chooses.",
              "History retention", 90, minimum=1, maximum=36500, unit="days", apply_malformed=False),
    PolicyKey("ChatExportAllowed", "chat_export_allowed", Kind.BOOL, True, False,
              "Whether users may export a conversation to a Markdown or JSON file (exports are not encrypted).",
              "Allow chat export", False),
    PolicyKey("RequireOsKeyring", "require_os_keyring", Kind.BOOL, False, True,
              "Whether the history key must be kept in the OS keyring; when on, Enclave never falls back to a "
              "passphrase and keeps no history where no keyring is available.",
              "Require the OS keyring", True),
    PolicyKey("MaxDocumentSizeMB", "max_document_size_mb", Kind.INT, None, 1,
              "The largest document, in megabytes, that users may attach; when not set, the user's own limit "
              "applies.",
              "Maximum document size", 25, minimum=1, maximum=4096, unit="MB"),
    PolicyKey("LibraryFolder", "library_folder", Kind.PATH, None, None,
              "The folder that holds downloaded and imported models, instead of the user's data folder.",
              "Model library folder", "/Library/Application Support/Enclave/Models", malformed_disables=("DownloadsAllowed",)),
    PolicyKey("ServerAllowed", "server_allowed", Kind.BOOL, True, False,
              "Whether users may start Enclave's local API server (on this computer's loopback address only).",
              "Allow the local API server", False),
    PolicyKey("AllowedRemoteEngines", "allowed_remote_engines", Kind.URL_LIST, None, frozenset(),
              "The only remote inference servers (https URLs) Enclave may send conversations and documents to; "
              "when not set, none may be used.",
              "Allowed remote engines", ["https://gpt-oss.example.com/v1"]),
)

KEYS_BY_NAME: dict[str, PolicyKey] = {key.name: key for key in KEYS}


def parse_value(key: PolicyKey, value: object) -> object:
    """The value as the app uses it (bool, int, str, frozenset); raises PolicyValueError naming what is wrong."""
    return _PARSERS[key.kind](key, value)


def _parse_bool(key: PolicyKey, value: object) -> bool:
    if not isinstance(value, bool):
        raise PolicyValueError(f"must be true or false, not {_show(value)}")
    return value


def _parse_int(key: PolicyKey, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyValueError(f"must be a whole number of {key.unit}, not {_show(value)}")
    if (key.minimum is not None and value < key.minimum) or (key.maximum is not None and value > key.maximum):
        raise PolicyValueError(f"must be between {key.minimum} and {key.maximum} {key.unit}, not {value}")
    return value


def _parse_url(key: PolicyKey, value: object) -> str:
    return _checked_url(value, ("https", "http"))


def _parse_proxy(key: PolicyKey, value: object) -> str:
    url = _checked_url(value, ("http", "https", "socks5", "socks5h"))
    if urllib.parse.urlsplit(url).port is None:
        raise PolicyValueError(f"must name the proxy's port (for example http://proxy:3128), not {_show(value)}")
    return url


def _checked_url(value: object, schemes: tuple[str, ...]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyValueError(f"must be a URL, not {_show(value)}")
    text = value.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise PolicyValueError(f"must be a URL without spaces or control characters, not {_show(value)}")
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise PolicyValueError(f"must be a valid URL, not {_show(value)} ({exc})") from exc
    if parts.scheme.lower() not in schemes:
        raise PolicyValueError(f"must start with {' or '.join(s + '://' for s in schemes)}, not {_show(value)}")
    if not parts.hostname or not _valid_host(parts.hostname):
        raise PolicyValueError(f"must name a host, not {_show(value)}")
    if parts.username or parts.password:
        raise PolicyValueError("must not hold a user name or password (they would be readable by every user)")
    return text


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return re.fullmatch(r"(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}"
                            r"[a-z0-9])?\.?", host, re.IGNORECASE) is not None


def _parse_path(key: PolicyKey, value: object) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise PolicyValueError(f"must be a folder path, not {_show(value)}")
    if any(ord(ch) < 32 for ch in value):
        raise PolicyValueError(f"must not hold control characters, not {_show(value)}")
    path = Path(value)
    if not path.is_absolute():  # on Windows: a drive and a root (or a UNC share)
        raise PolicyValueError(f"must be an absolute path (it is resolved the same way for every user), "
                               f"not {_show(value)}")
    return path


def _parse_list(key: PolicyKey, value: object, item: Callable[[object], str]) -> frozenset[str]:
    if not isinstance(value, list | tuple):
        raise PolicyValueError(f"must be a list, not {_show(value)}")
    return frozenset(item(entry) for entry in value)


def _sha256(entry: object) -> str:
    if not isinstance(entry, str) or re.fullmatch(r"[0-9a-fA-F]{64}", entry.strip()) is None:
        raise PolicyValueError(f"must hold SHA-256 digests (64 hexadecimal characters), not {_show(entry)}")
    return entry.strip().lower()


def _parse_sha256_list(key: PolicyKey, value: object) -> frozenset[str]:
    return _parse_list(key, value, _sha256)


def _parse_url_list(key: PolicyKey, value: object) -> frozenset[str]:
    return _parse_list(key, value, lambda entry: _checked_url(entry, ("https",)))


_PARSERS: dict[Kind, Callable[[PolicyKey, object], object]] = {
    Kind.BOOL: _parse_bool, Kind.INT: _parse_int, Kind.URL: _parse_url, Kind.PROXY: _parse_proxy,
    Kind.PATH: _parse_path, Kind.SHA256_LIST: _parse_sha256_list, Kind.URL_LIST: _parse_url_list,
}


def _show(value: object) -> str:
    """A short, printable rendering of a hostile value for a one-sentence message."""
    text = repr(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= 80 else text[:77] + "..."
