# Builds the Windows installer: venv -> PyInstaller one-folder build -> Inno Setup installer.
# Run from anywhere in PowerShell on Windows 10/11 x64 with Python 3.11 and Inno Setup 6 installed:
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
$ErrorActionPreference = "Stop"
$root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $root

if (-not (Test-Path ".venv\Scripts\python.exe")) { py -3.11 -m venv .venv }
$py = ".venv\Scripts\python.exe"
& $py -m pip install -q --upgrade pip
# The [packaging] extra brings PyInstaller; on Windows the dependencies select onnxruntime-directml.
& $py -m pip install -q -e ".[packaging]"
if ($LASTEXITCODE -ne 0) { throw "pip install failed" }

& $py -m PyInstaller --noconfirm --clean packaging\enclave.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
& "dist\enclave\enclave-cli.exe" --version
if ($LASTEXITCODE -ne 0) { throw "the frozen app does not start" }

$version = (& $py -c "import app; print(app.__version__)").Trim()
$iscc = Get-Command iscc.exe -ErrorAction SilentlyContinue
if ($iscc) { $iscc = $iscc.Source } else { $iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if (-not (Test-Path $iscc)) { throw "Inno Setup 6 (ISCC.exe) not found: install it from jrsoftware.org" }
& $iscc "/DAppVersion=$version" packaging\windows\enclave.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }
Write-Host "Installer written to dist\installer\"
