"""Translations: every text the window shows goes through Qt's translation system, and this installs them.

Widgets call `self.tr("…")`; code outside a QObject calls `translate("Context", "…")` (this module's name for
QCoreApplication.translate, which pyside6-lupdate finds by that name). Placeholders are `{name}` filled with
`.format()` after translating, so a translator can move them; counts use Qt's `%n` plural forms.

The sources are resources/translations/enclave_<lang>.ts (edited with Qt Linguist or by hand, refreshed from
the code with `python -m app.ui.i18n update`); the compiled .qm files next to them are what the app loads, built
by pyside6-lrelease (`python -m app.ui.i18n build`; the test suite checks that they match their sources).
English is the source language: its .qm holds only the plural forms ("1 page", "2 pages").
"""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QObject, QTranslator

translate = QCoreApplication.translate


class Counts(QObject):
    """Every text with a number in it that changes the words ("1 page", "2 pages"): Qt's plural forms, which
    pyside6-lupdate reads only from `self.tr(text, "", n)`, so they live here, each once."""

    def tokens(self, n: int) -> str:
        return self.tr("%n token(s)", "", n)

    def prompt_tokens(self, n: int) -> str:
        return self.tr("prompt: %n token(s)", "", n)

    def pages(self, n: int) -> str:
        return self.tr("%n page(s)", "", n)

    def requests_answered(self, n: int) -> str:
        return self.tr("Serving; %n request(s) answered.", "", n)

    def passages_not_cited(self, n: int) -> str:
        return self.tr("No source cited (%n passage(s) were given to the model).", "", n)

    def policy_problems(self, n: int) -> str:
        return self.tr("Organization policy: %n problem(s)", "", n)

    def conversations_deleted(self, n: int) -> str:
        return self.tr("Deleted %n conversation(s) not used for longer than the retention period.", "", n)


counts = Counts()

# Languages the app ships, as (code, name in that language). "" in the settings means: the system's language.
LANGUAGES: tuple[tuple[str, str], ...] = (("en", "English"), ("de", "Deutsch"))
_installed: list[QTranslator] = []
_data: list[bytes] = []  # the .qm bytes the installed translators read from


def resolve_language(setting: str) -> str:
    """The language to show: the setting if it is one we ship, else the system's if we ship it, else English."""
    codes = [code for code, _ in LANGUAGES]
    if setting in codes:
        return setting
    for name in QLocale.system().uiLanguages():
        code = name.replace("_", "-").split("-")[0].lower()
        if code in codes:
            return code
    return "en"


def install_translators(app: QCoreApplication, setting: str = "") -> str:
    """Loads Enclave's own translation (and Qt's, for standard dialog buttons) for `setting`; returns the code."""
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    _data.clear()
    language = resolve_language(setting)
    ours = QTranslator(app)
    path = resources.files("resources.translations").joinpath(f"enclave_{language}.qm")
    data = path.read_bytes() if path.is_file() else b""
    if data and ours.load(data):
        _data.append(data)  # QTranslator reads the bytes in place, never copies them: keep them alive
        app.installTranslator(ours)
        _installed.append(ours)
    qt_own = QTranslator(app)  # "OK", "Cancel", "Restore Defaults" in Qt's own dialogs
    if language != "en" and qt_own.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt_own)
        _installed.append(qt_own)
    return language


def translations_folder() -> Path:
    return Path(str(resources.files("resources.translations")))


def _tool(name: str) -> str:
    """Qt's lupdate/lrelease as PySide6 ships them (next to its modules; `pyside6-<name>` wraps the same)."""
    import PySide6

    folder = Path(PySide6.__file__).parent
    for candidate in (folder / name, folder / f"{name}.exe", folder / "Qt" / "libexec" / name):
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError(f"PySide6 in {folder} has no {name}; install PySide6-Essentials")


def update_sources() -> None:
    """Refreshes every .ts from the code in app/ui (new texts added as unfinished, vanished ones marked)."""
    root = Path(__file__).resolve().parents[2]
    sources = sorted(str(p.relative_to(root)) for p in (root / "app" / "ui").rglob("*.py"))
    for code, _ in LANGUAGES:
        extra = ["-pluralonly"] if code == "en" else []
        ts = translations_folder() / f"enclave_{code}.ts"
        subprocess.run([_tool("lupdate"), *sources, *extra, "-no-obsolete", "-locations", "none",
                        "-target-language", code, "-ts", str(ts)], check=True, cwd=root)


def build(out: Path | None = None) -> list[Path]:
    """Compiles each .ts into its .qm (into `out`, or next to the sources)."""
    built = []
    for code, _ in LANGUAGES:
        ts = translations_folder() / f"enclave_{code}.ts"
        qm = (out or translations_folder()) / f"enclave_{code}.qm"
        subprocess.run([_tool("lrelease"), "-silent", str(ts), "-qm", str(qm)], check=True)
        built.append(qm)
    return built


if __name__ == "__main__":  # python -m app.ui.i18n update|build
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "update":
        update_sources()
    elif command == "build":
        for path in build():
            print(path)
    else:
        print("usage: python -m app.ui.i18n update|build", file=sys.stderr)
        sys.exit(2)
