"""Where each OS keeps machine policy, and reading it into a RawPolicy (checked later by build_policy).

- Windows: `HKLM\\Software\\Policies\\Enclave` (what the generated ADMX template writes; Group Policy and Intune
  deliver it). Booleans and numbers are REG_DWORD, text is REG_SZ, lists are a subkey of numbered REG_SZ values
  (the ADMX `list` element) or one REG_MULTI_SZ value. Value names are case-insensitive, as in the registry.
- macOS: `/Library/Managed Preferences/app.enclave.desktop.plist`, written by the OS when a configuration profile
  (see the generated example .mobileconfig) is installed; a per-user managed file under
  `/Library/Managed Preferences/<user>/` applies where the computer-level one does not set a key.
- Linux: `/etc/enclave/policy.json`, a JSON object.

`ENCLAVE_POLICY_FILE` names a JSON (or .plist) file to read instead, for tests and for trying a policy out; it
is used only where the machine has no policy of its own, so a user cannot set it to escape their organisation's.
All of these locations are writable only by administrators; a Linux or macOS file that other users can change
is still applied, with a warning.
"""

from __future__ import annotations

import getpass
import json
import os
import plistlib
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from app.policy.policy import RawPolicy
from app.policy.schema import KEYS, Kind

OVERRIDE_ENV = "ENCLAVE_POLICY_FILE"
WINDOWS_KEY = r"Software\Policies\Enclave"
MACOS_DOMAIN = "app.enclave.desktop"  # the app bundle's identifier (packaging/enclave.spec)
MACOS_FOLDER = Path("/Library/Managed Preferences")
LINUX_FILE = Path("/etc/enclave/policy.json")
MAX_FILE_BYTES = 1 << 20  # a policy is a few hundred bytes; anything far larger is not one

# winreg's type constants (winreg itself exists only on Windows; these values are fixed by the Win32 API).
REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_QWORD = 1, 2, 3, 4, 7, 11


class Duplicate:
    """A JSON key given more than once: ambiguous, so it fails every type check (strictest reading)."""

    def __repr__(self) -> str:
        return "a key given more than once"


def read_policy() -> RawPolicy:
    """The machine policy if there is one, else ENCLAVE_POLICY_FILE, else an empty policy."""
    machine = read_machine_policy()
    override = os.environ.get(OVERRIDE_ENV, "")
    if machine is not None:
        if override:
            machine.problems.append(f"{OVERRIDE_ENV}={override} is not used because this computer's policy "
                                    f"({machine.source}) applies.")
        return machine
    if override:
        path = Path(override)
        if not path.exists():
            return RawPolicy(source=f"none ({OVERRIDE_ENV} names {path}, which does not exist)")
        return read_policy_file(path, check_owner=False)
    return RawPolicy(source="none (this computer has no Enclave policy)")


def read_machine_policy() -> RawPolicy | None:
    """None when this computer has no Enclave policy at its OS's policy location."""
    if sys.platform == "win32":
        return read_windows_registry()
    if sys.platform == "darwin":
        return read_macos_managed_preferences(MACOS_FOLDER, _user_name())
    return read_policy_file(LINUX_FILE, check_owner=True) if LINUX_FILE.exists() else None


def _user_name() -> str:
    """For the per-user managed preferences; "" (computer-level only) where the OS cannot say."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no USER variable and no password-database entry
        return ""


# ------------------------------------------------------------------------------------------------ files

def read_policy_file(path: Path, *, check_owner: bool) -> RawPolicy:
    """A JSON object (or, for a .plist, a property list dictionary) of policy keys."""
    raw = RawPolicy(source=str(path))
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
            info = os.fstat(handle.fileno())
    except OSError as exc:
        return _unreadable(raw, f"The policy file {path} could not be read ({exc.strerror or exc}).")
    if len(data) > MAX_FILE_BYTES:
        return _unreadable(raw, f"The policy file {path} is larger than {MAX_FILE_BYTES // 1024} KB, so it is "
                                "not a policy Enclave can read.")
    try:
        values = _parse_plist(data) if path.suffix.lower() == ".plist" else _parse_json(data)
    except ValueError as exc:
        return _unreadable(raw, f"The policy file {path} is not valid {_format_name(path)} ({exc}).")
    raw.values = values
    if check_owner:
        raw.problems.extend(_ownership_warnings(path, info))
    return raw


def _parse_json(data: bytes) -> dict[str, object]:
    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, value in items:
            out[name] = Duplicate() if name in out else value
        return out

    try:
        value = json.loads(data.decode("utf-8-sig"), object_pairs_hook=pairs)
    except UnicodeDecodeError as exc:
        raise ValueError(f"it is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"the top level is a JSON {type(value).__name__}, not an object")
    return value


def _parse_plist(data: bytes) -> dict[str, object]:
    try:
        value = plistlib.loads(data)
    except Exception as exc:  # plistlib raises InvalidFileException, ExpatError, ValueError...
        raise ValueError(str(exc) or type(exc).__name__) from exc
    if not isinstance(value, dict):
        raise ValueError(f"the top level is a {type(value).__name__}, not a dictionary")
    return {k: v for k, v in value.items() if not str(k).startswith("Payload")}  # profile bookkeeping keys


def _format_name(path: Path) -> str:
    return "property list" if path.suffix.lower() == ".plist" else "JSON"


def _unreadable(raw: RawPolicy, message: str) -> RawPolicy:
    raw.problems.append(message)
    raw.unreadable = True
    return raw


def _ownership_warnings(path: Path, info: os.stat_result) -> list[str]:
    """A machine policy that ordinary users can edit is no policy; say so (it still applies)."""
    if os.name != "posix":
        return []
    problems = []
    for target, st in ((path, info), (path.parent, path.parent.stat())):
        if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            problems.append(f"{target} can be changed by users other than root (owner uid {st.st_uid}, mode "
                            f"{stat.filemode(st.st_mode)}); the policy is applied, but it should be owned by root "
                            "and writable by root only.")
    return problems


# ------------------------------------------------------------------------------------------------ macOS

def read_macos_managed_preferences(folder: Path, user: str) -> RawPolicy | None:
    """Computer-level managed preferences, completed by the user-level file for keys the first one lacks."""
    device = folder / f"{MACOS_DOMAIN}.plist"
    candidates = [device, folder / user / f"{MACOS_DOMAIN}.plist"] if user and "/" not in user else [device]
    found = [read_policy_file(p, check_owner=True) for p in candidates if p.exists()]
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    computer, per_user = found
    merged = RawPolicy(values={**per_user.values, **computer.values}, source=f"{computer.source} and {per_user.source}",
                       problems=computer.problems + per_user.problems,
                       unreadable=computer.unreadable or per_user.unreadable)
    return merged


# ------------------------------------------------------------------------------------------------ Windows

def read_windows_registry() -> RawPolicy | None:
    """HKLM\\Software\\Policies\\Enclave, or None when the key does not exist."""
    import winreg  # Windows only

    source = f"HKLM\\{WINDOWS_KEY}"
    try:
        root = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, WINDOWS_KEY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _unreadable(RawPolicy(source=source), f"The policy key {source} could not be read ({exc}).")
    with root:
        values = list(_enum_values(winreg, root))
        lists: dict[str, list[tuple[str, object, int]]] = {}
        index = 0
        while True:
            try:
                name = winreg.EnumKey(root, index)
            except OSError:
                break
            index += 1
            with winreg.OpenKey(root, name) as sub:
                lists[name] = list(_enum_values(winreg, sub))
    return registry_policy(values, lists, source)


def _enum_values(winreg, key) -> Iterable[tuple[str, object, int]]:  # noqa: ANN001 - winreg types
    index = 0
    while True:
        try:
            yield winreg.EnumValue(key, index)
        except OSError:
            return
        index += 1


def registry_policy(values: list[tuple[str, object, int]], subkeys: dict[str, list[tuple[str, object, int]]],
                    source: str) -> RawPolicy:
    """Registry values (as winreg.EnumValue returns them: name, data, type) in the types the schema checks.

    Kept apart from winreg so the conversion is the same code on every OS (and testable off Windows).
    """
    by_lower = {key.name.lower(): key for key in KEYS}
    raw = RawPolicy(source=source)
    for name, data, kind in values:
        key = by_lower.get(name.lower())
        raw.values[key.name if key else name] = _registry_scalar(key.kind if key else None, data, kind)
    for name, entries in subkeys.items():
        key = by_lower.get(name.lower())
        if key is None or key.kind not in (Kind.SHA256_LIST, Kind.URL_LIST):
            raw.values[key.name if key else name] = RegistryValue("a subkey")
            continue
        items = [data if kind in (REG_SZ, REG_EXPAND_SZ) else RegistryValue(_type_name(kind))
                 for _, data, kind in sorted(entries, key=lambda e: _numeric_name(e[0]))]
        raw.values[key.name] = items
    return raw


class RegistryValue:
    """A registry value of a type the key cannot have; fails every check with a message naming the type."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return self.what


def _registry_scalar(kind: Kind | None, data: object, reg_type: int) -> object:
    if reg_type == REG_DWORD and isinstance(data, int):
        if kind is Kind.BOOL:
            return {0: False, 1: True}.get(data, data)
        return data
    if reg_type in (REG_SZ, REG_EXPAND_SZ) and isinstance(data, str):
        return data
    if reg_type == REG_MULTI_SZ and isinstance(data, list) and kind in (Kind.SHA256_LIST, Kind.URL_LIST):
        return data
    return RegistryValue(f"a {_type_name(reg_type)} value")


def _type_name(reg_type: int) -> str:
    names = {REG_SZ: "REG_SZ", REG_EXPAND_SZ: "REG_EXPAND_SZ", REG_BINARY: "REG_BINARY", REG_DWORD: "REG_DWORD",
             REG_MULTI_SZ: "REG_MULTI_SZ", REG_QWORD: "REG_QWORD"}
    return names.get(reg_type, f"registry type {reg_type}")


def _numeric_name(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (1 << 62, name)

