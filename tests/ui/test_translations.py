"""Translations: no user-visible text in app/ui bypasses Qt's translation system, the German translation is complete
and compiled from its source, and the window really shows it."""

from __future__ import annotations

import ast
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "app" / "ui"
TRANSLATIONS = ROOT / "resources" / "translations"
# Developer tools that live in app/ui but are not the window: the screenshot driver's demo content, the
# translation maintenance command.
NOT_THE_WINDOW = {"screenshots.py", "i18n.py"}
TRANSLATING = {"tr", "translate", "QT_TRANSLATE_NOOP", "QT_TR_NOOP"}
# Calls whose string arguments are names, not text: object names, properties, icons, styles, shortcuts, lookups.
TECHNICAL = {"setObjectName", "setProperty", "property", "findChild", "findChildren", "icon", "getattr", "setattr",
             "hasattr", "startswith", "endswith", "split", "rsplit", "partition", "replace", "strip", "lstrip",
             "rstrip", "join", "format", "get", "pop", "setdefault", "index", "find", "count", "encode", "decode",
             "joinpath", "files", "QKeySequence", "setShortcut", "_action_key", "setStyle", "removesuffix",
             "removeprefix", "fromLocalFile", "QUrl", "print", "warning", "debug", "info", "error", "exception",
             "Path", "with_suffix", "with_name", "glob", "rglob", "re.compile", "compile", "sub", "fullmatch", "match",
             "search", "timedelta", "strftime", "toString", "addItem_data", "findData", "mkdtemp", "load",
             "read_text", "write_text", "open", "environ", "setenv", "addPixmap", "loadFromData", "resolve_access",
             "LoadProgress_key", "render_markdown", "isinstance", "dict", "html.escape", "escape", "fields",
             "QColor", "HtmlFormatter", "get_lexer_by_name", "MarkdownIt", "enable", "add_render_rule", "attrGet",
             "setApplicationName", "setOrganizationName", "setDesktopFileName", "ContrastPair", "_svg", "_render",
             "create"}
# Keyword arguments that name things (a job's "latest" key, an icon's tone, a banner's kind).
TECHNICAL_KEYWORDS = {"objectName", "name", "kind", "tone", "latest", "icon_name", "shortcut"}
PROSE = re.compile(r"[A-Za-z]{2,}[,.;:!?’']?\s+[A-Za-z]{2,}|[A-Za-z]{2,}…$|^[A-Z][a-z]+$")
# A word a user reads, in a string passed straight to a widget: not an icon name, an identifier or a shortcut.
SINK_TEXT = re.compile(r"^(?![a-z0-9_-]+$)(?!(Ctrl|Alt|Shift|Meta)\+)[^<]*[A-Za-z]{2,}")
PRAGMA = "# not translated:"  # a line that shows a name or an example, with the reason after the colon
SINKS = {"setText", "setToolTip", "setStatusTip", "setWindowTitle", "setPlaceholderText", "setAccessibleName",
         "setAccessibleDescription", "showMessage", "addAction", "addMenu", "QAction", "QLabel", "PlainLabel",
         "QPushButton", "QCheckBox", "QToolButton", "setSpecialValueText", "setSuffix", "setPrefix", "setFormat",
         "addItem", "setLabelText", "show_message", "ask_yes_no", "ask_text", "getSaveFileName",
         "getOpenFileNames", "getExistingDirectory", "QMessageBox", "setHorizontalHeaderLabels", "setItemText",
         "addRow", "insertItem", "setWhatsThis", "addButton", "emit", "LoadProgress", "QListWidgetItem",
         "QTableWidgetItem", "_heading", "_hint", "_spin", "_action", "_tool_button", "_fact", "_row", "_page"}


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def untranslated(source: Path) -> list[str]:
    """"file:line: text" for each string in `source` that a user would read but that no tr() wraps."""
    code = source.read_text(encoding="utf-8")
    lines = code.splitlines()
    tree = ast.parse(code)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        else:
            continue
        if id(node) in docstrings or isinstance(parents.get(node), ast.JoinedStr):
            continue
        sink, translated, developer = False, False, False
        child, parent = node, parents.get(node)
        while parent is not None:
            if isinstance(parent, ast.Call):
                name = _name(parent)
                if name in TRANSLATING:
                    translated = True
                    break
                if name in TECHNICAL and child is not parent.func:
                    developer = True
                    break
                if name in SINKS and child in parent.args:
                    sink = True
            if isinstance(parent, (ast.Raise, ast.Assert, ast.Compare, ast.Subscript)):
                developer = True  # exceptions for developers, comparisons and keys are not shown
                break
            if isinstance(parent, ast.keyword) and parent.arg in TECHNICAL_KEYWORDS:
                developer = True
                break
            if isinstance(parent, (ast.FunctionDef, ast.ClassDef)):
                break
            child, parent = parent, parents.get(parent)
        if translated or developer or not text.strip():
            continue
        if any(PRAGMA in lines[n - 1] for n in range(node.lineno, (node.end_lineno or node.lineno) + 1)):
            continue
        visible = re.sub(r"<[^>]*>", "", text)  # what HTML shows; the markup itself is not text
        if sink and SINK_TEXT.search(visible) or PROSE.search(visible):
            found.append(f"{source.relative_to(ROOT)}:{node.lineno}: {text[:70]!r}")
    return found


def test_no_user_visible_text_in_app_ui_bypasses_translation() -> None:
    problems = [problem for source in sorted(UI.rglob("*.py")) if source.name not in NOT_THE_WINDOW
                for problem in untranslated(source)]
    assert not problems, "texts not wrapped in tr()/translate():\n" + "\n".join(problems)


def test_the_scanner_finds_an_untranslated_label(tmp_path: Path) -> None:
    sample = UI / "_scanner_sample.py"
    try:
        sample.write_text('label = QLabel("Open a model first")\nok = QLabel(self.tr("Fine"))\n'
                          'status.showMessage(f"Loaded {name}")\nwindow.setObjectName("chatPage")\n',
                          encoding="utf-8")
        found = untranslated(sample)
    finally:
        sample.unlink()
    assert [f.split(": ", 1)[1] for f in found] == ["'Open a model first'", "'Loaded '"]


def _messages(ts: Path) -> list[ET.Element]:
    return list(ET.parse(ts).getroot().iter("message"))


def test_the_german_translation_is_complete_and_keeps_every_placeholder() -> None:
    unfinished, broken = [], []
    for message in _messages(TRANSLATIONS / "enclave_de.ts"):
        source = message.find("source").text or ""
        translation = message.find("translation")
        texts = [f.text or "" for f in translation.iter("numerusform")] or [translation.text or ""]
        if translation.get("type") in ("unfinished", "vanished", "obsolete") or not all(texts):
            unfinished.append(source)
        for text in texts:
            if sorted(re.findall(r"\{\w+\}|%n", source)) != sorted(re.findall(r"\{\w+\}|%n", text)):
                broken.append(f"{source!r} -> {text!r}")
    assert not unfinished, f"{len(unfinished)} texts without a German translation: {unfinished[:10]}"
    assert not broken, "placeholders lost in translation:\n" + "\n".join(broken)


def test_the_sources_hold_every_text_of_the_code(tmp_path: Path) -> None:
    """lupdate over app/ui finds no text that the shipped .ts lacks (python -m app.ui.i18n update was run)."""
    from app.ui.i18n import _tool

    ts = tmp_path / "fresh.ts"
    sources = sorted(str(p.relative_to(ROOT)) for p in UI.rglob("*.py"))
    subprocess.run([_tool("lupdate"), *sources, "-no-obsolete", "-locations", "none", "-ts", str(ts)],
                   check=True, cwd=ROOT, capture_output=True)
    fresh = {(m.find("source").text, m.find("comment").text if m.find("comment") is not None else None)
             for m in _messages(ts)}
    shipped = {(m.find("source").text, m.find("comment").text if m.find("comment") is not None else None)
               for m in _messages(TRANSLATIONS / "enclave_de.ts")}
    assert fresh <= shipped, f"run python -m app.ui.i18n update: new texts {sorted(s for s, _ in fresh - shipped)[:5]}"


@pytest.mark.parametrize("code", ["en", "de"])
def test_each_compiled_translation_is_built_from_its_source(tmp_path: Path, code: str) -> None:
    from app.ui import i18n

    built = {p.name: p.read_bytes() for p in i18n.build(tmp_path)}
    assert built[f"enclave_{code}.qm"] == (TRANSLATIONS / f"enclave_{code}.qm").read_bytes(), \
        "run python -m app.ui.i18n build"


def test_the_window_speaks_german_when_asked(qtbot, make_app, tmp_path) -> None:
    import json

    from tests.ui.scripted_backend import ScriptedBackend, opener
    from tests.ui.test_chat_flow_scripted import _load

    (tmp_path / "settings.json").write_text(json.dumps({"language": "de"}), encoding="utf-8")
    try:
        parts = make_app(opener(ScriptedBackend([], ["Hallo"])))
        w = parts.window
        assert w.composer.send_button.text() == "Senden"
        assert w.conversation_list.new_button.text() == "Neuer Chat"
        assert w.menuBar().actions()[0].text() == "&Datei"
        assert ("17 GB Arbeitsspeicher auf einem Computer ohne GPU (16 GB, sobald Enclave eine speicherabgebildete "
                "Kopie vorbereitet hat, die weitere 25 GB auf der Festplatte belegt)") in w.first_run.catalog.text()
        _load(qtbot, parts)
        with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
            parts.replies.send("Hallo?")
        reply = w.chat_view.message_widgets()[-1]
        reply.details_button.click()
        assert "1 Token ·" in reply.details.text()  # German plural forms
        assert w.status.context_bar.format().startswith("Kontext")
    finally:
        from PySide6.QtWidgets import QApplication

        from app.ui.i18n import install_translators

        install_translators(QApplication.instance(), "en")  # the rest of the suite reads English
