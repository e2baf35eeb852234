"""A whole session in the real window, run in its own process (its own HOME, XDG folders and TMPDIR) by
test_no_plaintext_at_rest: open a model, attach a document through the file dialog, chat, rename, search,
regenerate, export on purpose, quit. Prints one JSON line of what it saw.

    python -m tests.ui.plaintext_session PACKAGE DOCUMENT EXPORT_PATH CHAT_TEXT TITLE
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        QTimer.singleShot(10, loop.quit)
        loop.exec()


def answer_file_dialog(folder: Path, name: str) -> None:
    """Picks `name` in `folder` in the next file dialog, as a user would (Qt's own dialog, so Qt saves its state)."""
    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            QTimer.singleShot(20, poll)
            return
        dialog.setDirectory(str(folder))
        dialog.findChild(QLineEdit, "fileNameEdit").setText(f'"{name}"')
        dialog.accept()

    QTimer.singleShot(0, poll)


def main(package: str, document: str, export_path: str, chat_text: str, title: str) -> int:
    from app.ui.application import build_app

    from dataclasses import replace

    from app.engine.sampling import SamplingParams

    parts = build_app()  # the default data, config and cache folders: the session's own XDG folders
    window, c, history = parts.window, parts.conversations, parts.history
    seen: dict[str, object] = {}
    ready = []
    parts.opener.opened.connect(ready.append)
    window.show()
    parts.opener.open()
    wait_until(lambda: bool(ready), "the history")
    loaded = []
    parts.models.loaded.connect(loaded.append)
    window.open_model_folder(package)
    wait_until(lambda: bool(loaded), "the model", 300)
    window.use_chat_settings(replace(c.settings(), sampling=SamplingParams(temperature=0.0), max_new_tokens=12))

    doc = Path(document)
    answer_file_dialog(doc.parent, doc.name)
    window._on_attach()
    wait_until(lambda: bool(parts.attachments.items()) and parts.attachments.items()[0].state.value == "ready",
               "the document")

    replies = []
    parts.replies.replyFinished.connect(replies.append)
    parts.replies.send(chat_text)
    wait_until(lambda: len(replies) == 1 and history.pending() == 0, "the first reply")
    seen["citations"] = len(replies[0].citations)

    cid = c.current_id()
    c.rename(cid, title)
    wait_until(lambda: any(conv.title == title for conv in c.summaries()), "the rename")
    c.search(title.split()[0])
    wait_until(lambda: [conv.conversation_id for conv in c.summaries()] == [cid], "the search")
    c.search("")
    wait_until(lambda: history.pending() == 0, "the search to clear")

    parts.replies.regenerate(len(c.messages()) - 1)
    wait_until(lambda: len(replies) == 2 and history.pending() == 0, "the regenerated reply")

    out = Path(export_path)
    answer_file_dialog(out.parent, out.name)
    c.export(cid, "markdown")
    wait_until(lambda: out.exists(), "the export")
    seen["exported_bytes"] = out.stat().st_size

    window.close()
    QApplication.instance().processEvents()
    print(json.dumps({"ok": True, **seen}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
