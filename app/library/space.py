"""Free-space checks before a download, a copy or a conversion: one sentence saying how much is needed where."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from app.library.errors import LibraryError
from app.library.progress import format_bytes

# Room kept free beyond what the job writes (a full disk breaks the rest of the computer, not just Enclave):
# 512 MB, or 2% of a small disk.
HEADROOM_BYTES = 512 * 1024 * 1024
HEADROOM_SHARE = 0.02


@dataclass(frozen=True)
class SpaceNeed:
    """`size` bytes will be written under `folder` (which may not exist yet), for `what` ("the download")."""

    folder: Path
    size: int
    what: str


def _existing(folder: Path) -> Path:
    folder = Path(folder).absolute()
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def check_free_space(needs: list[SpaceNeed]) -> None:
    """Raises LibraryError when the disks involved cannot hold everything; needs on one disk are added up."""
    by_disk: dict[int, list[SpaceNeed]] = {}
    anchor: dict[int, Path] = {}
    for need in needs:
        if need.size <= 0:
            continue
        existing = _existing(need.folder)
        device = os.stat(existing).st_dev
        by_disk.setdefault(device, []).append(need)
        anchor.setdefault(device, existing)
    for device, group in by_disk.items():
        usage = shutil.disk_usage(anchor[device])
        free = usage.free
        headroom = min(HEADROOM_BYTES, int(usage.total * HEADROOM_SHARE))
        needed = sum(n.size for n in group)
        if needed + headroom > free:
            what = " and ".join(f"{format_bytes(n.size)} for {n.what}" for n in group)
            raise LibraryError(
                f"Not enough free space: this needs {what} in {group[0].folder}, but only {format_bytes(free)} "
                f"is free on that disk; free at least {format_bytes(needed + headroom - free)} there or choose "
                "another library folder.")
