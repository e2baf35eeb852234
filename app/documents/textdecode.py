"""Bytes -> text for plain-text formats, and the test that tells text from binary junk.

Office laptops are full of Windows-1252, Latin-1 and UTF-16 exports (Excel's "Unicode text" is UTF-16), so we
trust a BOM, then strict UTF-8, then charset-normalizer's detection. A file is refused as "not text" when no
decoding works or when the decoded result is still full of control characters, which is what an executable or
image renamed to .txt looks like.
"""

from __future__ import annotations

import codecs

import charset_normalizer

from app.documents.model import ErrorKind, ExtractionError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")  # \x1b: ANSI colours in log files
PREFERRED_ENCODING = "cp1252"
MAX_CONTROL_RATIO = 0.02  # real text has ~0; random bytes decoded as any 8-bit code page give ~11 %


def _strip_bom(data: bytes) -> tuple[bytes, str | None]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):], encoding
    return data, None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a BOM shows as text whose every other byte is NUL; detectors often miss it."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0) / len(sample[0::2])
    odd_nuls = sample[1::2].count(0) / len(sample[1::2])
    if odd_nuls > 0.4 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.4 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def control_ratio(text: str) -> float:
    sample = text[:65536]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if (ch < " " or "\x7f" <= ch < "\xa0") and ch not in _ALLOWED_CONTROLS)
    return bad / len(sample)


def _detect(sample: bytes) -> str | None:
    """charset-normalizer's pick, except that among equally good 8-bit candidates Windows-1252 wins: it is
    what Western-European office PCs write, and detection ties often (French "è" is "č" in Windows-1250)."""
    matches = charset_normalizer.from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if match.encoding == PREFERRED_ENCODING and match.chaos <= best.chaos \
                and match.coherence >= best.coherence - 0.01:
            return match.encoding
    return best.encoding


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Returns (text, encoding); raises ExtractionError(NOT_TEXT) for binary content."""
    body, encoding = _strip_bom(data)
    text: str | None = None
    if encoding is None:
        encoding = _utf16_without_bom(body)
    if encoding is not None:
        text = body.decode(encoding, errors="replace")
    else:
        try:
            text, encoding = body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            if b"\x00" not in body[:65536]:
                encoding = _detect(body[:1_000_000])
                if encoding is not None:
                    text = body.decode(encoding, errors="replace")
    if text is None or control_ratio(text) > MAX_CONTROL_RATIO:
        raise ExtractionError(ErrorKind.NOT_TEXT, f"{name} does not contain text (it looks like a binary file); "
                                                  "attach the original document instead of a renamed one.")
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding
