"""Enterprise policy: every key read from a real policy file, malformed values read at their strictest, and
`enclave policy show/check` printing what is in force and where it came from."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.cli.main import main
from app.policy import KEYS, OVERRIDE_ENV, current_policy
from app.policy import sources

SHA_A = "a" * 64
SHA_B = "0123456789abcdef" * 4

FULL_POLICY = {
    "DownloadsAllowed": False,
    "HubEndpoint": "https://artifactory.corp.example/api/huggingfaceml/hf",
    "Proxy": "http://proxy.corp.example:3128",
    "AllowedModels": [SHA_A, SHA_B.upper()],
    "HistoryRetentionDays": 30,
    "ChatExportAllowed": False,
    "RequireOsKeyring": True,
    "MaxDocumentSizeMB": 10,
    "LibraryFolder": "/srv/enclave/models",
    "ServerAllowed": False,
    "AllowedRemoteEngines": ["https://gpu.corp.example/v1"],
}


def test_no_policy_means_defaults_and_nothing_managed(enterprise_policy, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(OVERRIDE_ENV, str(tmp_path / "absent.json"))
    current_policy.cache_clear()
    policy = current_policy()
    assert policy.managed == frozenset() and policy.problems == ()
    assert policy.downloads_allowed is True and policy.chat_export_allowed is True
    assert policy.require_os_keyring is False and policy.allowed_models is None
    assert policy.model_allowed(SHA_A)
    assert "does not exist" in policy.source


def test_every_key_is_read_from_a_policy_file(enterprise_policy) -> None:
    policy = enterprise_policy(FULL_POLICY)
    assert policy.problems == ()
    assert policy.managed == {key.field for key in KEYS}
    assert policy.downloads_allowed is False
    assert policy.hub_endpoint == "https://artifactory.corp.example/api/huggingfaceml/hf"
    assert policy.proxy == "http://proxy.corp.example:3128"
    assert policy.allowed_models == {SHA_A, SHA_B}  # digests compare in lower case
    assert policy.model_allowed(SHA_B.upper()) and not policy.model_allowed("b" * 64)
    assert policy.history_retention_days == 30
    assert policy.chat_export_allowed is False
    assert policy.require_os_keyring is True
    assert policy.max_document_size_mb == 10
    assert policy.library_folder == Path("/srv/enclave/models")
    assert policy.server_allowed is False
    assert policy.allowed_remote_engines == {"https://gpu.corp.example/v1"}
    assert policy.is_managed("proxy")
    with pytest.raises(KeyError):
        policy.is_managed("no_such_key")


# (key, malformed value, the value in force afterwards, words the one-sentence message must contain)
MALFORMED = [
    ("DownloadsAllowed", "yes", ("downloads_allowed", False), "must be true or false"),
    ("DownloadsAllowed", 1, ("downloads_allowed", False), "must be true or false, not 1"),
    ("ChatExportAllowed", None, ("chat_export_allowed", False), "must be true or false"),
    ("RequireOsKeyring", "false", ("require_os_keyring", True), "must be true or false"),
    ("ServerAllowed", 0, ("server_allowed", False), "must be true or false"),
    ("MaxDocumentSizeMB", 0, ("max_document_size_mb", 1), "between 1 and 4096 MB"),
    ("MaxDocumentSizeMB", "25", ("max_document_size_mb", 1), "whole number of MB"),
    ("MaxDocumentSizeMB", True, ("max_document_size_mb", 1), "whole number of MB"),
    ("HistoryRetentionDays", -5, ("history_retention_days", None), "no conversation is deleted"),
    ("HistoryRetentionDays", "30 days", ("history_retention_days", None), "whole number of days"),
    ("AllowedModels", SHA_A, ("allowed_models", frozenset()), "must be a list"),
    ("AllowedModels", [SHA_A, "not-a-digest"], ("allowed_models", frozenset()), "64 hexadecimal characters"),
    ("AllowedRemoteEngines", ["http://gpu.corp.example/v1"], ("allowed_remote_engines", frozenset()),
     "must start with https://"),
    ("HubEndpoint", "ftp://mirror.example", ("downloads_allowed", False), "DownloadsAllowed is turned off"),
    ("HubEndpoint", "https://user:secret@mirror.example", ("downloads_allowed", False), "user name or password"),
    ("HubEndpoint", "https://mirror.example/\nX-Injected: 1", ("downloads_allowed", False), "control characters"),
    ("Proxy", "http://proxy.example", ("downloads_allowed", False), "port"),
    ("Proxy", "http://proxy.example:99999", ("downloads_allowed", False), "valid URL"),
    ("LibraryFolder", "models", ("downloads_allowed", False), "absolute path"),
    ("LibraryFolder", 7, ("library_folder", None), "must be a folder path"),
]


@pytest.mark.parametrize(("name", "value", "expected", "words"), MALFORMED,
                         ids=[f"{m[0]}={m[1]!r}"[:40] for m in MALFORMED])
def test_malformed_value_takes_strictest_reading_and_is_reported(enterprise_policy, name, value, expected,
                                                                 words) -> None:
    policy = enterprise_policy({name: value})
    field, in_force = expected
    assert getattr(policy, field) == in_force
    assert len(policy.problems) == 1
    message = policy.problems[0]
    assert message.startswith(f"Policy key {name} in ") and message.endswith(".") and "\n" not in message
    assert words in message
    assert policy.is_managed(field)


def test_a_policy_file_that_is_not_json_makes_everything_strict(enterprise_policy) -> None:
    policy = enterprise_policy('{"DownloadsAllowed": true,')  # cut off mid-object
    assert policy.downloads_allowed is False and policy.chat_export_allowed is False
    assert policy.require_os_keyring is True and policy.server_allowed is False
    assert policy.allowed_models == frozenset() and policy.allowed_remote_engines == frozenset()
    assert policy.max_document_size_mb == 1
    assert policy.history_retention_days is None  # never deletes anyone's history on a value it cannot read
    assert "is not valid JSON" in policy.problems[0] and "line 1" in policy.problems[0]
    assert "strictest reading" in policy.problems[1]


@pytest.mark.parametrize("text", ["[1, 2]", '"DownloadsAllowed"', "\ufffe\x00bad", ""])
def test_a_policy_that_is_not_an_object_makes_everything_strict(enterprise_policy, text) -> None:
    policy = enterprise_policy(text)
    assert policy.downloads_allowed is False and policy.require_os_keyring is True
    assert "is not valid JSON" in policy.problems[0]


def test_unknown_and_duplicated_keys_are_reported(enterprise_policy) -> None:
    policy = enterprise_policy('{"downloadsAllowed": false, "Telemetry": true, '
                               '"ChatExportAllowed": true, "ChatExportAllowed": true}')
    assert policy.downloads_allowed is True  # an unknown key changes nothing...
    assert policy.chat_export_allowed is False  # ...a duplicated one is ambiguous: strictest
    text = "\n".join(policy.problems)
    assert "'downloadsAllowed'" in text and "did you mean DownloadsAllowed?" in text
    assert "'Telemetry'" in text and "not known to this version" in text
    assert "ChatExportAllowed" in text and "more than once" in text


def test_the_machine_policy_wins_over_the_override(tmp_path, monkeypatch) -> None:
    machine = tmp_path / "etc-enclave-policy.json"
    machine.write_text(json.dumps({"ChatExportAllowed": False}))
    os.chmod(machine, 0o644)
    os.chmod(tmp_path, 0o755)
    escape = tmp_path / "mine.json"
    escape.write_text(json.dumps({"ChatExportAllowed": True}))
    monkeypatch.setattr(sources, "LINUX_FILE", machine)
    monkeypatch.setattr(sources.sys, "platform", "linux")
    monkeypatch.setenv(OVERRIDE_ENV, str(escape))
    current_policy.cache_clear()
    try:
        policy = current_policy()
    finally:
        current_policy.cache_clear()
    assert policy.chat_export_allowed is False
    assert policy.source == str(machine)
    assert any(f"{OVERRIDE_ENV}={escape} is not used" in p for p in policy.problems)


def test_a_machine_policy_others_can_edit_is_applied_with_a_warning(tmp_path, monkeypatch) -> None:
    machine = tmp_path / "policy.json"
    machine.write_text(json.dumps({"ServerAllowed": False}))
    os.chmod(machine, 0o666)
    policy_source = sources.read_policy_file(machine, check_owner=True)
    from app.policy.policy import build_policy

    policy = build_policy(policy_source)
    assert policy.server_allowed is False
    assert any(f"{machine} can be changed by users other than root" in p and "-rw-rw-rw-" in p
               for p in policy.problems)


def test_policy_show_prints_each_key_and_the_source(enterprise_policy, capsys) -> None:
    enterprise_policy({"ChatExportAllowed": False, "MaxDocumentSizeMB": 0})
    assert main(["policy", "show"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Policy source: ") and out[0].endswith("enterprise-policy.json")
    rows = {line.split()[0]: line.split()[1:] for line in out[1:] if not line.startswith("Problem:")}
    assert set(rows) == {key.name for key in KEYS}
    assert rows["ChatExportAllowed"] == ["managed", "false"]
    assert rows["MaxDocumentSizeMB"] == ["managed", "1", "MB"]
    assert rows["DownloadsAllowed"] == ["default", "true"]
    assert any(line.startswith("Problem: Policy key MaxDocumentSizeMB") for line in out)

    assert main(["policy", "show", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["keys"]["ChatExportAllowed"] == {"value": False, "managed": True, "shown": "false"}
    assert report["keys"]["AllowedModels"]["managed"] is False
    assert len(report["problems"]) == 1


def test_policy_check_exits_1_on_problems(tmp_path, capsys) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(FULL_POLICY))
    bad.write_text(json.dumps({**FULL_POLICY, "Proxy": "proxy:3128"}))
    assert main(["policy", "check", str(good)]) == 0
    assert main(["policy", "check", str(bad)]) == 1
    assert "Problem: Policy key Proxy" in capsys.readouterr().out
    assert main(["policy", "check", str(tmp_path / "missing.json")]) == 2
    assert "missing.json is not a file." in capsys.readouterr().err
