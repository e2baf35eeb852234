"""Run inside the document sandbox child by test_tempdirs: writes a file where parsers put scratch files."""

from __future__ import annotations

import tempfile


def write_scratch(progress) -> str:  # noqa: ANN001 - the sandbox's progress callback
    with tempfile.NamedTemporaryFile("wb", delete=False, suffix=".tmp") as handle:
        handle.write(b"decoded page of a hostile PDF")
    return handle.name
