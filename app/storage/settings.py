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
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from app.documents.model import DocumentLimits
from app.engine.chat_request import REASONING_EFFORTS, ChatSettings
from app.engine.sampling import Bound
from app.policy import Policy
from app.storage.errors import StorageError

SETTINGS_VERSION = 1
THEMES = ("system", "light", "dark")
REMOTE_ENGINE_KEYS = ("url", "model", "ca_bundle")  # what the window remembers of the last remote engine


def default_settings_path() -> Path:
    return Path(platformdirs.user_config_dir("Enclave", "Enclave")) / "settings.json"


class SettingsError(StorageError):
    """The settings file could not be written."""


# Context lengths the Preferences offer (None there means: the app's choice for the package, see app.ui.backend).
CONTEXT_LENGTH_BOUND = Bound(1024, 131072, integer=True)
CPU_THREADS_BOUND = Bound(1, 256, integer=True)
LANGUAGES = ("", "en", "de")  # "" = the system's language


@dataclass(frozen=True)
class EngineSettings:
    """How the next model is opened. None = automatic (the app's choice for the package and this computer)."""

    context_length: int | None = None  # tokens of context; capped at what the package supports
    cpu_threads: int | None = None  # ONNX Runtime's intra-op threads on the CPU


@dataclass
class WindowState:
    """Which panels the window shows; restored at the next start."""

    sidebar: bool = True
    chat_settings: bool = False


@dataclass
class AppSettings:
    """Mutable on purpose: the UI changes a field, then calls save()."""

    last_model: str = ""  # folder of the last model opened ("" = none yet)
    theme: str = "system"  # system | light | dark
    language: str = ""  # "" (the system's), "en" or "de"
    new_chat: ChatSettings = field(default_factory=ChatSettings)  # system prompt, effort and sampling of new chats
    document_limits: DocumentLimits = field(default_factory=DocumentLimits)
    hub_endpoint: str = ""  # a Hugging Face mirror (Artifactory, Nexus) for downloads; "" = HF_ENDPOINT or the Hub
    hub_proxy: str = ""  # proxy for downloads; "" = the environment's (HTTPS_PROXY, ...)
    server_port: int = 8484  # the local API server's port on 127.0.0.1 (app.serve.server.DEFAULT_PORT)
    remote_engine: dict[str, str] = field(default_factory=dict)  # last remote engine: url, model, ca_bundle
    history_retention_days: int | None = None  # delete conversations untouched this long; None = keep them
    engine: EngineSettings = field(default_factory=EngineSettings)
    window: WindowState = field(default_factory=WindowState)
    export_folder: str = ""  # where the last conversation was exported ("" = the Documents folder)
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
                "theme": self.theme, "language": self.language, "reasoning_effort": self.new_chat.reasoning_effort,
                "system_prompt": self.new_chat.system_prompt, "sampling": self.new_chat.sampling_json(),
                "document_limits": asdict(self.document_limits), "engine": asdict(self.engine),
                "window": asdict(self.window), "export_folder": self.export_folder,
                "hub_endpoint": self.hub_endpoint, "hub_proxy": self.hub_proxy, "server_port": self.server_port,
                "remote_engine": dict(self.remote_engine), "history_retention_days": self.history_retention_days}
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
    known = {"settings_version", "last_model", "theme", "language", "reasoning_effort", "system_prompt", "sampling",
             "document_limits", "engine", "window", "export_folder",
             "hub_endpoint", "hub_proxy", "server_port", "remote_engine", "history_retention_days"}
    settings = AppSettings(path=path, _unknown={k: v for k, v in data.items() if k not in known})
    for name, allowed in (("last_model", None), ("theme", THEMES), ("language", LANGUAGES), ("export_folder", None),
                          ("hub_endpoint", None), ("hub_proxy", None)):
        if name in data:
            value = data[name]
            if isinstance(value, str) and (allowed is None or value in allowed):
                setattr(settings, name, value)
            else:
                problems.append(name)
    settings.new_chat = _new_chat_from_json(data, problems)
    settings.document_limits = _limits_from_json(data.get("document_limits"), problems)
    settings.engine = _engine_from_json(data.get("engine"), problems)
    settings.window = _window_from_json(data.get("window"), problems)
    if "server_port" in data:
        if Bound(1, 65535, integer=True).contains(data["server_port"]):
            settings.server_port = data["server_port"]
        else:
            problems.append("server_port")
    remote = data.get("remote_engine", {})
    if isinstance(remote, dict) and all(k in REMOTE_ENGINE_KEYS and isinstance(v, str) for k, v in remote.items()):
        settings.remote_engine = dict(remote)
    else:
        problems.append("remote_engine")
    retention = data.get("history_retention_days")
    if retention is None or Bound(1, 36500, integer=True).contains(retention):
        settings.history_retention_days = retention
    else:
        problems.append("history_retention_days")
    if problems:
        settings.load_warning = (f"Some settings in {path} were invalid and reset to their defaults: "
                                 f"{', '.join(problems)}.")
    return settings


def _new_chat_from_json(data: dict[str, Any], problems: list[str]) -> ChatSettings:
    new_chat = ChatSettings()
    effort = data.get("reasoning_effort", new_chat.reasoning_effort)
    if effort in REASONING_EFFORTS:
        new_chat = ChatSettings(reasoning_effort=effort)
    else:
        problems.append("reasoning_effort")
    prompt = data.get("system_prompt", "")
    if isinstance(prompt, str):
        new_chat = replace(new_chat, system_prompt=prompt)
    else:
        problems.append("system_prompt")
    sampling = data.get("sampling")
    if sampling is None:
        return new_chat
    if not isinstance(sampling, dict):
        problems.append("sampling")
        return new_chat
    new_chat, bad = new_chat.with_sampling_json(sampling)
    problems.extend(f"sampling.{name}" for name in bad)
    return new_chat


def _limits_from_json(data: object, problems: list[str]) -> DocumentLimits:
    """DocumentLimits from a JSON object, keeping each valid field and defaulting (and reporting) the rest.

    Every limit is a size, a count or a time: a positive number of the default's kind (ints may stand for floats;
    bools are never numbers).
    """
    if data is None:
        return DocumentLimits()
    if not isinstance(data, dict):
        problems.append("document_limits")
        return DocumentLimits()
    values: dict[str, Any] = {}
    for f in fields(DocumentLimits):
        if f.name not in data:
            continue
        value = data[f.name]
        integer = isinstance(f.default, int)
        if Bound(0, math.inf, low_open=True, integer=integer).contains(value):
            values[f.name] = value if integer else float(value)
        else:
            problems.append(f"document_limits.{f.name}")
    return DocumentLimits(**values)


def document_limits_in_force(settings: AppSettings, policy: Policy) -> DocumentLimits:
    """The user's document limits, with the largest file set by the organisation where its policy says so."""
    if policy.max_document_size_mb is None:
        return settings.document_limits
    return replace(settings.document_limits, max_file_bytes=policy.max_document_size_mb * 1024 * 1024)


def retention_in_force(settings: AppSettings, policy: Policy) -> int | None:
    """Days after which untouched conversations are deleted: the organisation's, else the user's choice."""
    if policy.is_managed("history_retention_days"):
        return policy.history_retention_days  # None when the policy's value could not be read: delete nothing
    return settings.history_retention_days


def _engine_from_json(data: object, problems: list[str]) -> EngineSettings:
    """Each field: null (automatic) or a whole number in its range; anything else is reset and named."""
    if data is None:
        return EngineSettings()
    if not isinstance(data, dict):
        problems.append("engine")
        return EngineSettings()
    values: dict[str, int | None] = {}
    for name, bound in (("context_length", CONTEXT_LENGTH_BOUND), ("cpu_threads", CPU_THREADS_BOUND)):
        value = data.get(name)
        if value is None or bound.contains(value):
            values[name] = value
        else:
            problems.append(f"engine.{name}")
    return EngineSettings(**values)


def _window_from_json(data: object, problems: list[str]) -> WindowState:
    if data is None:
        return WindowState()
    if not isinstance(data, dict):
        problems.append("window")
        return WindowState()
    state = WindowState()
    for f in fields(WindowState):
        if f.name in data:
            if isinstance(data[f.name], bool):
                setattr(state, f.name, data[f.name])
            else:
                problems.append(f"window.{f.name}")
    return state
