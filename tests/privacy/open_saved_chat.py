"""Opens the real window on a history database, shows its first conversation, paints it, prints one JSON line.

Run as a script by tests/privacy/test_rendering_reads_nothing.py under strace:
    python open_saved_chat.py HISTORY.db SETTINGS.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


MEMORY_CAP = 4 * 2**30  # a regression reading /dev/zero ends in bad_alloc here, not in the machine's OOM killer


def main(database: Path, settings: Path) -> int:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    from PySide6.QtCore import QTimer

    from app.ui.application import build_app

    parts = build_app(database=database, settings_path=settings, use_keyring=False)
    window = parts.window
    result: dict[str, object] = {}

    def listed(summaries, _current) -> None:
        if summaries and not result:
            result["conversations"] = len(summaries)
            parts.conversations.select(summaries[0].conversation_id)

    def reset(messages) -> None:
        if messages and "messages" not in result:
            QTimer.singleShot(0, shown)

    def shown() -> None:
        window.chat_view.flush()
        window.pages.setCurrentIndex(1)  # the chat page, as with a model open
        for widget in window.chat_view.message_widgets():
            widget.thought_toggle.setChecked(True)
        window.resize(1000, 800)
        window.grab()
        result["messages"] = len(window.chat_view.message_widgets())
        result["text"] = "\n".join(w.body.toPlainText() for w in window.chat_view.message_widgets())
        print(json.dumps(result), flush=True)
        window.close()
        parts.app.exit(0)

    parts.conversations.conversationsChanged.connect(listed)
    parts.conversations.messagesReset.connect(reset)
    QTimer.singleShot(60000, lambda: parts.app.exit(3))
    window.show()
    parts.opener.open()
    return parts.app.exec()


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2])))
