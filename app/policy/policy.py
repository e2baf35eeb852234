"""The policy in force, as one frozen value, and how raw values from a policy source become it.

`Policy` is what the rest of the app reads: `current_policy().downloads_allowed`, `.is_managed("proxy")`,
`.model_allowed(sha256)`. It is built once per process from whatever the machine's policy source holds (see
`app.policy.sources`); a key that is not set has its schema default, a key that is set but malformed has its
strictest reading and a line in `problems`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from app.policy.schema import KEYS, KEYS_BY_NAME, PolicyKey, PolicyValueError, parse_value


@dataclass(frozen=True)
class Policy:
    """Machine-level settings set by the organisation; read-only for the user. Fields mirror schema.KEYS."""

    downloads_allowed: bool = True
    hub_endpoint: str | None = None
    proxy: str | None = None
    allowed_models: frozenset[str] | None = None  # None: any model
    history_retention_days: int | None = None  # None: the user chooses
    chat_export_allowed: bool = True
    require_os_keyring: bool = False
    max_document_size_mb: int | None = None  # None: the user's own limit
    library_folder: Path | None = None
    server_allowed: bool = True
    allowed_remote_engines: frozenset[str] | None = None  # None: not set (no remote engine allowed)
    source: str = "none"  # where it was read from, for `enclave policy show` and `enclave doctor`
    managed: frozenset[str] = frozenset()  # field names the organisation set (locked in the UI)
    problems: tuple[str, ...] = ()  # one sentence per malformed or unknown entry

    def is_managed(self, field_name: str) -> bool:
        """True when the organisation set this key: the UI shows it locked, "Managed by your organization"."""
        if field_name not in _FIELDS:
            raise KeyError(f"{field_name!r} is not a policy key")
        return field_name in self.managed

    def model_allowed(self, manifest_sha256: str) -> bool:
        """Whether a model whose package or checkpoint manifest has this SHA-256 may be opened."""
        return self.allowed_models is None or manifest_sha256.strip().lower() in self.allowed_models

    @property
    def is_empty(self) -> bool:
        return not self.managed and not self.problems

    def key_values(self) -> list[tuple[PolicyKey, object, bool]]:
        """(key, value in force, managed) for every schema key, in schema order."""
        return [(key, getattr(self, key.field), key.field in self.managed) for key in KEYS]


_FIELDS = {key.field for key in KEYS}
_declared = {f.name for f in fields(Policy)} - {"source", "managed", "problems"}
if _declared != _FIELDS:  # one definition: the schema; this dataclass must follow it exactly
    raise RuntimeError(f"Policy fields {sorted(_declared ^ _FIELDS)} do not match app.policy.schema.KEYS")


@dataclass
class RawPolicy:
    """What a policy source held, before checking: values by key name, where they came from, read errors."""

    values: dict[str, object] = field(default_factory=dict)
    source: str = "none"
    problems: list[str] = field(default_factory=list)
    unreadable: bool = False  # the source exists but could not be parsed: every key takes its strictest reading


def build_policy(raw: RawPolicy) -> Policy:
    """Checks every value against the schema; malformed values take their strictest reading, never the default."""
    values: dict[str, object] = {}
    managed: set[str] = set()
    problems = list(raw.problems)
    disabled: set[str] = set()
    if raw.unreadable:
        for key in KEYS:
            managed.add(key.field)
            if key.apply_malformed:
                values[key.field] = key.strictest
        problems.append("Because the policy could not be read, every setting takes its strictest reading "
                        "(history retention is not applied, so no conversation is deleted).")
    for name, value in raw.values.items():
        key = KEYS_BY_NAME.get(name)
        if key is None:
            like = next((k.name for k in KEYS if k.name.lower() == str(name).lower()), None)
            hint = f" (did you mean {like}? names are case-sensitive)" if like else ""
            problems.append(f"Policy key {_printable(name)} in {raw.source} is not known to this version of "
                            f"Enclave and is not applied{hint}.")
            continue
        managed.add(key.field)
        try:
            values[key.field] = parse_value(key, value)
        except PolicyValueError as exc:
            problems.append(_malformed_message(key, raw.source, exc))
            if key.apply_malformed:
                values[key.field] = key.strictest
            disabled.update(key.malformed_disables)
    for name in disabled:
        target = KEYS_BY_NAME[name]
        values[target.field] = target.strictest
        managed.add(target.field)
    return Policy(**values, source=raw.source, managed=frozenset(managed),  # type: ignore[arg-type]
                  problems=tuple(problems))


def _malformed_message(key: PolicyKey, source: str, exc: PolicyValueError) -> str:
    if not key.apply_malformed:
        effect = "it is not applied, so no conversation is deleted because of it"
    elif key.strictest is None:
        effect = "the default is used"
    else:
        effect = f"the strictest reading ({format_value(key, key.strictest)}) applies"
    if key.malformed_disables:
        effect += ", and " + ", ".join(key.malformed_disables) + " is turned off"
    return f"Policy key {key.name} in {source} {exc}; {effect}."


def format_value(key: PolicyKey, value: object) -> str:
    """A value as an administrator writes it (JSON-like), for messages and `enclave policy show`."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, frozenset):
        return "[" + ", ".join(sorted(value)) + "]" if value else "[] (none)"
    if key.unit and isinstance(value, int):
        return f"{value} {key.unit}"
    return str(value)


def _printable(text: str) -> str:
    shown = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return repr(shown if len(shown) <= 60 else shown[:57] + "...")
