# Signs files with signtool (Authenticode, SHA-256, RFC 3161 timestamp) when a certificate is given;
# otherwise says so in one line and leaves the files unsigned.
#   $env:CERT_PFX       the .pfx, base64-encoded (a CI secret); $env:CERT_PASSWORD its password
#   $env:TIMESTAMP_URL  the timestamp server (default: DigiCert's public one)
#   powershell -File packaging\windows\sign.ps1 FILE [FILE ...]
param([Parameter(ValueFromRemainingArguments = $true)][string[]]$Files)
$ErrorActionPreference = "Stop"
if (-not $env:CERT_PFX) {
  Write-Host "signing: skipped (no certificate given): $($Files -join ', ') stay unsigned, and SmartScreen will warn."
  exit 0
}
$signtool = Get-ChildItem "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe" -ErrorAction SilentlyContinue |
  Sort-Object FullName -Descending | Select-Object -First 1
if (-not $signtool) { throw "signtool.exe was not found: install the Windows 10/11 SDK." }
$pfx = Join-Path $env:RUNNER_TEMP "enclave-signing.pfx"
if (-not $env:RUNNER_TEMP) { $pfx = Join-Path $env:TEMP "enclave-signing.pfx" }
[IO.File]::WriteAllBytes($pfx, [Convert]::FromBase64String($env:CERT_PFX))
try {
  $url = if ($env:TIMESTAMP_URL) { $env:TIMESTAMP_URL } else { "http://timestamp.digicert.com" }
  & $signtool.FullName sign /fd sha256 /tr $url /td sha256 /f $pfx /p $env:CERT_PASSWORD @Files
  if ($LASTEXITCODE -ne 0) { throw "signtool sign failed" }
  & $signtool.FullName verify /pa @Files
  if ($LASTEXITCODE -ne 0) { throw "signtool verify failed" }
} finally {
  Remove-Item $pfx -ErrorAction SilentlyContinue
}
