"""Where the library lives on disk, and how its folders are named.

    <library>/registry.json        what is installed (see registry.py)
    <library>/verified.json        when each package outside the library was last checked (see opening.py)
    <library>/models/<name>/       a downloaded or copied checkpoint or package
    <library>/.downloads/<id>/     a download in progress: finished files and `<file>.part` partial ones

The folder is the app's data directory unless the enterprise policy names another (`policy_library_folder`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

REGISTRY_FILE = "registry.json"
VERIFIED_FILE = "verified.json"
MODELS_DIR = "models"
DOWNLOADS_DIR = ".downloads"


def policy_library_folder() -> Path | None:
    """The library folder the organisation's policy sets (LibraryFolder), if any."""
    from app.policy import current_policy

    return current_policy().library_folder


def default_library_folder() -> Path:
    return Path(platformdirs.user_data_dir("Enclave", "Enclave")) / "library"


def library_folder() -> Path:
    """The policy's folder, else ENCLAVE_LIBRARY (for portable installs and tests), else the app's data folder."""
    policy = policy_library_folder()
    if policy is not None:
        return policy
    override = os.environ.get("ENCLAVE_LIBRARY")
    return Path(override).expanduser() if override else default_library_folder()


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A folder name from a model or repo name: letters, digits, `.`, `_` and `-` only, never empty or hidden."""
    name = _UNSAFE.sub("-", text).strip("-.") or "model"
    return name[:80]
