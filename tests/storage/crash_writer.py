"""Child process for test_history_crash: streams a reply into the store until the parent kills it.

Prints "ready <conversation> <message>" once, then "committed <i>" after each committed update, so the
parent can kill it at a known point without sleeping. Uses the passphrase path (ENCLAVE_PASSPHRASE) and
never the OS keyring.
"""

from __future__ import annotations

import sys

import keyring
import keyring.backends.fail

from app.storage import HistoryStore, Role

MAX_UPDATES = 5000  # a bound in case the parent never kills us


def main(db_path: str) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    store = HistoryStore.open(db_path)
    conv = store.create_conversation("Crash test")
    store.add_message(conv.id, Role.USER, "Tell me a long story.")
    reply = store.begin_assistant_message(conv.id)
    print(f"ready {conv.id} {reply.id}", flush=True)
    content = ""
    for i in range(MAX_UPDATES):
        content += f"chunk{i} "
        store.update_streaming_content(reply.id, content, reasoning=f"thinking {i}")
        print(f"committed {i}", flush=True)
    sys.stdin.read()  # wait to be killed


if __name__ == "__main__":
    main(sys.argv[1])
