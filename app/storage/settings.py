"""The app's own preferences: last model, theme, defaults for new chats, document limits. Plain JSON.

Kept out of the encrypted history on purpose: the app needs them before the history is unlocked (theme,
which model to load), and they hold nothing private. No Qt here, so the CLI can read the same document
limits and sampling defaults as the desktop app.

Robustness rules:
- writes are atomic (temp file in the same folder, fsync, os.replace): a crash leaves the old file or the
  new one, never half of one;
- a file that is not valid JSON is moved aside to `settings.json.invalid` (not overwritten) and defaults
  are used, with `load_warning` saying so;
- a single bad value falls back to its default and is named in `load_warning`; the rest is kept;
- keys this version does not know (written by a newer Enclave) are kept and written back unchanged.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from app.documents.model import DocumentLimits
from app.storage.errors import StorageError
from app.storage.models import REASONING_EFFORTS

SETTINGS_VERSION = 1
THEMES = ("system", "light", "dark")


def default_settings_path() -> Path:
    return Path(platformdirs.user_config_dir("Enclave", "Enclave")) / "settings.json"


class SettingsError(StorageError):
    """The settings file could not be written."""


@dataclass(frozen=True)
class SamplingDefaults:
    """Sampling for new chats. gpt-oss's model card recommends temperature 1.0 and top_p 1.0."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 = off
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    max_new_tokens: int = 2048
    seed: int | None = None


# Allowed range per numeric setting: (low, high, low is inclusive). None = unbounded.
_SAMPLING_RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    "temperature": (0.0, 10.0, True), "top_p": (0.0, 1.0, False), "top_k": (0, None, True),
    "min_p": (0.0, 1.0, True), "repetition_penalty": (0.0, 10.0, False), "max_new_tokens": (1, None, True),
    "seed": (0, None, True),
}


@dataclass
class AppSettings:
    """Mutable on purpose: the UI changes a field, then calls save()."""

    last_model: str = ""  # folder of the last model opened ("" = none yet)
    theme: str = "system"  # system | light | dark
    reasoning_effort: str = "medium"  # for new chats
    sampling: SamplingDefaults = field(default_factory=SamplingDefaults)
    document_limits: DocumentLimits = field(default_factory=DocumentLimits)
    path: Path = field(default_factory=default_settings_path, repr=False, compare=False)
    load_warning: str | None = field(default=None, repr=False, compare=False)  # for the UI to show once
    _unknown: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path | None = None) -> AppSettings:
        """Never raises for a bad file: preferences are not worth refusing to start over."""
        path = Path(path) if path is not None else default_settings_path()
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path=path)
        except (OSError, UnicodeDecodeError) as exc:
            return cls(path=path, load_warning=f"Could not read the settings in {path} ({exc}); using defaults.")
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("the top level is not a JSON object")
        except ValueError as exc:
            return cls(path=path, load_warning=_set_aside(path, exc))
        return _from_json(data, path)

    def save(self) -> None:
        """Atomically replace the settings file; raises SettingsError naming the file on failure."""
        data = {**self._unknown, "settings_version": SETTINGS_VERSION, "last_model": self.last_model,
                "theme": self.theme, "reasoning_effort": self.reasoning_effort, "sampling": asdict(self.sampling),
                "document_limits": asdict(self.document_limits)}
        try:
            atomic_write_text(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            raise SettingsError(f"Could not save the settings to {self.path} ({exc}).") from exc


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder + fsync + os.replace, so readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if os.name == "posix":  # make the rename itself durable; Windows has no directory handles for this
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _set_aside(path: Path, exc: Exception) -> str:
    aside = path.with_name(path.name + ".invalid")
    try:
        os.replace(path, aside)
    except OSError as move_exc:
        return f"The settings in {path} are not valid JSON ({exc}) and could not be moved aside ({move_exc})."
    return f"The settings in {path} were not valid JSON ({exc}); they were moved to {aside} and defaults are used."


def _from_json(data: dict[str, Any], path: Path) -> AppSettings:
    problems: list[str] = []
    known = {"settings_version", "last_model", "theme", "reasoning_effort", "sampling", "document_limits"}
    settings = AppSettings(path=path, _unknown={k: v for k, v in data.items() if k not in known})
    for name, allowed in (("last_model", None), ("theme", THEMES), ("reasoning_effort", REASONING_EFFORTS)):
        if name in data:
            value = data[name]
            if isinstance(value, str) and (allowed is None or value in allowed):
                setattr(settings, name, value)
            else:
                problems.append(name)
    settings.sampling = _dataclass_from_json(SamplingDefaults, data.get("sampling"), "sampling", problems,
                                             _SAMPLING_RANGES)
    settings.document_limits = _dataclass_from_json(DocumentLimits, data.get("document_limits"),
                                                    "document_limits", problems, {})
    if problems:
        settings.load_warning = (f"Some settings in {path} were invalid and reset to their defaults: "
                                 f"{', '.join(problems)}.")
    return settings


def _dataclass_from_json(cls: type, data: object, prefix: str, problems: list[str],
                         ranges: dict[str, tuple[float | None, float | None, bool]]) -> Any:
    """Build `cls` from a JSON object, keeping each valid field and defaulting (and reporting) the rest.

    A field without an entry in `ranges` must be positive (all document limits are sizes, counts or times).
    """
    if data is None:
        return cls()
    if not isinstance(data, dict):
        problems.append(prefix)
        return cls()
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        default = f.default if f.default is not MISSING else None
        value = data[f.name]
        if _valid_number(value, default, ranges.get(f.name, (0, None, False))):
            values[f.name] = float(value) if isinstance(default, float) else value
        else:
            problems.append(f"{prefix}.{f.name}")
    return cls(**values)


def _valid_number(value: object, default: object, bounds: tuple[float | None, float | None, bool]) -> bool:
    """Same kind as the default (ints may stand for floats; bools are never numbers), within bounds."""
    if value is None:
        return default is None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if (default is None or isinstance(default, int)) and not isinstance(value, int):  # None default: seed
        return False
    low, high, low_inclusive = bounds
    if low is not None and (value < low or (value == low and not low_inclusive)):
        return False
    return high is None or value <= high
