"""The window's side of trust: "Offline" in the status bar, the passphrase dialog (confirmation, strength), unlocking
after cancelling it, history settings (retention, change passphrase, move the key, delete all), settings the
organisation manages shown locked, and file dialogs that leave no folder behind in QtProject.conf."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import keyring
import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLineEdit, QMessageBox, QPushButton

from app.netguard import network_allowed
from app.storage import HistoryStore, Role
from app.storage.settings import AppSettings
from tests.storage.storage_keyrings import MemoryKeyring
from tests.ui.scripted_backend import ScriptedBackend, opener
from tests.ui.test_chat_flow_scripted import _load

OLD_PASSPHRASE = "the right one"
NEW_PASSPHRASE = "heron quilt mosaic"


_FAILED_IN_DIALOG: list[BaseException] = []


@pytest.fixture(autouse=True)
def _dialog_failures_fail_the_test():
    """An assertion inside a dialog driver closes the dialog (so the test cannot hang) and fails the test here."""
    _FAILED_IN_DIALOG.clear()
    yield
    if _FAILED_IN_DIALOG:
        raise _FAILED_IN_DIALOG[0]


def when(find: Callable[[], object], act: Callable[[object], None], tries: int = 500) -> None:
    """Runs `act(widget)` once `find()` returns a widget: modal dialogs block the test, so it polls from a timer."""
    def poll(left: int = tries) -> None:
        widget = find()
        if widget is None:
            if left:
                QTimer.singleShot(20, lambda: poll(left - 1))
            return
        try:
            act(widget)
        except BaseException as exc:  # noqa: BLE001 - reported by the fixture above
            _FAILED_IN_DIALOG.append(exc)
            widget.close()

    QTimer.singleShot(0, poll)


def modal_of(kind: type) -> Callable[[], object]:
    def find() -> object:
        widget = QApplication.activeModalWidget()
        return widget if isinstance(widget, kind) else None
    return find


def _ok(dialog) -> QPushButton:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def _history(path: Path, passphrase: str = OLD_PASSPHRASE) -> None:
    with HistoryStore.open(path, passphrase=passphrase, use_keyring=False) as store:
        conv = store.create_conversation("Board minutes")
        store.add_message(conv.id, Role.USER, "kept")


def test_status_bar_says_offline_and_follows_network_scopes(qtbot, make_app) -> None:
    parts = make_app(opener(ScriptedBackend([], ["ok"])))
    label = parts.window.status.network_label
    assert label.text() == "Offline"
    assert "refuses every network connection" in label.toolTip()
    assert not parts.window.status.policy_label.isVisibleTo(parts.window)  # no policy, no problems shown
    with network_allowed(["127.0.0.1"], reason="Local API server"):
        qtbot.waitUntil(lambda: label.text() == "Online: Local API server", timeout=5000)
    qtbot.waitUntil(lambda: label.text() == "Offline", timeout=5000)


def test_choosing_a_passphrase_needs_strength_and_confirmation(qtbot, make_app, tmp_path, monkeypatch) -> None:
    from app.ui.widgets.qt_passphrase import QtPassphraseDialog

    monkeypatch.delenv("ENCLAVE_PASSPHRASE")
    db = tmp_path / "new.db"
    seen: dict[str, object] = {}

    def type_passphrases(dialog: QtPassphraseDialog) -> None:
        assert dialog.confirm_edit is not None  # a new history: asked twice
        dialog.edit.setText("short")
        seen["weak"] = (dialog.feedback.text(), _ok(dialog).isEnabled())
        dialog.edit.setText(NEW_PASSPHRASE)
        dialog.confirm_edit.setText(NEW_PASSPHRASE + "x")
        seen["mismatch"] = (dialog.feedback.text(), _ok(dialog).isEnabled())
        dialog.confirm_edit.setText(NEW_PASSPHRASE)
        seen["good"] = (dialog.feedback.text(), _ok(dialog).isEnabled())
        _ok(dialog).click()

    when(modal_of(QtPassphraseDialog), type_passphrases)  # armed first: building the app asks at once
    parts = make_app(opener(ScriptedBackend([], ["ok"])), database=db)
    qtbot.waitUntil(lambda: "good" in seen and db.exists(), timeout=20000)
    assert seen["weak"] == ("The passphrase must be at least 12 characters long; a few unrelated words make a "
                            "strong one.", False)
    assert seen["mismatch"] == ("The two passphrases are not the same.", False)
    assert seen["good"][1] is True and "cannot be recovered" in seen["good"][0]
    qtbot.waitUntil(lambda: parts.history.pending() == 0, timeout=20000)
    parts.shutdown()
    with HistoryStore.open(db, passphrase=NEW_PASSPHRASE) as store:
        assert store.list_conversations() == []


def test_cancelling_the_prompt_leaves_a_way_to_unlock(qtbot, make_app, tmp_path, monkeypatch) -> None:
    from app.ui.widgets.qt_passphrase import QtPassphraseDialog

    monkeypatch.delenv("ENCLAVE_PASSPHRASE")
    db = tmp_path / "locked.db"
    _history(db)
    when(modal_of(QtPassphraseDialog), lambda dialog: dialog.reject())
    parts = make_app(opener(ScriptedBackend([], ["temporary answer"])), database=db)
    w, c = parts.window, parts.conversations
    qtbot.waitUntil(lambda: w.status.history_button.isVisible(), timeout=20000)
    assert w.unlock_action.isVisible() and w.status.history_button.text() == "History locked: Unlock…"
    _load(qtbot, parts)
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):  # chatting still works meanwhile
        parts.replies.send("while locked")
    qtbot.waitUntil(lambda: [conv.title for conv in c.summaries()] == ["while locked"], timeout=10000)

    def unlock(dialog: QtPassphraseDialog) -> None:
        assert dialog.confirm_edit is None  # unlocking: asked once
        dialog.edit.setText(OLD_PASSPHRASE)
        _ok(dialog).click()

    when(modal_of(QtPassphraseDialog), unlock)
    w.status.history_button.click()
    qtbot.waitUntil(lambda: [conv.title for conv in c.summaries()] == ["Board minutes"], timeout=20000)
    assert not w.status.history_button.isVisible() and not w.unlock_action.isVisible()
    assert c.current_id() is None and c.messages() == []  # nothing of the throwaway history carried over


def test_history_settings_retention_passphrase_keyring_and_delete_all(qtbot, make_app, tmp_path,
                                                                     monkeypatch) -> None:
    from app.ui.widgets.qt_history_settings import QtHistorySettings
    from app.ui.widgets.qt_passphrase import QtPassphraseDialog

    monkeypatch.setenv("ENCLAVE_PASSPHRASE", OLD_PASSPHRASE)
    db = tmp_path / "history.db"
    _history(db)
    with HistoryStore.open(db) as store:
        old = store.create_conversation("Untouched for months")
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("UPDATE conversations SET updated = ? WHERE id = ?", (time.time() - 200 * 86400, old.id))
    raw.close()
    parts = make_app(opener(ScriptedBackend([], ["ok"])), database=db)
    w, c = parts.window, parts.conversations
    qtbot.waitUntil(lambda: len(c.summaries()) == 2, timeout=20000)

    def keep_for_90_days(dialog: QtHistorySettings) -> None:
        assert dialog.key_label.text().startswith("Your history is protected by your passphrase")
        assert dialog.change_button.isVisibleTo(dialog) and not dialog.to_passphrase_button.isVisibleTo(dialog)
        dialog.retention_check.setChecked(True)
        dialog.retention_days.setValue(90)
        dialog.accept()

    when(modal_of(QtHistorySettings), keep_for_90_days)
    w.edit_history_settings()
    qtbot.waitUntil(lambda: [conv.title for conv in c.summaries()] == ["Board minutes"], timeout=20000)
    assert AppSettings.load(tmp_path / "settings.json").history_retention_days == 90

    def change(dialog: QtPassphraseDialog) -> None:
        dialog.current_edit.setText(OLD_PASSPHRASE)
        dialog.edit.setText(NEW_PASSPHRASE)
        dialog.confirm_edit.setText(NEW_PASSPHRASE)
        _ok(dialog).click()

    def press(button_name: str, then: Callable[[object], None], kind: type) -> Callable[[object], None]:
        def act(dialog: QtHistorySettings) -> None:
            when(modal_of(kind), lambda inner: (then(inner), QTimer.singleShot(0, dialog.reject)))
            dialog.findChild(QPushButton, button_name).click()
        return act

    done = []
    w.status.messageChanged.connect(done.append)
    when(modal_of(QtHistorySettings), press("changePassphrase", change, QtPassphraseDialog))
    w.edit_history_settings()
    qtbot.waitUntil(lambda: any("passphrase was changed" in m for m in done), timeout=20000)

    memory = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(memory)
    try:
        def to_keyring(dialog: QtPassphraseDialog) -> None:
            dialog.edit.setText(NEW_PASSPHRASE)
            _ok(dialog).click()

        when(modal_of(QtHistorySettings), press("useKeyring", to_keyring, QtPassphraseDialog))
        w.edit_history_settings()
        qtbot.waitUntil(lambda: any("now kept in the OS keyring" in m for m in done), timeout=20000)
        assert len(memory.secrets) == 1

        when(modal_of(QtHistorySettings),
             press("deleteAllHistory", lambda box: box.button(QMessageBox.StandardButton.Yes).click(), QMessageBox))
        w.edit_history_settings()
        qtbot.waitUntil(lambda: any("were deleted" in m for m in done), timeout=20000)
        qtbot.waitUntil(lambda: c.summaries() == [] and parts.history.pending() == 0, timeout=20000)
        assert len(memory.secrets) == 1  # the old key is gone; the new, empty history has its own
        with qtbot.waitSignal(c.conversationsChanged, timeout=10000):
            c.refresh()
        assert c.summaries() == []
    finally:
        parts.shutdown()
        keyring.set_keyring(previous)


def test_managed_settings_are_locked(qtbot, make_app, enterprise_policy, tmp_path) -> None:
    from app.ui.widgets.qt_history_settings import QtHistorySettings
    from app.ui.widgets.qt_preferences import QtPreferences

    enterprise_policy({"ChatExportAllowed": False, "MaxDocumentSizeMB": 5, "HistoryRetentionDays": 30,
                       "Proxy": "proxy.corp.example", "DownloadsAllowed": False})
    parts = make_app(opener(ScriptedBackend([], ["ok"])))
    w, c, attachments = parts.window, parts.conversations, parts.attachments
    assert w.status.policy_label.isVisibleTo(w) and w.status.policy_label.text() == "Organization policy: 1 problem"
    assert "Policy key Proxy in " in w.status.policy_label.toolTip()  # a malformed policy is not silent
    assert attachments.limits().max_file_bytes == 5 * 1024 * 1024
    seen: dict[str, object] = {}

    def look_at_preferences(dialog: QtPreferences) -> None:
        from PySide6.QtWidgets import QFormLayout

        form = next(f for f in dialog.findChildren(QFormLayout) if f.labelForField(dialog.max_file_mb) is not None)
        seen["prefs"] = (dialog.max_file_mb.value(), dialog.max_file_mb.isEnabled(),
                         form.labelForField(dialog.max_file_mb).text())
        dialog.accept()

    when(modal_of(QtPreferences), look_at_preferences)
    w.edit_preferences()
    assert seen["prefs"] == (5, False, "Largest document (managed by your organization)")
    assert attachments.limits().max_file_bytes == 5 * 1024 * 1024  # accepting keeps the organisation's limit
    assert AppSettings.load(tmp_path / "settings.json").document_limits.max_file_bytes == 100 * 1024 * 1024

    def look_at_history(dialog: QtHistorySettings) -> None:
        seen["history"] = (dialog.retention_check.isChecked(), dialog.retention_days.value(),
                           dialog.retention_check.isEnabled(), dialog.retention_days.isEnabled(),
                           dialog.retention_managed.text(), dialog.retention_managed.isVisibleTo(dialog))
        dialog.accept()

    when(modal_of(QtHistorySettings), look_at_history)
    w.edit_history_settings()
    qtbot.waitUntil(lambda: "history" in seen, timeout=20000)
    assert seen["history"] == (True, 30, False, False, "Managed by your organization", True)

    w.show_library()
    library = w.library_window
    assert library.download_button.text() == "Download (managed by your organization)"
    assert not library.download_button.isEnabled() and not library.catalog_choice.isEnabled()
    assert "does not allow downloading" in library.download_button.toolTip()
    assert library.import_button.isEnabled()  # a model IT copied from a USB drive can still be imported
    library.close()

    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (6 * 1024 * 1024))
    attachments.add_files([str(big)])
    qtbot.waitUntil(lambda: attachments.items() and attachments.items()[0].state.value == "error", timeout=20000)
    assert "big.txt" in attachments.items()[0].message
    attachments.remove(attachments.items()[0].key)

    _load(qtbot, parts)
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=10000):
        parts.replies.send("hello")
    qtbot.waitUntil(lambda: len(c.summaries()) == 1, timeout=10000)
    row = w.conversation_list.row_of(c.summaries()[0].conversation_id)  # the list's first row is its date heading
    w.conversation_list.list.setCurrentItem(row)
    item_rect = w.conversation_list.list.visualItemRect(row)

    def look_at_menu(menu) -> None:
        seen["menu"] = {a.text(): a.isEnabled() for a in menu.actions() if a.text()}
        menu.close()

    when(QApplication.activePopupWidget, look_at_menu)
    w.conversation_list._on_menu(item_rect.center())
    assert seen["menu"]["Export as Markdown (managed by your organization)"] is False
    assert seen["menu"]["Export as JSON (managed by your organization)"] is False
    assert seen["menu"]["Rename"] is True  # renamed in place, no dialog


def test_require_os_keyring_locks_moving_the_key_to_a_passphrase(qtbot, make_app, enterprise_policy,
                                                                  tmp_path) -> None:
    from app.ui.widgets.qt_history_settings import QtHistorySettings

    enterprise_policy({"RequireOsKeyring": True})
    memory = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(memory)
    try:
        db = tmp_path / "history.db"
        with HistoryStore.open(db) as store:  # the key goes to the (memory) OS keyring
            store.create_conversation("Board minutes")
        assert len(memory.secrets) == 1
        parts = make_app(opener(ScriptedBackend([], ["ok"])), database=db)
        qtbot.waitUntil(lambda: len(parts.conversations.summaries()) == 1, timeout=20000)
        seen: dict[str, object] = {}

        def look(dialog: QtHistorySettings) -> None:
            button = dialog.to_passphrase_button
            seen["key"] = (dialog.key_label.text().startswith("The key that encrypts your history is kept in the OS"),
                           button.isVisibleTo(dialog), button.isEnabled(), button.toolTip(),
                           dialog.key_managed.text(), dialog.key_managed.isVisibleTo(dialog))
            dialog.accept()

        when(modal_of(QtHistorySettings), look)
        parts.window.edit_history_settings()
        qtbot.waitUntil(lambda: "key" in seen, timeout=20000)
        assert seen["key"] == (True, True, False, "Managed by your organization", "Managed by your organization",
                               True)
    finally:
        keyring.set_keyring(previous)


def test_file_dialogs_leave_no_folder_in_qtproject_settings(qtbot, make_app, tmp_path) -> None:
    settings_dir = tmp_path / "qt-settings"
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(settings_dir))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings_dir))
    other_app = QSettings(QSettings.Scope.UserScope, "QtProject")
    other_app.setValue("FileDialog/history", ["file:///srv/another-apps-folder"])
    other_app.sync()
    conf = Path(other_app.fileName())
    assert conf.is_relative_to(settings_dir)
    del other_app
    folder = tmp_path / "Cases Smith-Quartermaine divorce"
    folder.mkdir()
    (folder / "budget.txt").write_text("Alimony budget: 1200 a month.")
    parts = make_app(opener(ScriptedBackend([], ["ok"])))

    def pick(dialog) -> None:
        dialog.setDirectory(str(folder))
        dialog.findChild(QLineEdit, "fileNameEdit").setText('"budget.txt"')
        dialog.accept()

    from PySide6.QtWidgets import QFileDialog

    when(modal_of(QFileDialog), pick)
    parts.window._on_attach()
    qtbot.waitUntil(lambda: parts.attachments.items()
                    and parts.attachments.items()[0].state.value == "ready", timeout=20000)
    assert parts.attachments.items()[0].name == "budget.txt"
    text = conf.read_text(encoding="utf-8")
    assert "Smith-Quartermaine" not in text and "Cases" not in text
    assert "another-apps-folder" in text  # other Qt programs' history is put back as it was
    assert "lastVisited" not in text
