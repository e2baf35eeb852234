"""The Windows Installer package: the .wxs promises what enterprise deployment needs, and wixl builds it.

The MSI is built from a folder laid out like the Windows one-folder build (its files are stand-ins: only the
tables are checked, with msitools' msiinfo, not with our own reader). Installing, upgrading and removing it
on Windows is in the release workflow (packaging/windows/test-msi.ps1), which cannot run here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WXS = ROOT / "packaging" / "windows" / "enclave.wxs"
BUILD = ROOT / "packaging" / "windows" / "build-msi.sh"
NS = {"w": "http://schemas.microsoft.com/wix/2006/wi"}
# The product's identity across every release: changing it makes upgrades install side by side.
UPGRADE_CODE = "15082965-FDD2-44CE-9EFA-E6650C35299A"


def _product() -> ET.Element:
    return ET.parse(WXS).getroot().find("w:Product", NS)


def test_upgrade_code_never_changes_and_every_build_is_a_major_upgrade() -> None:
    product = _product()
    assert product.get("UpgradeCode") == UPGRADE_CODE
    assert product.get("Id") == "*"
    assert product.find("w:MajorUpgrade", NS).get("DowngradeErrorMessage")


def test_per_machine_with_start_menu_shortcut() -> None:
    product = _product()
    assert product.find("w:Package", NS).get("InstallScope") == "perMachine"
    shortcuts = product.findall(".//w:Shortcut", NS)
    assert [s.get("Target") for s in shortcuts] == ["[INSTALLDIR]enclave.exe"]
    menu = product.find(".//w:DirectoryRef[@Id='ProgramMenuFolder']", NS)
    assert menu is not None and menu.find(".//w:Shortcut", NS) is not None


def test_nothing_touches_per_user_data() -> None:
    text = WXS.read_text(encoding="utf-8")
    product = _product()
    assert not product.findall(".//w:RemoveFile", NS) and not product.findall(".//w:RemoveFolder", NS)
    for folder in ("LocalAppDataFolder", "AppDataFolder", "PersonalFolder"):
        assert f'Id="{folder}"' not in text


def _windows_layout(folder: Path, *, with_runtime: bool = True) -> Path:
    (folder / "_internal" / "onnxruntime" / "capi").mkdir(parents=True)
    for name in ("enclave.exe", "enclave-cli.exe", "_internal/python311.dll", "_internal/base_library.zip",
                 "_internal/onnxruntime/capi/onnxruntime.dll", "_internal/onnxruntime/capi/DirectML.dll"):
        (folder / name).write_bytes(b"stand-in for " + name.encode())
    if with_runtime:
        for dll in ("vcruntime140.dll", "vcruntime140_1.dll", "msvcp140.dll"):
            (folder / "_internal" / dll).write_bytes(b"stand-in")
    return folder


needs_wixl = pytest.mark.skipif(shutil.which("wixl") is None or shutil.which("msiinfo") is None,
                                reason="needs Debian's wixl and msitools (packaging/linux/check-frozen.sh installs them)")


def _msiinfo(msi: Path, table: str) -> list[list[str]]:
    out = subprocess.run(["msiinfo", "export", str(msi), table], capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.replace("\r", "").splitlines()[3:] if line]


@needs_wixl
def test_wixl_builds_the_msi_and_its_tables_say_so(tmp_path: Path) -> None:
    dist = _windows_layout(tmp_path / "enclave")
    result = subprocess.run(["bash", str(BUILD), str(dist), str(tmp_path / "out")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    (msi,) = (tmp_path / "out").glob("Enclave-*-windows-x64.msi")
    properties = dict(row[:2] for row in _msiinfo(msi, "Property"))
    assert properties["ALLUSERS"] == "1" and properties["UpgradeCode"] == "{" + UPGRADE_CODE + "}"
    files = {row[2].split("|")[-1] for row in _msiinfo(msi, "File")}
    assert {"enclave.exe", "enclave-cli.exe", "DirectML.dll", "vcruntime140.dll", "msvcp140.dll"} <= files
    assert not _msiinfo(msi, "RemoveFile")
    actions = {row[0] for row in _msiinfo(msi, "InstallExecuteSequence")}
    assert {"FindRelatedProducts", "RemoveExistingProducts"} <= actions


@needs_wixl
def test_folder_without_the_vc_runtime_is_refused_in_one_sentence(tmp_path: Path) -> None:
    dist = _windows_layout(tmp_path / "enclave", with_runtime=False)
    result = subprocess.run(["bash", str(BUILD), str(dist), str(tmp_path / "out")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "vcruntime140.dll" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@needs_wixl
def test_version_that_msi_cannot_hold_is_refused(tmp_path: Path) -> None:
    dist = _windows_layout(tmp_path / "enclave")
    env = {**os.environ, "ENCLAVE_MSI_VERSION": "0.1.0rc1"}
    result = subprocess.run(["bash", str(BUILD), str(dist), str(tmp_path / "out")], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 1 and "0.1.0rc1" in result.stderr
