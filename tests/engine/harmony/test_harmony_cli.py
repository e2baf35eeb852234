"""`enclave harmony render|parse` on files written by openai-harmony itself."""

from __future__ import annotations

import json
import shutil

from app.cli.main import main
from app.engine.harmony.codec import default_tokenizer_path
from tests.support.harmony_corpus import to_openai_harmony


def test_render_cli_matches_openai_harmony(tmp_path, capsys, harmony_tokenizer_json, harmony_encoding,
                                           harmony_cases) -> None:
    from openai_harmony import Role as OhRole

    for case in harmony_cases[::20]:
        theirs = to_openai_harmony(case.messages)
        path = tmp_path / f"{case.name}.json"
        path.write_text(theirs.to_json(), encoding="utf-8")  # openai-harmony's own JSON form
        assert main(["harmony", "render", str(path), "--tokenizer", str(harmony_tokenizer_json)]) == 0
        assert json.loads(capsys.readouterr().out) == harmony_encoding.render_conversation(theirs), case.name
        assert main(["harmony", "render", str(path), "--for-completion",
                     "--tokenizer", str(harmony_tokenizer_json)]) == 0
        assert json.loads(capsys.readouterr().out) == \
            harmony_encoding.render_conversation_for_completion(theirs, OhRole.ASSISTANT), case.name


def test_parse_cli_matches_openai_harmony(tmp_path, capsys, harmony_tokenizer_json, harmony_encoding,
                                          harmony_cases) -> None:
    for case in harmony_cases[1::20]:
        ids = harmony_encoding.render_conversation(to_openai_harmony(case.messages))
        path = tmp_path / "ids.json"
        path.write_text(json.dumps(ids), encoding="utf-8")
        assert main(["harmony", "parse", "--tokens", str(path), "--tokenizer", str(harmony_tokenizer_json)]) == 0
        expected = [m.to_dict() for m in harmony_encoding.parse_messages_from_completion_tokens(ids, None)]
        assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(expected)), case.name


def test_parse_cli_reports_problems_on_stderr(tmp_path, capsys, harmony_tokenizer_json, codec) -> None:
    path = tmp_path / "ids.json"
    path.write_text(json.dumps(codec.encode_ordinary("no header at all")), encoding="utf-8")
    assert main(["harmony", "parse", "--tokens", str(path), "--role", "assistant",
                 "--tokenizer", str(harmony_tokenizer_json)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["content"] == [{"type": "text", "text": "no header at all"}]
    assert "message 0: no <|message|> after the header" in captured.err


def test_cli_errors_are_one_sentence_and_exit_1(tmp_path, capsys, harmony_tokenizer_json) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"messages": [{"role": "robot", "content": "x"}]}', encoding="utf-8")
    assert main(["harmony", "render", str(bad), "--tokenizer", str(harmony_tokenizer_json)]) == 1
    assert "Unknown role 'robot'" in capsys.readouterr().err
    assert main(["harmony", "render", str(tmp_path / "missing.json")]) == 1
    assert "Cannot read conversation" in capsys.readouterr().err
    bad.write_text('[1, "x"]', encoding="utf-8")
    assert main(["harmony", "parse", "--tokens", str(bad), "--tokenizer", str(harmony_tokenizer_json)]) == 1
    assert "must hold one JSON array of integers" in capsys.readouterr().err


def test_cli_uses_the_cached_tokenizer_by_default(tmp_path, capsys, monkeypatch, harmony_tokenizer_json) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    target = default_tokenizer_path()
    assert str(target).startswith(str(tmp_path))
    target.parent.mkdir(parents=True)
    shutil.copy(harmony_tokenizer_json, target)
    conversation = tmp_path / "c.json"
    conversation.write_text('{"messages": [{"role": "user", "content": "hello"}]}', encoding="utf-8")
    assert main(["harmony", "render", str(conversation)]) == 0
    assert json.loads(capsys.readouterr().out) == [200006, 1428, 200008, 24912, 200007]
