"""Makes the app icon's raster forms from resources/icons/enclave.svg, with Qt and the standard library.

    python packaging/make_icons.py        # rewrites enclave.png, enclave.ico and enclave.icns beside the SVG

enclave.png (256 px) goes into the .deb's hicolor theme and is the window icon; enclave.ico (16-256 px) is
the Windows executables', the MSI's and the Inno Setup installer's icon; enclave.icns the macOS bundle's.
Both containers hold PNG images (valid since Windows Vista and macOS 10.7); Qt's own ico/icns writers store
one size per file, so the containers are written here. The results are committed: builds need neither this
script nor a display.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size.
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO file: ICONDIR, one ICONDIRENTRY per size, then the PNG images (a size of 256 is written 0)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, blobs = b"", b""
    for size, png in sorted(pngs.items()):
        side = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset + len(blobs))
        blobs += png
    return header + entries + blobs


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICNS file: 'icns' + total length, then (type, length including its 8-byte header, PNG) elements."""
    body = b"".join(ICNS_TYPES[size] + struct.pack(">I", len(png) + 8) + png for size, png in sorted(pngs.items()))
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication(sys.argv[:1])
    source = ICONS / "enclave.svg"
    renderer = QSvgRenderer(str(source))
    if not renderer.isValid():
        print(f"{source} is not a valid SVG file.", file=sys.stderr)
        return 1

    def png(size: int) -> bytes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        buffer.close()
        return bytes(data)

    (ICONS / "enclave.png").write_bytes(png(256))
    (ICONS / "enclave.ico").write_bytes(ico_bytes({size: png(size) for size in ICO_SIZES}))
    (ICONS / "enclave.icns").write_bytes(icns_bytes({size: png(size) for size in ICNS_TYPES}))
    print(f"wrote enclave.png, enclave.ico and enclave.icns in {ICONS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
