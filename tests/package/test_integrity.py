"""check_files: the one check of a folder's files against recorded sizes and SHA-256 hashes.

Real files, hashes computed here with hashlib (not by the code under test)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.package import FileEntry, IntegrityError, check_files


def _record(folder: Path, files: dict[str, bytes]) -> list[FileEntry]:
    entries = []
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        entries.append(FileEntry(name, len(content), hashlib.sha256(content).hexdigest()))
    return entries


FILES = {"model.onnx": b"graph", "model.onnx.data": b"\0" * 20000, "sub/tokenizer.json": b"{}"}


def _error(folder: Path, entries: list[FileEntry], **kwargs: object) -> IntegrityError:
    with pytest.raises(IntegrityError) as info:
        check_files(folder, entries, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.count(". ") == 0, message
    return info.value


def test_matching_files_pass_and_are_returned_in_record_order(tmp_path: Path) -> None:
    entries = _record(tmp_path, FILES)
    checked = check_files(tmp_path, entries)
    assert [c.path for c in checked] == [tmp_path / name for name in FILES]
    assert [c.size for c in checked] == [len(content) for content in FILES.values()]


def test_progress_counts_every_byte(tmp_path: Path) -> None:
    entries = _record(tmp_path, {"big": b"a" * (9 * 1024 * 1024), "small": b"b"})  # big spans two reads
    seen: list[tuple[int, int]] = []
    check_files(tmp_path, entries, on_progress=lambda done, total: seen.append((done, total)))
    total = 9 * 1024 * 1024 + 1
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen) and len(seen) == 4


def test_progress_callback_can_stop_the_check(tmp_path: Path) -> None:
    entries = _record(tmp_path, FILES)

    def stop(done: int, _total: int) -> None:
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_files(tmp_path, entries, on_progress=stop)


def test_missing_file_is_named(tmp_path: Path) -> None:
    entries = _record(tmp_path, FILES)
    (tmp_path / "sub" / "tokenizer.json").unlink()
    error = _error(tmp_path, entries)
    assert error.path == tmp_path / "sub" / "tokenizer.json"
    assert "tokenizer.json" in str(error) and "missing" in str(error)


def test_wrong_size_is_caught_before_any_hash(tmp_path: Path) -> None:
    entries = _record(tmp_path, FILES)
    with open(tmp_path / "sub" / "tokenizer.json", "ab") as handle:
        handle.write(b" ")
    hashed: list[int] = []
    error = _error(tmp_path, entries, on_progress=lambda done, _total: hashed.append(done))
    assert "tokenizer.json" in str(error) and "3 bytes" in str(error) and "records 2" in str(error)
    assert hashed == [], "no file may be hashed while another one has the wrong size"


def test_same_size_other_bytes_fail_only_with_hashes(tmp_path: Path) -> None:
    entries = _record(tmp_path, FILES)
    (tmp_path / "model.onnx.data").write_bytes(b"\1" * 20000)
    check_files(tmp_path, entries, hashes=False)
    error = _error(tmp_path, entries, record="the package's record")
    assert error.path == tmp_path / "model.onnx.data"
    assert "SHA-256 does not match the package's record" in str(error)


@pytest.mark.parametrize("name", ["../outside", "/etc/passwd", "sub/../../outside", "C:\\Windows\\win.ini",
                                  "..\\outside", ""])
def test_a_record_cannot_point_outside_the_folder(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "pkg"
    folder.mkdir()
    (tmp_path / "outside").write_bytes(b"x")
    error = _error(folder, [FileEntry(name, 1, hashlib.sha256(b"x").hexdigest())])
    assert "outside the folder" in str(error)
