"""The bundled icon set (resources/icons/ui/*.svg), tinted with the theme's colours and sharp at any scale.

Each SVG draws in `currentColor`. `icon(name)` returns a QIcon whose engine renders the SVG on demand at the
exact device pixels asked for (a 20 px icon on a 150 % screen is drawn at 30 px, not scaled from 20 or 40),
in the text colour (muted when disabled, the accent colour for `tone="accent"`, and so on). Icons made before
a theme switch follow it: the engine reads the palette when it paints, and the cache is keyed by palette.

Rendering goes through QtSvg's QSvgRenderer, not Qt's SVG icon-engine plugin, so the frozen bundle needs no
image-format plugin for its own icons.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.ui.theme import LIGHT, Palette

TONES = ("text", "text_muted", "accent", "on_accent", "danger", "warning_text")
_current: list[Palette] = [LIGHT]


def set_palette(palette: Palette) -> None:
    """The theme changed: icons painted from now on use its colours. The first call reads the whole set (a few
    kB), so no icon is read from disk later, while the window is busy."""
    _current[0] = palette
    for name in names():
        _svg(name)


def names() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files("resources.icons.ui").iterdir() if p.name.endswith(".svg"))


@lru_cache(maxsize=None)
def _svg(name: str) -> str:
    path = resources.files("resources.icons.ui").joinpath(f"{name}.svg")
    if not path.is_file():
        raise KeyError(f"resources/icons/ui has no icon named {name!r}")
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=512)
def _render(name: str, colour: str, width: int, height: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(_svg(name).replace("currentColor", colour).encode("utf-8")))
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, width, height))
    painter.end()
    return pixmap


class _TintedSvgEngine(QIconEngine):
    def __init__(self, name: str, tone: str) -> None:
        super().__init__()
        self._name, self._tone = name, tone

    def _colour(self, mode: QIcon.Mode) -> str:
        palette = _current[0]
        if mode is QIcon.Mode.Disabled:
            return palette.text_muted
        return getattr(palette, self._tone)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:  # noqa: N802
        width, height = max(1, round(size.width() * scale)), max(1, round(size.height() * scale))
        pixmap = QPixmap(_render(self._name, self._colour(mode), width, height))
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:  # noqa: D102
        return self.scaledPixmap(size, mode, state, 1.0)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        scale = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, scale))

    def clone(self) -> QIconEngine:
        return _TintedSvgEngine(self._name, self._tone)

    def iconName(self) -> str:  # noqa: N802
        return self._name


def icon(name: str, tone: str = "text") -> QIcon:
    """The named icon from the bundled set, in the theme's `tone` colour (one of TONES)."""
    if tone not in TONES:
        raise ValueError(f"icon tone must be one of {', '.join(TONES)}, not {tone!r}")
    _svg(name)  # a missing file fails here, where the icon is asked for, not later when it is painted
    return QIcon(_TintedSvgEngine(name, tone))
