"""Hostile strings for the rendering tests, a saved chat that holds all of them, and a file-open watcher.

Each payload is something a model reply, a document or a file name can really contain. `write_hostile_chat`
stores them the way the app does (real HistoryStore, encrypted): a conversation whose title, messages, error
text, citations and attached document all carry them. `OpenWatch` proves a file was never opened or read by
asking the kernel (inotify), not the code under test.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from pathlib import Path

from app.documents.model import Document, DocumentMetadata, Section

MARK = "PAID"  # every payload that would restyle the window shows this word


def payloads(secret: Path, *, devices: bool = True) -> list[str]:
    """Markdown and HTML a reply or a document may hold; `secret` is a file that must never be read.

    `devices=False` leaves out /dev/zero, for tests in the pytest process itself: a regression would read it
    until the machine runs out of memory (the subprocess test caps its own address space instead)."""
    zero = "/dev/zero" if devices else str(secret)
    return [
        f"![x]({zero})",
        "![x](/etc/hostname)",
        f"![x]({secret})",
        f"![x](file://{secret})",
        "![x](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==)",
        "![x](qrc:/qt-project.org/styles/commonstyle/images/file-16.png)",
        "![x](http://198.51.100.7/pixel.png)",
        f"[open me](file://{secret})",
        "[run me](javascript:alert(1))",
        "[data](data:text/html;base64,PGgxPlBBSUQ8L2gxPg==)",
        "[resource](qrc:/qt-project.org/qmessagebox/images/qtlogo-64.png)",
        "[web](https://198.51.100.7/collect?x=1)",
        f"<img src=\"{secret}\">",
        f"<h1 style=font-size:60px><font color=red>{MARK}<img src=secret.txt></font></h1>",
        f"<div style=\"font-size:80px; background-image:url({secret})\">{MARK}</div>",
        f"<style>* {{ font-size: 90px; }}</style><link rel=stylesheet href=\"{secret}\">",
        f"<table background=\"{secret}\"><tr><td background=\"{zero}\">{MARK}</td></tr></table>",
    ]


def hostile_name() -> str:
    """The attachment name of the issue: a large red PAID that also tries to load `secret.txt`."""
    return f"<h1 style=font-size:60px><font color=red>{MARK}<img src=secret.txt>.txt"


def hostile_document(secret: Path, *, devices: bool = True) -> Document:
    text = "\n\n".join(payloads(secret, devices=devices))
    return Document(name=hostile_name(), type="txt", sections=(Section("text", "", text),),
                    metadata=DocumentMetadata(size_bytes=len(text), chars=len(text)))


def write_hostile_chat(database: Path, secret: Path, *, devices: bool = True) -> int:
    """A saved conversation carrying every payload; returns its id."""
    from app.storage.models import MessageStatus, Role
    from app.storage.store import HistoryStore

    text = "\n\n".join(payloads(secret, devices=devices))
    citation = {"marker": 1, "label": hostile_name(), "doc_index": 0, "file_name": hostile_name(),
                "section_index": 0, "section_label": hostile_name(), "page": None, "chunk_ids": [], "start": 0,
                "end": 10}
    with HistoryStore.open(database, passphrase=os.environ["ENCLAVE_PASSPHRASE"], use_keyring=False) as store:
        conv = store.create_conversation(hostile_name())
        store.add_message(conv.id, Role.USER, text)
        reply = store.begin_assistant_message(conv.id)
        store.finish_message(reply.id, MessageStatus.COMPLETE, content=text, reasoning=text,
                             timings={"citations": [citation], "finish_reason": "stop"})
        failed = store.begin_assistant_message(conv.id)
        store.finish_message(failed.id, MessageStatus.ERROR, content="", error=hostile_name())
        doc = hostile_document(secret, devices=devices)
        store.add_attachment(conv.id, doc.name, "txt", text=json.dumps(doc.to_dict()), size=len(text),
                             metadata={"pages": None, "tokens": 42})
        return conv.id


class OpenWatch:
    """Counts opens and reads of one file, from the kernel (inotify); Linux only."""

    IN_ACCESS, IN_OPEN = 0x1, 0x20

    def __init__(self, path: Path) -> None:
        if not sys.platform.startswith("linux"):
            raise OSError("inotify is Linux-only")
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        if self._libc.inotify_add_watch(self._fd, str(path).encode(), self.IN_ACCESS | self.IN_OPEN) < 0:
            raise OSError(ctypes.get_errno(), f"cannot watch {path}")
        self.events = 0

    def count(self) -> int:
        """Events so far (each event record is 16 bytes plus an empty name for a watched file)."""
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return self.events
            self.events += len(data) // 16

    def close(self) -> None:
        os.close(self._fd)
