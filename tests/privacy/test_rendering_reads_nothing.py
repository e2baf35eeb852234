"""A saved chat full of hostile Markdown and HTML opens without the window touching /dev/zero, /etc/hostname
or a private file: strace of the real window shows no syscall naming them (before the fix, /dev/zero was read
until std::bad_alloc aborted the process, and /etc/hostname was opened 14 times for one image)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.privacy.tracing import private_environment, run_traced
from tests.ui.hostile_content import write_hostile_chat


def test_reopened_hostile_chat_touches_no_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = private_environment(home)
    secret = home / "secret.txt"
    secret.write_text("the user's private notes\n")
    database = home / "history.db"
    os.environ.setdefault("ENCLAVE_PASSPHRASE", env["ENCLAVE_PASSPHRASE"])
    env["ENCLAVE_PASSPHRASE"] = os.environ["ENCLAVE_PASSPHRASE"]
    write_hostile_chat(database, secret)
    driver = Path(__file__).with_name("open_saved_chat.py")
    trace = run_traced([sys.executable, str(driver), str(database), str(home / "settings.json")], home, env=env,
                       timeout=120)
    assert trace.returncode == 0, trace.stderr[-3000:]
    result = json.loads(trace.stdout.strip().splitlines()[-1])
    assert result["messages"] == 3 and "[image: x]" in result["text"]  # the chat really was shown
    for path in ("/dev/zero", "/etc/hostname", str(secret), "secret.txt"):
        assert trace.touching(path) == [], f"the window touched {path}:\n" + "\n".join(trace.touching(path)[:5])
