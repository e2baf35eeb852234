"""Stand-ins for a parser gone wrong, run through sandbox.run_isolated as "doc_hostile:<function>".

They live in their own module because the sandbox child imports its target by name.
"""

from __future__ import annotations

import os


def spin(progress) -> None:
    """A parser stuck in an infinite loop (pypdf has had several)."""
    while True:
        pass


def hog(megabytes: int, progress) -> int:
    """A parser that keeps allocating, like a decompression bomb inflating in memory."""
    blocks = []
    for _ in range(megabytes):
        blocks.append(bytearray(1024 * 1024))
    return len(blocks)


def die(progress) -> None:
    """A parser crashing in native code: the process ends without a word."""
    os.abort()


def count_pages(pages: int, progress) -> int:
    for page in range(1, pages + 1):
        progress(page, pages)
    return pages
