"""The generated admin templates against the loaders: what the ADMX makes Group Policy write to the registry, and
what the .mobileconfig makes macOS write to /Library/Managed Preferences, is read back as the same policy."""

from __future__ import annotations

import plistlib
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.cli.main import main
from app.policy import KEYS
from app.policy.policy import build_policy
from app.policy.schema import KEYS_BY_NAME
from app.policy.sources import (MACOS_DOMAIN, REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_SZ, WINDOWS_KEY,
                                read_macos_managed_preferences, registry_policy)

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "packaging" / "policy"
NS = {"pd": "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("templates")
    assert main(["policy", "templates", str(out)]) == 0
    return out


def test_committed_templates_are_current(generated: Path) -> None:
    for name in ("enclave.admx", "en-US/enclave.adml", "enclave.mobileconfig"):
        assert (COMMITTED / name).read_bytes() == (generated / name).read_bytes(), \
            f"packaging/policy/{name} is stale: run `enclave policy templates packaging/policy`"


def _as_registry(admx: Path, examples: dict[str, object]) -> tuple[list, dict]:
    """What Group Policy writes when an admin enables each policy of this ADMX with the example value."""
    values: list[tuple[str, object, int]] = []
    subkeys: dict[str, list[tuple[str, object, int]]] = {}
    for policy in ET.parse(admx).getroot().iterfind("pd:policies/pd:policy", NS):
        name = policy.get("name")
        assert policy.get("class") == "Machine" and policy.get("key") == WINDOWS_KEY
        example = examples[name]
        enabled = policy.find("pd:enabledValue/pd:decimal", NS)
        if enabled is not None:
            disabled = policy.find("pd:disabledValue/pd:decimal", NS)
            data = enabled.get("value") if example else disabled.get("value")
            values.append((policy.get("valueName"), int(data), REG_DWORD))
            continue
        (element,) = list(policy.find("pd:elements", NS))
        tag = element.tag.split("}")[1]
        if tag == "decimal":
            assert int(element.get("minValue")) <= example <= int(element.get("maxValue"))
            values.append((element.get("valueName"), example, REG_DWORD))
        elif tag == "text":
            values.append((element.get("valueName"), example, REG_SZ))
        else:
            assert tag == "list" and element.get("valuePrefix") == ""  # values named 1, 2, 3...
            assert element.get("key").startswith(WINDOWS_KEY + "\\")
            sub = element.get("key").rsplit("\\", 1)[1]
            subkeys[sub] = [(str(i), item, REG_SZ) for i, item in enumerate(example, start=1)]
    return values, subkeys


def _expected(key_name: str, value: object) -> object:
    if isinstance(value, list):
        return frozenset(v.lower() for v in value)
    if key_name == "LibraryFolder":
        return Path(value)
    return value


def test_admx_covers_every_key_and_group_policy_values_read_back(generated: Path) -> None:
    examples = {key.name: key.example for key in KEYS}
    # booleans opposite to their defaults, so reading them back proves the value came through
    examples.update({key.name: not key.default for key in KEYS if isinstance(key.default, bool)})
    values, subkeys = _as_registry(generated / "enclave.admx", examples)
    policy = build_policy(registry_policy(values, subkeys, f"HKLM\\{WINDOWS_KEY}"))
    assert policy.problems == ()
    assert policy.managed == {key.field for key in KEYS}
    for key in KEYS:
        assert getattr(policy, key.field) == _expected(key.name, examples[key.name]), key.name


def test_adml_defines_every_string_and_presentation_the_admx_uses(generated: Path) -> None:
    admx = (generated / "enclave.admx").read_text(encoding="utf-8")
    adml = ET.parse(generated / "en-US" / "enclave.adml").getroot()
    strings = {s.get("id"): s.text for s in adml.iterfind(".//pd:stringTable/pd:string", NS)}
    presentations = {p.get("id") for p in adml.iterfind(".//pd:presentationTable/pd:presentation", NS)}
    assert set(re.findall(r"\$\(string\.(\w+)\)", admx)) <= set(strings)
    assert set(re.findall(r"\$\(presentation\.(\w+)\)", admx)) == presentations
    for key in KEYS:
        assert strings[f"{key.name}_Explain"].startswith(key.meaning)


def test_mobileconfig_payload_read_back_from_managed_preferences(generated: Path, tmp_path: Path) -> None:
    profile = plistlib.loads((generated / "enclave.mobileconfig").read_bytes())
    assert profile["PayloadType"] == "Configuration" and profile["PayloadScope"] == "System"
    (payload,) = profile["PayloadContent"]
    assert payload["PayloadType"] == MACOS_DOMAIN
    # macOS writes the payload's keys into /Library/Managed Preferences/<domain>.plist when the profile is installed
    managed = tmp_path / "Managed Preferences"
    managed.mkdir()
    (managed / f"{MACOS_DOMAIN}.plist").write_bytes(plistlib.dumps(payload, fmt=plistlib.FMT_BINARY))
    policy = build_policy(read_macos_managed_preferences(managed, "alice"))
    assert [p for p in policy.problems if "users other than root" not in p] == []
    for key in KEYS:
        assert getattr(policy, key.field) == _expected(key.name, key.example), key.name


def test_macos_user_level_file_fills_keys_the_computer_level_one_lacks(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / f"{MACOS_DOMAIN}.plist").write_bytes(plistlib.dumps({"ChatExportAllowed": False}))
    (tmp_path / "alice" / f"{MACOS_DOMAIN}.plist").write_bytes(
        plistlib.dumps({"ChatExportAllowed": True, "ServerAllowed": False}))
    policy = build_policy(read_macos_managed_preferences(tmp_path, "alice"))
    assert policy.chat_export_allowed is False and policy.server_allowed is False
    assert read_macos_managed_preferences(tmp_path, "bob").values == {"ChatExportAllowed": False}
    assert read_macos_managed_preferences(tmp_path / "alice" / "none", "bob") is None


def test_registry_values_of_the_wrong_type_are_strict_and_named() -> None:
    values = [("downloadsallowed", 1, REG_DWORD),  # registry names are case-insensitive
              ("ChatExportAllowed", 2, REG_DWORD), ("RequireOsKeyring", "0", REG_SZ),
              ("MaxDocumentSizeMB", b"\x10", REG_BINARY), ("AllowedModels", ["a" * 64], REG_MULTI_SZ)]
    policy = build_policy(registry_policy(values, {"ServerAllowed": []}, "HKLM\\test"))
    assert policy.downloads_allowed is True
    assert policy.allowed_models == {"a" * 64}
    assert policy.chat_export_allowed is False and policy.require_os_keyring is True
    assert policy.max_document_size_mb == 1 and policy.server_allowed is False
    text = "\n".join(policy.problems)
    assert "ChatExportAllowed in HKLM\\test must be true or false, not 2" in text
    assert "not '0'" in text and "a REG_BINARY value" in text and "ServerAllowed" in text and "a subkey" in text


def test_macos_domain_is_the_bundle_identifier() -> None:
    spec = (ROOT / "packaging" / "enclave.spec").read_text(encoding="utf-8")
    assert f'bundle_identifier="{MACOS_DOMAIN}"' in spec


def test_every_key_has_one_sentence_meaning() -> None:
    for key in KEYS:
        assert key.meaning.endswith(".") and key.meaning.count(". ") == 0, key.name
        assert KEYS_BY_NAME[key.name] is key
