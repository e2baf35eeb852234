"""The desktop app's own preferences (last model, theme): a small JSON file, written atomically.

Kept out of the encrypted history on purpose: the app needs them before the history is unlocked, and they
hold nothing private.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs


def default_settings_path() -> Path:
    return Path(platformdirs.user_config_dir("Enclave", "Enclave")) / "settings.json"


@dataclass
class AppSettings:
    last_model: str = ""
    theme: str = "system"  # system | light | dark
    path: Path = field(default_factory=default_settings_path, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path | None = None) -> AppSettings:
        """Unreadable or foreign settings fall back to defaults: preferences are never worth a crash."""
        path = path or default_settings_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(path=path)
        known = {f.name for f in fields(cls)} - {"path"}
        values = {k: v for k, v in data.items() if k in known and isinstance(v, str)} if isinstance(data, dict) else {}
        return cls(path=path, **values)

    def save(self) -> None:
        data = {k: v for k, v in asdict(self).items() if k != "path"}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".settings-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
            os.replace(tmp, self.path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
