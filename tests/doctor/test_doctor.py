"""`enclave doctor` in a fresh process with its own home: what it reports about a real history, the guard and the
policy, without unlocking anything or importing onnxruntime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keyring
import keyring.backends.fail

from app.storage import HistoryStore, Role

PROBE = ("import json, sys\n"
         "from app.cli.main import main\n"
         "main(['doctor', *sys.argv[1:]])\n"
         "print('onnxruntime imported:', 'onnxruntime' in sys.modules)\n")


def _doctor(tmp_path: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ENCLAVE_PASSPHRASE"}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), ENCLAVE_POLICY_FILE=str(tmp_path / "policy.json"),
               TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir(exist_ok=True)
    run = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    return run.stdout


def test_doctor_reports_the_history_encryption_guard_and_policy(tmp_path: Path) -> None:
    history = tmp_path / "data" / "Enclave" / "history.sqlite3"
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        with HistoryStore.open(history, passphrase="lichen harbour velvet") as store:
            store.add_message(store.create_conversation("Osprey").id, Role.USER, "kept secret")
    finally:
        keyring.set_keyring(previous)
    (tmp_path / "policy.json").write_text(json.dumps({"ChatExportAllowed": False, "Proxy": "nope"}))

    out = _doctor(tmp_path, "--json")
    data = json.loads(out[:out.rindex("}") + 1])
    assert out.strip().endswith("onnxruntime imported: False")
    assert data["packages"]["onnxruntime"] and data["packages"]["sqlite"]
    info = data["data"]["history"]
    assert info["path"] == str(history) and info["exists"] and info["schema"] == 3 and info["bytes"] > 0
    assert info["key"] == {"mode": "passphrase", "kdf": "argon2id", "memory_kib": 65536, "iterations": 3,
                           "lanes": 4}
    assert data["data"]["settings"]["path"] == str(tmp_path / "config" / "Enclave" / "settings.json")
    enc = data["encryption"]
    assert enc["passphrase_kdf"]["memory_kib"] == 65536 and enc["passphrase_kdf"]["seconds_here"] > 0
    assert enc["keyring_backend"]
    net = data["network"]
    assert net["installed"] is True and net["guard"] == "Offline" and net["scopes"] == []
    switches = net["telemetry_switches"]
    assert switches["ORT_DISABLE_TELEMETRY"] == "1" and switches["HF_HUB_OFFLINE"] == "1"
    assert switches["HF_HUB_DISABLE_TELEMETRY"] == "1"
    policy = data["policy"]
    assert policy["source"] == str(tmp_path / "policy.json")
    assert policy["keys"]["ChatExportAllowed"]["managed"] is True
    assert policy["keys"]["DownloadsAllowed"] == {"value": False, "managed": True, "shown": "false"}
    assert any("Proxy" in problem for problem in policy["problems"])

    text = _doctor(tmp_path)
    assert f"history    {history}" in text and "schema 3, encrypted; key wrapped by a passphrase" in text
    assert "Argon2id 64 MiB, 3 passes, 4 lanes" in text
    assert "guard      Offline" in text
    assert "ChatExportAllowed     managed  false" in text
    assert "kept secret" not in text and "Osprey" not in text


def test_doctor_names_a_damaged_history_without_touching_it(tmp_path: Path) -> None:
    history = tmp_path / "data" / "Enclave" / "history.sqlite3"
    history.parent.mkdir(parents=True)
    history.write_bytes(b"not a database at all" * 10)
    out = _doctor(tmp_path, "--json")
    data = json.loads(out[:out.rindex("}") + 1])
    assert "is not an SQLite database" in data["data"]["history"]["problem"]
    assert history.read_bytes() == b"not a database at all" * 10
