"""The library's two ways to stop: a problem the user can act on, and the user's own Cancel."""

from __future__ import annotations


class LibraryError(RuntimeError):
    """Something about a download, an import or a model folder is wrong: one sentence naming the file."""


class Cancelled(RuntimeError):
    """The user pressed Cancel (or Ctrl+C); what was fetched so far is kept for the next try."""
