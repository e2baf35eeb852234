"""Keyboard and screen reader: Tab reaches every control of the window, each one shows that it has focus, and each
one has a name a screen reader can say (read through Qt's accessibility interface, as a screen reader would)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QImage
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QPlainTextEdit,
    QTextBrowser, QWidget,
)

from tests.ui.scripted_backend import ScriptedBackend, opener
from tests.ui.test_chat_flow_scripted import _idle, _load
from tests.ui.test_window_behaviour import _drop

CONTROLS = (QAbstractButton, QLineEdit, QPlainTextEdit, QComboBox, QAbstractSpinBox, QAbstractItemView, QTextBrowser)


def accessible_name(widget: QWidget) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(QAccessible.Text.Name).strip() if interface is not None else ""


def tab_chain(qtbot, start: QWidget, limit: int = 400) -> list[QWidget]:
    """The widgets Tab visits from `start` until it comes back round (each once, in order)."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    QApplication.processEvents()
    chain: list[QWidget] = []
    for _ in range(limit):
        current = QApplication.focusWidget()
        if current is None:
            break
        if current not in chain:
            chain.append(current)
        elif current is start and len(chain) > 1:
            return chain
        qtbot.keyClick(current, Qt.Key.Key_Tab)
    return chain


def controls(root: QWidget) -> list[QWidget]:
    """Every visible, enabled control a user can operate in `root`."""
    found = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, CONTROLS) and widget.isVisible() and widget.isEnabled() \
                and widget.focusPolicy() != Qt.FocusPolicy.NoFocus and widget.window() is root:
            if isinstance(widget, QLineEdit) and isinstance(widget.parent(), (QComboBox, QAbstractSpinBox)):
                continue  # the editor inside a combo or spin box is the same control
            found.append(widget)
    return found


def shows_focus(qtbot, widget: QWidget, elsewhere: QWidget) -> bool:
    """The widget looks different with keyboard focus than without it."""
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    QApplication.processEvents()
    focused: QImage = widget.grab().toImage()
    elsewhere.setFocus(Qt.FocusReason.TabFocusReason)
    QApplication.processEvents()
    return focused != widget.grab().toImage()


def _busy_window(qtbot, make_app, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("The depot opens at 7.\n", encoding="utf-8")
    parts = make_app(opener(ScriptedBackend(["Looking at the notes."], ["It opens at **7**."])))
    _load(qtbot, parts)
    w = parts.window
    w.settings_action.setChecked(True)  # the chat settings panel too
    w.dropEvent(_drop([notes]))
    qtbot.waitUntil(lambda: not parts.attachments.reading(), timeout=60000)
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        parts.replies.send("When does the depot open?")
    _idle(qtbot, parts)
    w.chat_view.flush()
    w.resize(1300, 900)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    return parts


def test_tab_reaches_every_control_and_each_has_a_name(qtbot, make_app, tmp_path) -> None:
    parts = _busy_window(qtbot, make_app, tmp_path)
    w = parts.window
    chain = tab_chain(qtbot, w.conversation_list.new_button)
    reachable = controls(w)
    missing = [f"{type(c).__name__} {c.objectName() or accessible_name(c) or c.toolTip()!r}" for c in reachable
               if c not in chain]
    assert not missing, f"not reachable with Tab: {missing}"
    nameless = [f"{type(c).__name__} {c.objectName()!r}" for c in chain if not accessible_name(c)]
    assert not nameless, f"no accessible name: {nameless}"
    # the chat's own parts are in the order a user reads them: sidebar, model bar, chat, composer, settings panel
    order = [chain.index(x) for x in (w.conversation_list.search, w.model_picker,
                                      w.chat_view.message_widgets()[1].body, w.composer.edit,
                                      w.chat_settings.system_prompt)]
    assert order == sorted(order), order


def test_every_control_shows_when_it_has_keyboard_focus(qtbot, make_app, tmp_path) -> None:
    parts = _busy_window(qtbot, make_app, tmp_path)
    w = parts.window
    anchor = w.composer.edit
    invisible = [f"{type(c).__name__} {c.objectName() or accessible_name(c)!r}" for c in controls(w)
                 if c is not anchor and not shows_focus(qtbot, c, anchor)]
    assert not invisible, f"focus not visible on: {invisible}"


def test_preferences_and_models_window_are_keyboard_reachable_and_named(qtbot, make_app, tmp_path) -> None:
    from app.ui.widgets.qt_preferences import QtPreferences

    parts = make_app(opener(ScriptedBackend([], ["ok"])))
    w = parts.window
    dialog = QtPreferences(w.preferences(), w.data_folders(), w)
    qtbot.addWidget(dialog)
    for page in range(dialog.pages.count()):
        dialog.pages_list.setCurrentRow(page)
        dialog.show()
        dialog.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=5000)
        chain = tab_chain(qtbot, dialog.pages_list)
        missing = [f"page {page}: {type(c).__name__} {accessible_name(c)!r}" for c in controls(dialog)
                   if c not in chain]
        assert not missing, missing
        nameless = [f"page {page}: {type(c).__name__} {c.objectName()!r}" for c in chain if not accessible_name(c)]
        assert not nameless, nameless
    dialog.close()
    w.show_library()
    library = w.library_window
    library.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is library, timeout=5000)
    chain = tab_chain(qtbot, library.table)
    assert all(accessible_name(c) for c in chain), [type(c).__name__ for c in chain if not accessible_name(c)]
    assert not [c for c in controls(library) if c not in chain]


def test_every_menu_command_has_a_key(qtbot, make_app) -> None:
    """Each menu and each command in it can be reached from the keyboard: a mnemonic (Alt+letter) or a shortcut."""
    parts = make_app(opener(ScriptedBackend([], ["ok"])))
    bar = parts.window.menuBar()
    for menu_action in bar.actions():
        assert "&" in menu_action.text(), menu_action.text()
        for action in menu_action.menu().actions():
            if action.isSeparator():
                continue
            if action.menu() is not None:
                assert "&" in action.text(), action.text()
                continue
            assert "&" in action.text() or not action.shortcut().isEmpty() or action.actionGroup() is not None, \
                action.text()
