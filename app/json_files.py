"""Reading a JSON object from a file that came from outside (a package, a checkpoint, a config) with one-sentence
errors. Every reader of such a file says the same three things the same way: the file is missing, it is not
JSON (or not UTF-8, or unreadable), or it holds something other than an object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def read_json_object(path: Path, error: Callable[[str], Exception], *, missing: str | None = None) -> dict[str, Any]:
    """The object in `path`; otherwise raises `error(sentence)`. The sentence names the file and has no final
    full stop, so each caller's error class can end it the way its other messages end. `missing` replaces the
    sentence for a file that does not exist (say what the folder then is not)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(missing or f"{path} does not exist") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise error(f"{path} cannot be read as JSON ({reason})") from exc
    if not isinstance(data, dict):
        raise error(f"{path} is not a JSON object")
    return data
