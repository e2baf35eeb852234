"""The one reader of JSON object files from outside: each failure is one sentence naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.session import LoadError, read_package_facts
from app.json_files import read_json_object
from app.package.manifest import PackageError
from app.package.reader import read_package


class Refused(Exception):
    pass


@pytest.mark.parametrize("content, expected", [
    (None, r"^/.*/config\.json does not exist$"),
    (b'{"a": 1,', r"^/.*/config\.json cannot be read as JSON \(Expecting property name .*\)$"),
    (b"\xff\xfe not utf-8", r"^/.*/config\.json cannot be read as JSON \('utf-8' codec can't decode .*\)$"),
    (b"[1, 2]", r"^/.*/config\.json is not a JSON object$"),
])
def test_each_way_a_file_fails_is_one_sentence_naming_it(tmp_path: Path, content: bytes | None,
                                                         expected: str) -> None:
    path = tmp_path / "config.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(Refused, match=expected):
        read_json_object(path, Refused)
    assert read_json_object(_write(tmp_path / "ok.json", b'{"a": [1]}'), Refused) == {"a": [1]}


def test_the_package_and_the_engine_read_their_files_through_it(tmp_cpu_package_copy: Path) -> None:
    (tmp_cpu_package_copy / "manifest.json").write_text("[]", encoding="utf-8")
    with pytest.raises(PackageError, match=r"manifest\.json is not a JSON object$"):
        read_package(tmp_cpu_package_copy)
    (tmp_cpu_package_copy / "genai_config.json").write_bytes(b"{oops")
    with pytest.raises(LoadError, match=r"genai_config\.json cannot be read as JSON \(.*\)\.$"):
        read_package_facts(tmp_cpu_package_copy)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def tmp_cpu_package_copy(tiny_cpu_package: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(tiny_cpu_package, tmp_path / "package"))
