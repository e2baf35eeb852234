"""Screenshots of the window's main states, for the documentation and for review: `python -m app.ui.screenshots OUT`.

Drives the real window (real widgets, real encrypted history in a temporary folder, real document reading)
through each state a user meets, and saves one PNG per state. The model is a scripted stand-in that streams
a written answer at a plausible speed, so the pictures show what a reply looks like rather than a random-weight
model's gibberish. Fails (exit 1) on any Qt warning, so a layout or style-sheet mistake breaks CI.

The offscreen platform (what CI uses) implements neither window size hints nor raising a window, and says so; those
two lines are the platform plugin's limitations, not the app's, and are the only messages not counted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

STATES = ("first-run", "chatting", "reasoning", "documents", "library", "preferences", "error", "dark")
_PLATFORM_LIMITATIONS = ("This plugin does not support propagateSizeHints()", "This plugin does not support raise()")

QUESTION = "Summarise the termination clause of the lease in two sentences."
REASONING = ("The user wants a short summary of the termination clause. The lease says either party may end it "
             "with three months' written notice, and the tenant may leave early if the premises become unusable. "
             "Two sentences, cite the clause.")
ANSWER = ("Either party may end the lease with **three months' written notice**, served on the last day of a month "
          "[1]. The tenant may also terminate early, without penalty, if the premises become unusable for more "
          "than 30 days [1].")
CHAT_QUESTION = "How do I read a CSV file in Python and sum one column?"
CHAT_ANSWER = ("Use the standard library's `csv` module; it handles quoting and commas inside fields for you:\n\n"
               "```python\nimport csv\n\ntotal = 0.0\nwith open(\"sales.csv\", newline=\"\") as f:\n"
               "    for row in csv.DictReader(f):\n        total += float(row[\"amount\"])\nprint(total)\n```\n\n"
               "`DictReader` uses the first line as the column names. For large files this reads one row at a "
               "time, so memory stays flat.")
LEASE = ("LEASE AGREEMENT\n\n1. Parties. This lease is made between Northwind Properties Ltd (the landlord) and "
         "Contoso Legal LLP (the tenant).\n\n7. Termination. Either party may terminate this lease by giving three "
         "months' written notice, served on the last day of a calendar month. The tenant may terminate early and "
         "without penalty if the premises are unusable for more than 30 consecutive days.\n\n8. Deposit. The "
         "deposit is returned within 30 days of the end of the lease.\n")
OLDER_CHATS = (("Quarterly budget review", 0), ("Draft reply to the auditors", 1), ("Board minutes, March", 3),
               ("Travel policy questions", 12), ("Contract renewal checklist", 45))


class DemoBackend:
    """Streams a written reply like the engine does (same events), for pictures of the window."""

    def __init__(self) -> None:
        from app.engine.events import ModelInfo

        self.info = ModelInfo(name="gpt-oss-20b", path="demo", provider="CPUExecutionProvider",
                              provider_reason="no supported GPU on this computer", context_length=32768,
                              target="cpu-int4", load_seconds=4.2, peak_rss_bytes=int(12.6 * 2**30),
                              verification="passed: The cpu-int4 package computes what its checkpoint means on CPU.")
        self.script: list[tuple[str, str]] = []  # (reasoning, answer) for the next replies
        self.citations: tuple = ()
        self.fail_with: str | None = None

    def reply(self, request) -> Iterator:
        from app.engine.events import Channel, FinishReason, GenerationEvent

        reasoning, answer = self.script.pop(0) if self.script else ("", "OK.")
        if self.citations and request.documents:
            yield GenerationEvent(citations=self.citations)
        pieces = [(Channel.ANALYSIS, w) for w in _words(reasoning)] + [(Channel.FINAL, w) for w in _words(answer)]
        prompt = 412 + 9 * len(request.history)
        for count, (channel, text) in enumerate(pieces, start=1):
            time.sleep(0.06 if channel is Channel.ANALYSIS else 0.01)  # on the engine thread, as a model would take
            yield GenerationEvent(token_ids=(count,), text=text, channel=channel, prompt_tokens=prompt,
                                  new_tokens=count, ttft_s=0.38, decode_tok_s=21.7)
        if self.fail_with:
            yield GenerationEvent(finish_reason=FinishReason.ERROR, error=self.fail_with, new_tokens=len(pieces),
                                  prompt_tokens=prompt)
            return
        yield GenerationEvent(finish_reason=FinishReason.STOP, new_tokens=len(pieces), prompt_tokens=prompt,
                              ttft_s=0.38, decode_tok_s=21.7)

    def close(self) -> None:
        pass


def _words(text: str) -> list[str]:
    out, word = [], ""
    for ch in text:
        word += ch
        if ch == " ":
            out.append(word)
            word = ""
    return out + ([word] if word else [])


def _seed_library(work: Path) -> None:
    """One real (random-weight, tiny) package in the library, so the Models window has an entry to show."""
    from app.checkpoint.random_checkpoint import PRESETS, write_test_model
    from app.export.exporter import export_model
    from app.library.library import Library

    checkpoint = write_test_model(work / "gpt-oss-tiny", PRESETS["tiny"])
    package = work / "gpt-oss-tiny-cpu"
    export_model(checkpoint, package, "cpu")
    Library().import_folder(package, copy=False)


def _seed_history(database: Path, passphrase: str) -> None:
    """Earlier chats from the last weeks, so the sidebar shows its date groups."""
    import sqlite3

    from app.storage.models import MessageStatus, Role
    from app.storage.store import HistoryStore

    now = time.time()
    with HistoryStore.open(database, passphrase=passphrase, use_keyring=False) as store:
        ages = {}
        for title, days in OLDER_CHATS:
            conv = store.create_conversation(title)
            store.add_message(conv.id, Role.USER, title)
            reply = store.begin_assistant_message(conv.id)
            store.finish_message(reply.id, MessageStatus.COMPLETE, content="…")
            ages[conv.id] = now - days * 86400 - 3600
    conn = sqlite3.connect(database)
    conn.executemany("UPDATE conversations SET updated = ? WHERE id = ?", [(t, cid) for cid, t in ages.items()])
    conn.commit()
    conn.close()


class Shooter:
    def __init__(self, out: Path, dark: bool = False) -> None:
        self.out = out
        self.warnings: list[str] = []
        self.saved: list[Path] = []

    def install_message_handler(self) -> None:
        from PySide6.QtCore import QtMsgType, qInstallMessageHandler

        def handler(kind, _context, message: str) -> None:
            if kind in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg) and \
                    message not in _PLATFORM_LIMITATIONS:
                self.warnings.append(message)
                print(f"Qt warning: {message}", file=sys.stderr)

        qInstallMessageHandler(handler)

    def save(self, widget, name: str) -> None:
        from PySide6.QtGui import QImage

        settle()
        image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
        path = self.out / f"{name}.png"
        if not image.save(str(path), "PNG", 0):  # 0: the smallest file (slowest compression)
            raise RuntimeError(f"could not write {path}")
        self.saved.append(path)


def settle(rounds: int = 6) -> None:
    from PySide6.QtWidgets import QApplication

    for _ in range(rounds):
        QApplication.processEvents()
        time.sleep(0.02)


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"screenshots: {what} did not happen within {timeout_s:.0f} s")
        QApplication.processEvents()
        time.sleep(0.01)
    settle()


def run(out: Path, states: tuple[str, ...] = STATES) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    out.mkdir(parents=True, exist_ok=True)
    shooter = Shooter(out)
    shooter.install_message_handler()
    from app.documents.grounding import Citation
    from app.engine.sampling import SamplingParams
    from app.ui.application import build_app
    from app.ui.i18n import translate
    from app.ui.theme import ThemeChoice

    work = Path(tempfile.mkdtemp(prefix="enclave-screenshots-"))
    os.environ["ENCLAVE_LIBRARY"] = str(work / "library")  # never the user's own library
    passphrase = "screenshots-only-passphrase"
    os.environ["ENCLAVE_PASSPHRASE"] = passphrase
    _seed_history(work / "history.db", passphrase)
    if "library" in states:
        _seed_library(work)
    (work / "settings.json").write_text('{"theme": "light"}', encoding="utf-8")
    demo = DemoBackend()
    package = work / "gpt-oss-20b-cpu-int4"
    package.mkdir()
    (package / "manifest.json").write_text("{}", encoding="utf-8")
    parts = build_app(database=work / "history.db", settings_path=work / "settings.json",
                      open_model=lambda path, progress, engine=None: _opened(demo, progress),
                      export_model=lambda request, progress: request.output, use_keyring=False)
    window = parts.window
    window.set_data_folder(work)
    window.resize(1240, 800)
    window.show()
    parts.opener.open()
    wait_for(lambda: bool(window.conversation_list.titles()), "the history to open")
    window.banner.dismiss()  # the throwaway history's passphrase warning: shown in its own state below

    def idle() -> bool:
        return parts.history.pending() == 0 and not parts.replies.busy()

    def send(text: str, reasoning: str, answer: str) -> None:
        demo.script.append((reasoning, answer))
        window.composer.set_text(text)
        window.composer.send_button.click()
        wait_for(lambda: idle() and bool(window.chat_view.message_widgets()), f"the reply to {text!r}")
        window.chat_view.flush()

    try:
        if "first-run" in states:
            shooter.save(window, "first-run")
        window.open_model_folder(str(package))
        wait_for(lambda: parts.models.info() is not None, "the model to load")
        window.use_chat_settings(replace(parts.conversations.settings(), reasoning_effort="low",
                                         sampling=SamplingParams(temperature=1.0)))
        send(CHAT_QUESTION, "The user wants to sum a CSV column. csv.DictReader is the simplest answer.", CHAT_ANSWER)
        if "chatting" in states:
            shooter.save(window, "chatting")
        if "reasoning" in states:
            reply = window.chat_view.message_widgets()[-1]
            reply.thought_toggle.click()
            reply.details_button.click()
            shooter.save(window, "reasoning")
            reply.thought_toggle.click()
            reply.details_button.click()
        if "dark" in states:
            window._on_theme(ThemeChoice.DARK)
            shooter.save(window, "dark")
            window._on_theme(ThemeChoice.LIGHT)
        if "documents" in states:
            window.new_action.trigger()
            lease = work / "lease-northwind.txt"
            lease.write_text(LEASE, encoding="utf-8")
            window._attachments.add_files([str(lease)])
            wait_for(lambda: not parts.attachments.reading() and bool(parts.attachments.documents()),
                     "the lease to be read")
            start = LEASE.index("7. Termination")
            demo.citations = (Citation(marker=1, label="lease-northwind.txt › 7. Termination", doc_index=0,
                                       file_name=lease.name, section_index=0, section_label="", page=None,
                                       chunk_ids=(), start=start, end=LEASE.index("8. Deposit")),)
            send(QUESTION, REASONING, ANSWER)
            shooter.save(window, "documents")
            demo.citations = ()
        if "library" in states:
            window.show_library()
            library = window.library_window
            library.resize(980, 420)
            library.select(library.entries[0].name if library.entries else "")
            shooter.save(library, "library")
            library.close()
        if "preferences" in states:
            from app.ui.widgets.qt_preferences import QtPreferences

            dialog = QtPreferences(window.preferences(), window.data_folders(), window)
            dialog.pages_list.setCurrentRow(1)
            dialog.resize(760, 560)
            dialog.show()
            shooter.save(dialog, "preferences")
            dialog.pages_list.setCurrentRow(4)
            shooter.save(dialog, "preferences-data")
            dialog.close()
        if "error" in states:
            window.new_action.trigger()
            broken = work / "scan-2019.pdf"
            broken.write_bytes(b"%PDF-1.4\n" + b"\x00garbled" * 200)
            window._attachments.add_files([str(broken)])
            wait_for(lambda: not parts.attachments.reading(), "the damaged PDF to be refused")
            demo.fail_with = ("The prompt has 40,212 tokens but the context holds 32,768; remove a document or start "
                              "a new chat.")
            send("Compare the two contracts clause by clause.", "", "")
            demo.fail_with = None
            window.banner.show_message(translate(
                "MainWindow", "No OS keyring is available, so your conversation history is protected only by a passphrase you "
                "choose: anyone with a copy of the file can try to guess it, and a forgotten passphrase cannot be "
                "recovered."))
            shooter.save(window, "error")
    finally:
        window.close()
        parts.shutdown()
        shutil.rmtree(work, ignore_errors=True)  # the seeded history, library and test model (~300 MB)
    if shooter.warnings:
        print(f"screenshots: {len(shooter.warnings)} Qt warning(s); see above", file=sys.stderr)
        return 1
    for path in shooter.saved:
        print(path)
    return 0


def _opened(demo: DemoBackend, progress) -> DemoBackend:
    from app.engine.events import LoadProgress

    progress(LoadProgress("Loading weights on CPU", 0.5))
    return demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.ui.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files (packaging/screenshots in the repository)")
    parser.add_argument("--only", nargs="+", choices=STATES, help="just these states")
    args = parser.parse_args(argv)
    from app import netguard

    netguard.install()  # as `enclave gui` does: the pictures show the status bar the user sees ("Offline")
    return run(args.out, tuple(args.only or STATES))


if __name__ == "__main__":
    sys.exit(main())
