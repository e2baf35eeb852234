# Release check on a Windows runner: silent per-machine install, the installed app runs, a major upgrade
# replaces it, silent uninstall removes it, and the user's data folder is left alone.
#   powershell -File packaging\windows\test-msi.ps1 -Msi Enclave-X-windows-x64.msi -UpgradeMsi Enclave-Y-....msi
param([Parameter(Mandatory = $true)][string]$Msi, [Parameter(Mandatory = $true)][string]$UpgradeMsi)
$ErrorActionPreference = "Stop"
$installDir = Join-Path $env:ProgramFiles "Enclave"
$shortcut = Join-Path $env:ProgramData "Microsoft\Windows\Start Menu\Programs\Enclave.lnk"
$userData = Join-Path $env:LOCALAPPDATA "Enclave"
$upgradeCode = "{" + ((Select-String -Path packaging\windows\enclave.wxs -Pattern 'UpgradeCode="([0-9A-F-]+)"').Matches[0].Groups[1].Value) + "}"

function Invoke-Msiexec([string[]]$arguments, [string]$what) {
  $log = Join-Path $env:RUNNER_TEMP ("msiexec-" + $what + ".log")
  $process = Start-Process msiexec.exe -ArgumentList ($arguments + @("/qn", "/norestart", "/l*v", "`"$log`"")) -Wait -PassThru
  if ($process.ExitCode -ne 0) { Get-Content $log -Tail 40; throw "msiexec $what exited $($process.ExitCode)" }
}
function Installed-Version {
  $keys = Get-ChildItem HKLM:\Software\Microsoft\Windows\CurrentVersion\Uninstall, HKLM:\Software\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall -ErrorAction SilentlyContinue
  ($keys | Get-ItemProperty | Where-Object { $_.DisplayName -eq "Enclave" }).DisplayVersion
}

Invoke-Msiexec @("/i", "`"$Msi`"") "install"
if (-not (Test-Path "$installDir\enclave.exe")) { throw "enclave.exe is not in $installDir" }
if (-not (Test-Path $shortcut)) { throw "no Start-menu shortcut at $shortcut" }
& "$installDir\enclave-cli.exe" --version
if ($LASTEXITCODE -ne 0) { throw "the installed enclave-cli.exe does not start" }
Write-Host "installed: $(Installed-Version)"

New-Item -ItemType Directory -Force $userData | Out-Null
Set-Content -Path (Join-Path $userData "keep-me.txt") -Value "user data must survive upgrades and uninstall"

Invoke-Msiexec @("/i", "`"$UpgradeMsi`"") "upgrade"
$versions = @(Installed-Version)
if ($versions.Count -ne 1) { throw "after the upgrade $($versions.Count) Enclave entries are installed: $versions" }
Write-Host "upgraded to: $($versions[0])"

# Installing the older MSI over the newer one must be refused (MajorUpgrade's downgrade condition).
$process = Start-Process msiexec.exe -ArgumentList @("/i", "`"$Msi`"", "/qn", "/norestart") -Wait -PassThru
if ($process.ExitCode -eq 0) { throw "the older MSI installed over the newer one" }

Invoke-Msiexec @("/x", "`"$UpgradeMsi`"") "uninstall"
if (Test-Path "$installDir\enclave.exe") { throw "$installDir\enclave.exe is still there after uninstall" }
if (Test-Path $shortcut) { throw "the Start-menu shortcut is still there after uninstall" }
if (-not (Test-Path (Join-Path $userData "keep-me.txt"))) { throw "uninstall removed the user's data in $userData" }
Write-Host "MSI checks passed (UpgradeCode $upgradeCode)"
