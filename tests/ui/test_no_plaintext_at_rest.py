"""No user content at rest in plaintext: a whole session in the real window (its own process, HOME, XDG folders and
TMPDIR), then every byte the app wrote is searched for the session's unique words, in UTF-8 and UTF-16."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(900)

# One unique word for each place a user's secret can be: folder and file name, heading, body, chat, title.
WORDS = {
    "folder": "Quagmirevale",
    "file": "Zephyrbrook",
    "heading": "Marrowgate",
    "body": "Thistlequay",
    "chat": "Brindlemoor",
    "title": "Cobaltfen",
}


def _document(folder: Path) -> Path:
    import docx

    path = folder / f"{WORDS['file']}-budget.docx"
    document = docx.Document()
    document.add_heading(f"Project {WORDS['heading']} Budget", level=1)
    document.add_paragraph(f"The {WORDS['body']} programme costs 4.2 million in the third quarter.")
    document.save(path)
    return path


def _variants(word: str) -> list[bytes]:
    texts = {word, word.lower(), word.upper()}
    return [t.encode(encoding) for t in texts for encoding in ("utf-8", "utf-16-le", "utf-16-be")]


def _hits(roots: list[Path], skip: set[Path]) -> dict[str, list[str]]:
    """Which words appear in which files (and in which file or folder names) under `roots`."""
    found: dict[str, list[str]] = {}
    for root in roots:
        for path in root.rglob("*"):
            if any(path == s or s in path.parents for s in skip):
                continue
            for key, word in WORDS.items():
                if word.lower() in path.name.lower():
                    found.setdefault(key, []).append(f"name of {path}")
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                for key, word in WORDS.items():
                    if any(v in data for v in _variants(word)):
                        found.setdefault(key, []).append(str(path))
    return found


def test_a_whole_session_leaves_no_plaintext_behind(tiny_cpu_package: Path, tmp_path: Path) -> None:
    roots = {name: tmp_path / name for name in ("home", "data", "config", "cache", "state", "runtime", "tmp")}
    for folder in roots.values():
        folder.mkdir(mode=0o700)
    documents = tmp_path / "documents" / f"{WORDS['folder']} cases"
    documents.mkdir(parents=True)
    document = _document(documents)
    exports = tmp_path / "exports"
    exports.mkdir()
    export = exports / "chat.md"
    env = dict(os.environ, HOME=str(roots["home"]), XDG_DATA_HOME=str(roots["data"]),
               XDG_CONFIG_HOME=str(roots["config"]), XDG_CACHE_HOME=str(roots["cache"]),
               XDG_STATE_HOME=str(roots["state"]), XDG_RUNTIME_DIR=str(roots["runtime"]), TMPDIR=str(roots["tmp"]),
               TEMP=str(roots["tmp"]), TMP=str(roots["tmp"]), QT_QPA_PLATFORM="offscreen",
               ENCLAVE_PASSPHRASE="granite orchard lullaby", ENCLAVE_POLICY_FILE=str(tmp_path / "no-policy.json"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    chat = f"What does the document say about {WORDS['chat']} and the budget?"
    title = f"{WORDS['title']} budget review"
    run = subprocess.run([sys.executable, "-m", "tests.ui.plaintext_session", str(tiny_cpu_package), str(document),
                          str(export), chat, title], cwd=Path(__file__).resolve().parents[2], env=env,
                         capture_output=True, text=True, timeout=800)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["ok"] and result["citations"] >= 1  # the reply's metadata names the cited file and heading

    history = roots["data"] / "Enclave" / "history.sqlite3"
    assert history.is_file() and history.stat().st_size > 0  # the session was kept, encrypted
    assert (roots["config"] / "QtProject.conf").is_file()  # Qt did save its file-dialog state
    assert (roots["config"] / "Enclave" / "settings.json").is_file()
    # the search sees what it looks for: the Markdown export the user asked for names the file, chat and title
    exported = export.read_bytes()
    assert all(WORDS[k].encode() in exported for k in ("file", "chat", "title"))

    hits = _hits(list(roots.values()), skip={export})
    assert hits == {}, f"plaintext found at rest: {hits}"

    # ...and every word did reach the history, encrypted: the document's text, its name, the cited heading
    from app.storage import HistoryStore

    with HistoryStore.open(history, passphrase="granite orchard lullaby", use_keyring=False) as store:
        [conv] = store.list_conversations()
        assert conv.title == title
        [attachment] = store.list_attachments(conv.id, with_text=True)
        assert WORDS["file"] in attachment.file_name
        assert WORDS["heading"] in attachment.text and WORDS["body"] in attachment.text
        messages = store.get_messages(conv.id)
        assert WORDS["chat"] in messages[0].content
        citations = json.dumps(messages[-1].timings["citations"])
        assert WORDS["file"] in citations and WORDS["heading"] in citations
