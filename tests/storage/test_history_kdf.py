"""Keys done right: Argon2id at RFC 9106's second setting, bounded parameters read back from the file, a minimum
passphrase strength, and Enclave 0.1's scrypt databases migrated at their next unlock."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.storage import (CorruptDatabaseError, HistoryStore, PassphraseRequiredError, Role, WeakPassphraseError,
                         WrongPassphraseError)

V1_DATABASE = Path(__file__).parent / "data" / "history-v1-scrypt.sqlite3"
V1_PASSPHRASE = "correct horse battery staple"  # written by app/storage at commit 87af1c3 (scrypt N=2^15, r=8, p=1)


def _meta(path: Path) -> dict[str, object]:
    raw = sqlite3.connect(path)
    meta = dict(raw.execute("SELECT key, value FROM meta").fetchall())
    raw.close()
    return meta


def _set_meta(path: Path, **values: object) -> None:
    raw = sqlite3.connect(path)
    with raw:
        for key, value in values.items():
            raw.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
    raw.close()


def _disk(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


@pytest.fixture
def passphrase_db(db_path: Path, passphrase: str) -> Path:
    with HistoryStore.open(db_path) as store:
        store.add_message(store.create_conversation("Kept").id, Role.USER, "hello")
    return db_path


TAMPERED = [
    ({"kdf_memory_kib": 4 * 1024 * 1024}, "memory_kib=4194304, outside what Enclave accepts (19456 to 262144)"),
    ({"kdf_memory_kib": 2**40}, "memory_kib=1099511627776"),
    ({"kdf_memory_kib": 1024}, "memory_kib=1024"),
    ({"kdf_iterations": 10**6}, "iterations=1000000, outside what Enclave accepts (2 to 8)"),
    ({"kdf_lanes": 0}, "lanes=0"),
    ({"kdf_memory_kib": "65536"}, "memory_kib='65536'"),
    ({"kdf": "pbkdf2"}, "unknown key derivation 'pbkdf2'"),
    ({"kdf_salt": b"short"}, "no valid salt"),
    ({"kdf": "scrypt", "kdf_n": 2**22, "kdf_r": 8, "kdf_p": 1}, "scrypt with n=4194304"),
    ({"kdf": "scrypt", "kdf_n": 2**30, "kdf_r": 8, "kdf_p": 1}, "scrypt with n=1073741824"),
    ({"kdf": "scrypt", "kdf_n": 3 * 2**14, "kdf_r": 8, "kdf_p": 1}, "N=49152, which is not a power of two"),
    ({"kdf": "scrypt", "kdf_n": 2**15, "kdf_r": 8, "kdf_p": 64}, "scrypt with p=64"),
]


@pytest.mark.parametrize(("values", "words"), TAMPERED, ids=[str(v) for v, _ in TAMPERED])
def test_tampered_kdf_parameters_are_refused_at_once(passphrase_db: Path, values: dict, words: str,
                                                     file_hash: Callable[[Path], str]) -> None:
    _set_meta(passphrase_db, **values)
    before = file_hash(passphrase_db)
    started = time.perf_counter()
    with pytest.raises(CorruptDatabaseError) as info:
        HistoryStore.open(passphrase_db)
    elapsed = time.perf_counter() - started
    message = str(info.value)
    assert words in message and str(passphrase_db) in message
    assert message.endswith("left it untouched.") and message.count(". ") == 0
    assert elapsed < 1.0, f"refusing took {elapsed:.2f} s"  # 0.1's N=2^22 cost 18 s and 4 GiB before refusing
    assert file_hash(passphrase_db) == before


def test_a_weak_passphrase_is_refused_before_anything_is_written(db_path: Path) -> None:
    for weak, words in [("falcon", "at least 12 characters"), ("password1234", "mostly a common word"),
                        ("aaaaaaaaaaaaaaaa", "a repetition"), ("qwertyuiop12", "keyboard")]:
        with pytest.raises(WeakPassphraseError, match=words):
            HistoryStore.open(db_path, passphrase=weak)
        assert not db_path.exists()
    HistoryStore.open(db_path, passphrase="mellon ferry quartz").close()


def test_version_1_scrypt_database_is_migrated_at_its_next_unlock(tmp_path: Path, no_os_keyring: None,
                                                                   file_hash: Callable[[Path], str]) -> None:
    path = tmp_path / "history.sqlite3"
    shutil.copyfile(V1_DATABASE, path)
    old = _meta(path)
    assert (old["schema_version"], old["kdf"], old["kdf_n"]) == (1, "scrypt", 2**15)
    assert b"falcon.docx" in path.read_bytes()  # 0.1 kept citations' file names in plaintext
    before = file_hash(path)
    with pytest.raises(WrongPassphraseError):
        HistoryStore.open(path, passphrase="not the passphrase at all")
    assert file_hash(path) == before  # a wrong passphrase migrates nothing

    with HistoryStore.open(path, passphrase=V1_PASSPHRASE) as store:
        [conv] = store.list_conversations()
        assert conv.title == "Project Falcon Budget review"
        user, reply = store.get_messages(conv.id)
        assert user.content == "What does the falcon budget say about Q3?"
        assert reply.content == "Q3 spend is 4.2M [1]." and reply.reasoning == "Look at section 2."
        assert reply.timings["citations"][0] == {"file_name": "falcon.docx", "label": "Project Falcon Budget",
                                                 "marker": 1}
        assert store.list_attachments(conv.id)[0].file_name == "falcon.docx"
        assert store.key_warning and "weaker" not in store.key_warning
    new = _meta(path)
    assert new["schema_version"] == 3 and new["kdf"] == "argon2id"
    assert (new["kdf_memory_kib"], new["kdf_iterations"], new["kdf_lanes"]) == (65536, 3, 4)
    assert "kdf_n" not in new and new["db_id"] == old["db_id"]
    disk = _disk(path)
    for gone in (b"falcon.docx", b"Project Falcon Budget", old["wrapped_key"], old["kdf_salt"]):
        assert gone not in disk  # no plaintext, and no copy of the weaker scrypt wrapping left in free pages
    with HistoryStore.open(path, passphrase=V1_PASSPHRASE) as store:  # opens again, nothing more to migrate
        assert store.get_messages(conv.id)[1].timings["ttft_s"] == 0.5
    with pytest.raises(PassphraseRequiredError):
        HistoryStore.open(path)


def test_a_weak_passphrase_from_before_is_accepted_with_a_warning(tmp_path: Path, no_os_keyring: None) -> None:
    """0.1 accepted any passphrase; such a history still opens, and the user is asked to change it."""
    from app.storage import crypto, kdf, keys

    path = tmp_path / "history.sqlite3"
    shutil.copyfile(V1_DATABASE, path)
    old = _meta(path)
    with HistoryStore.open(path, passphrase=V1_PASSPHRASE) as store:
        data_key = store._key
    salt = b"s" * 16
    weak = kdf.ScryptParams(n=2**15, r=8, p=1)  # how 0.1 wrapped a passphrase of any length
    wrapped = crypto.seal(kdf.derive("abc", salt, weak), data_key, keys._wrap_ad(str(old["db_id"])))
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("DELETE FROM meta WHERE key LIKE 'kdf%'")
    raw.close()
    _set_meta(path, kdf="scrypt", kdf_salt=salt, kdf_n=2**15, kdf_r=8, kdf_p=1, wrapped_key=wrapped)
    with HistoryStore.open(path, passphrase="abc") as store:
        assert "weaker than Enclave now asks for" in store.key_warning
    assert _meta(path)["kdf"] == "argon2id"
