# Builds Enclave's Windows one-folder app (dist\enclave) and smoke-tests it; the MSI is made from that folder
# with wixl on Linux (packaging/windows/build-msi.sh; the release workflow does both).
# Run in PowerShell on Windows 10/11 x64 with Python 3.11:
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
# Set CERT_PFX (base64 .pfx) and CERT_PASSWORD to sign enclave.exe and enclave-cli.exe with signtool.
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
& $py packaging\bundle_size.py dist\enclave
& $py packaging\smoke_frozen.py dist\enclave\enclave-cli.exe dist\enclave\enclave-cli.exe  # the console twin prints the JSON
if ($LASTEXITCODE -ne 0) { throw "the frozen app failed its smoke test" }
& powershell -ExecutionPolicy Bypass -File packaging\windows\sign.ps1 dist\enclave\enclave.exe dist\enclave\enclave-cli.exe
Write-Host "dist\enclave is ready; build the MSI from it with: bash packaging/windows/build-msi.sh dist/enclave dist (Linux or WSL, needs wixl)"
