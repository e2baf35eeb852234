"""Enclave's design system: the light and dark palettes, the spacing and type scales, and applying them.

One place defines every colour the window uses (`Palette`), every gap (`SPACE`) and every text size (`TYPE`).
The style sheet (resources/styles/app.qss) names them as `@token` and gets them filled in here, so a colour is
never written twice; the Markdown renderer and the icons read the same palette. `CONTRAST_PAIRS` lists each
text/background pair the window draws, with the WCAG 2.1 AA ratio it must reach (4.5:1 for text, 3:1 for
large text and for focus rings and control borders); the test suite computes them from these palettes.

Fusion style + a full QPalette keeps the look identical on Windows, macOS and Linux and makes the standard
dialogs (file pickers, message boxes) match; "system" follows the OS light/dark setting while Enclave runs.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, fields
from importlib import resources

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QHBoxLayout, QProxyStyle, QStyle, QStyleFactory, QWidget


class ThemeChoice(enum.Enum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


@dataclass(frozen=True)
class Palette:
    """The colours of one theme, by role (hex #rrggbb)."""

    dark: bool
    window: str  # the chat area
    sidebar: str  # the conversation list and the side panels
    surface: str  # cards: the composer, chips, menus
    bubble: str  # the user's messages
    border: str  # hairlines between areas, card outlines
    control_border: str  # outlines of inputs and buttons (3:1 against what they sit on)
    text: str
    text_muted: str  # secondary text: dates, details, hints
    accent: str  # the primary button, the selected chat's marker, links in the chrome
    on_accent: str  # text on `accent`
    selection: str  # the selected chat's background
    focus: str  # the keyboard focus ring
    danger: str  # error text
    danger_surface: str  # background of an error chip or banner
    warning_surface: str  # background of a warning banner
    warning_text: str
    code: str  # code block background
    link: str
    highlight: str  # a cited passage's background
    highlight_text: str


LIGHT = Palette(
    dark=False, window="#ffffff", sidebar="#f4f5f7", surface="#ffffff", bubble="#eef1f7", border="#e1e4ea",
    control_border="#80868f", text="#1b1d22", text_muted="#596070", accent="#3656c8", on_accent="#ffffff",
    selection="#e2e7f8", focus="#3656c8", danger="#b42318", danger_surface="#fdecea", warning_surface="#fff4dc",
    warning_text="#6b4500", code="#f4f4f6", link="#2a4fc0", highlight="#fff3b0", highlight_text="#1b1d22",
)
DARK = Palette(
    dark=True, window="#1b1c20", sidebar="#222328", surface="#2a2b31", bubble="#2f3440", border="#34363d",
    control_border="#7b808b", text="#e8e9ec", text_muted="#a7abb5", accent="#8ea6ff", on_accent="#0f1320",
    selection="#343a4d", focus="#8ea6ff", danger="#ff8a80", danger_surface="#3d2324", warning_surface="#3b3017",
    warning_text="#f3d58c", code="#272822", link="#9db8ff", highlight="#5c4b12", highlight_text="#fff6d6",
)


@dataclass(frozen=True)
class ContrastPair:
    foreground: str  # Palette field
    background: str
    minimum: float
    where: str


# Each pair the window draws. Text 4.5:1; focus rings and input outlines are non-text UI parts (3:1).
CONTRAST_PAIRS: tuple[ContrastPair, ...] = (
    ContrastPair("text", "window", 4.5, "a reply"),
    ContrastPair("text", "bubble", 4.5, "the user's message"),
    ContrastPair("text", "sidebar", 4.5, "a chat title"),
    ContrastPair("text", "selection", 4.5, "the selected chat's title"),
    ContrastPair("text", "surface", 4.5, "the composer"),
    ContrastPair("text", "code", 4.5, "a code block"),
    ContrastPair("text_muted", "window", 4.5, "message details"),
    ContrastPair("text_muted", "bubble", 4.5, "documents sent with a message"),
    ContrastPair("text_muted", "sidebar", 4.5, "date headings and search snippets"),
    ContrastPair("text_muted", "selection", 4.5, "the selected chat's snippet"),
    ContrastPair("text_muted", "surface", 4.5, "placeholder text"),
    ContrastPair("on_accent", "accent", 4.5, "the Send button"),
    ContrastPair("link", "window", 4.5, "a link in a reply"),
    ContrastPair("accent", "window", 4.5, "a text button"),
    ContrastPair("accent", "sidebar", 4.5, "a text button in the sidebar"),
    ContrastPair("danger", "window", 4.5, "an error under a reply"),
    ContrastPair("danger", "danger_surface", 4.5, "a failed document's chip"),
    ContrastPair("warning_text", "warning_surface", 4.5, "a warning banner"),
    ContrastPair("highlight_text", "highlight", 4.5, "a cited passage"),
    ContrastPair("focus", "window", 3.0, "the focus ring in the chat"),
    ContrastPair("focus", "sidebar", 3.0, "the focus ring in the sidebar"),
    ContrastPair("focus", "surface", 3.0, "the focus ring on the composer"),
    ContrastPair("control_border", "window", 3.0, "an input's outline"),
    ContrastPair("control_border", "sidebar", 3.0, "the search field's outline"),
)

# Spacing scale in device-independent pixels: every margin and gap is one of these.
SPACE = {"xs": 4, "sm": 8, "md": 12, "lg": 16, "xl": 24, "xxl": 32}
# Type scale, relative to the system's UI font (which follows the OS accessibility text size).
TYPE = {"small": 0.86, "body": 1.0, "heading": 1.15, "title": 1.5, "display": 2.0}
# Widths that keep text readable: a chat column of about 75 characters, bubbles a little narrower.
READABLE_WIDTH = 760
RADIUS = {"sm": 6, "md": 10, "lg": 14}


def add_readable_column(row: QHBoxLayout, column: QWidget) -> None:
    """Puts `column` in the middle of `row`, at most READABLE_WIDTH wide: the chat and the composer share one
    column, so their edges line up at every window width."""
    column.setMaximumWidth(READABLE_WIDTH)
    row.addStretch(1)
    row.addWidget(column, 100)
    row.addStretch(1)


def set_style_state(widget: QWidget, value: str, *, name: str = "kind", also: tuple[QWidget, ...] = ()) -> None:
    """Sets the property the style sheet selects on (`QLabel#x[kind="error"]`) and restyles the widget (and `also`,
    its children styled by the same property) — only when the value changes: restyling is the costly part."""
    if widget.property(name) == value:
        return
    widget.setProperty(name, value)
    for target in (widget, *also):
        target.style().unpolish(target)
        target.style().polish(target)


def palette_for(dark: bool) -> Palette:
    return DARK if dark else LIGHT


def system_prefers_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def resolve_dark(choice: ThemeChoice) -> bool:
    if choice is ThemeChoice.SYSTEM:
        return system_prefers_dark()
    return choice is ThemeChoice.DARK


def qt_palette(colours: Palette) -> QPalette:
    """The QPalette of a theme: standard widgets and dialogs (file pickers, message boxes) match the window."""
    p = QPalette()
    roles = QPalette.ColorRole
    pairs = {
        roles.Window: colours.sidebar, roles.WindowText: colours.text, roles.Base: colours.surface,
        roles.AlternateBase: colours.sidebar, roles.ToolTipBase: colours.surface, roles.ToolTipText: colours.text,
        roles.Text: colours.text, roles.Button: colours.surface, roles.ButtonText: colours.text,
        roles.BrightText: colours.danger, roles.Highlight: colours.accent, roles.HighlightedText: colours.on_accent,
        roles.Link: colours.link, roles.LinkVisited: colours.link, roles.PlaceholderText: colours.text_muted,
        roles.Mid: colours.border, roles.Midlight: colours.border, roles.Dark: colours.control_border,
        roles.Shadow: colours.control_border, roles.Light: colours.surface, roles.Accent: colours.accent,
    }
    for role, value in pairs.items():
        p.setColor(role, QColor(value))
    for role in (roles.Text, roles.ButtonText, roles.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(colours.text_muted))
    return p


def style_sheet(colours: Palette, base_point_size: float) -> str:
    """resources/styles/app.qss with its @tokens filled in: colours, spacing, radii and the type scale."""
    template = resources.files("resources").joinpath("styles", "app.qss").read_text(encoding="utf-8")
    values: dict[str, str] = {f.name: getattr(colours, f.name) for f in fields(colours) if f.name != "dark"}
    values.update({f"space_{k}": f"{v}px" for k, v in SPACE.items()})
    values.update({f"radius_{k}": f"{v}px" for k, v in RADIUS.items()})
    values.update({f"font_{k}": f"{base_point_size * v:.1f}pt" for k, v in TYPE.items()})

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"resources/styles/app.qss names @{name}, which the theme does not define")
        return values[name]

    return re.sub(r"@([a-z_]+)", fill, template)


def base_point_size() -> float:
    """The system UI font's size (a pixel-sized font, as some platforms give, is converted at 96 dpi)."""
    font = QFont()
    return font.pointSizeF() if font.pointSizeF() > 0 else font.pixelSize() * 0.75


class EnclaveStyle(QProxyStyle):
    """Fusion, plus the focus ring of the style sheet on the controls Fusion draws itself (menus of choices and
    spin boxes keep Fusion's look: a style sheet that styles them must redraw their arrows too)."""

    RINGED = (QStyle.ComplexControl.CC_ComboBox, QStyle.ComplexControl.CC_SpinBox)

    def __init__(self) -> None:
        super().__init__(QStyleFactory.create("Fusion"))
        self.focus = QColor(LIGHT.focus)

    def drawComplexControl(self, control, option, painter: QPainter, widget=None) -> None:  # noqa: N802
        super().drawComplexControl(control, option, painter, widget)
        if control in self.RINGED and option.state & QStyle.StateFlag.State_HasFocus:
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(self.focus, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(option.rect.adjusted(1, 1, -1, -1), RADIUS["sm"], RADIUS["sm"])
            painter.restore()


_style: list[EnclaveStyle] = []


def apply_theme(app: QApplication, choice: ThemeChoice = ThemeChoice.SYSTEM) -> bool:
    """Applies the theme and returns whether it is dark (the chat view renders code blocks to match)."""
    dark = resolve_dark(choice)
    colours = palette_for(dark)
    if not _style:
        _style.append(EnclaveStyle())
        app.setStyle(_style[0])  # the application owns the style from here on
    _style[0].focus = QColor(colours.focus)
    app.setPalette(qt_palette(colours))
    app.setStyleSheet(style_sheet(colours, base_point_size()))
    from app.ui import icons

    icons.set_palette(colours)
    return dark

