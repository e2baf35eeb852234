"""The design system: WCAG AA contrast of both palettes, one source of colours, icons sharp at any scale."""

from __future__ import annotations

import re
from dataclasses import fields
from importlib import resources

import pytest


def _luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance, written here from the spec (not taken from the app)."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_contrast_formula_matches_published_values() -> None:
    assert _contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert _contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the lightest AA grey on white
    assert _contrast("#777777", "#ffffff") < 4.5


@pytest.mark.parametrize("name", ["LIGHT", "DARK"])
def test_every_text_and_background_pair_passes_wcag_aa(name: str) -> None:
    from app.ui import theme

    palette = getattr(theme, name)
    failures = []
    for pair in theme.CONTRAST_PAIRS:
        ratio = _contrast(getattr(palette, pair.foreground), getattr(palette, pair.background))
        if ratio < pair.minimum:
            failures.append(f"{pair.where}: {pair.foreground} on {pair.background} is {ratio:.2f}:1, "
                            f"needs {pair.minimum}:1")
    assert not failures, "\n".join(failures)


def test_the_pairs_cover_every_text_colour_on_every_surface_it_is_drawn_on() -> None:
    from app.ui import theme

    names = {f.name for f in fields(theme.Palette)} - {"dark"}
    used = {p.foreground for p in theme.CONTRAST_PAIRS} | {p.background for p in theme.CONTRAST_PAIRS}
    assert names - used <= {"border"}, f"colours with no contrast check: {sorted(names - used - {'border'})}"
    for text in ("text", "text_muted"):
        assert {"window", "bubble", "sidebar", "selection", "surface"} <= \
            {p.background for p in theme.CONTRAST_PAIRS if p.foreground == text}


def test_the_style_sheet_has_no_colour_of_its_own_and_every_token_is_defined(qapp) -> None:
    from app.ui import theme

    template = resources.files("resources").joinpath("styles", "app.qss").read_text(encoding="utf-8")
    without_comments = re.sub(r"/\*.*?\*/", "", template, flags=re.S)
    assert not re.findall(r"#[0-9a-fA-F]{3,8}\b|rgba?\(", without_comments)  # colours come from the palette
    for palette in (theme.LIGHT, theme.DARK):
        sheet = theme.style_sheet(palette, 10.0)
        assert "@" not in sheet
        assert palette.accent in sheet and palette.focus in sheet


def test_applying_a_theme_sets_the_palette_the_dialogs_use(qapp) -> None:
    from PySide6.QtGui import QPalette

    from app.ui import theme

    theme.apply_theme(qapp, theme.ThemeChoice.DARK)
    assert qapp.palette().color(QPalette.ColorRole.Base).name() == theme.DARK.surface
    assert qapp.palette().color(QPalette.ColorRole.Highlight).name() == theme.DARK.accent
    theme.apply_theme(qapp, theme.ThemeChoice.LIGHT)
    assert qapp.palette().color(QPalette.ColorRole.Text).name() == theme.LIGHT.text


def test_icons_render_at_the_screens_own_pixel_density_in_the_theme_colour(qapp) -> None:
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QIcon

    from app.ui import icons, theme

    assert len(icons.names()) >= 20
    theme.apply_theme(qapp, theme.ThemeChoice.LIGHT)
    for name in icons.names():
        for scale in (1.0, 1.5, 2.0):
            pixmap = icons.icon(name).pixmap(QSize(20, 20), scale)
            assert (pixmap.width(), pixmap.height()) == (round(20 * scale), round(20 * scale)), (name, scale)
            assert pixmap.devicePixelRatio() == scale
    image = icons.icon("stop").pixmap(QSize(24, 24), 2.0).toImage()  # a filled square in the middle
    assert image.pixelColor(24, 24).name() == theme.LIGHT.text
    assert image.pixelColor(1, 1).alpha() == 0
    disabled = icons.icon("stop").pixmap(QSize(24, 24), 1.0, QIcon.Mode.Disabled).toImage()
    assert disabled.pixelColor(12, 12).name() == theme.LIGHT.text_muted
    theme.apply_theme(qapp, theme.ThemeChoice.DARK)  # an icon made before a theme switch follows it
    again = icons.icon("stop").pixmap(QSize(24, 24), 1.0).toImage()
    assert again.pixelColor(12, 12).name() == theme.DARK.text
    theme.apply_theme(qapp, theme.ThemeChoice.LIGHT)
    with pytest.raises(KeyError):
        icons.icon("no-such-icon")
