"""Keeping the exporter's resident set small while it streams a memory-mapped checkpoint.

Reading a tensor through `np.memmap` maps its pages into this process, and every page touched counts in the
resident set until the mapping goes away, so streaming the 1.2 GB lm_head of gpt-oss-20b would show up as
1.2 GB of RSS even though each row block is used once. After each block the exporter tells the kernel it no
longer needs those pages (MADV_DONTNEED): for a read-only file mapping they just leave our page tables and
stay in the OS page cache. Where madvise is unavailable (Windows) this is a no-op.
"""

from __future__ import annotations

import mmap

import numpy as np


def release_pages(array: np.ndarray) -> None:
    """Drops the resident pages of the memory map behind `array` (a np.memmap or a view of one)."""
    mapping = getattr(array, "_mmap", None)
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if mapping is None or advice is None or not hasattr(mapping, "madvise"):
        return
    try:
        mapping.madvise(advice)
    except (OSError, ValueError):
        # A closed or unusual mapping only means the pages stay resident a little longer; never an error.
        return
