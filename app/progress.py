"""Progress of a long job (loading or exporting a model) as plain data.

Here, at the ground floor, so that app.export reports its progress without importing app.engine, and every
client (the command line, the window's workers) receives the same type from both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoadProgress:
    """Progress of loading (or exporting) a model; `fraction` is None while unknown."""

    message: str
    fraction: float | None = None
