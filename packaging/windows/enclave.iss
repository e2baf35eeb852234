; Inno Setup 6 script for the Windows installer of Enclave.
;
; Input: the PyInstaller one-folder build in dist\enclave (pyinstaller --noconfirm packaging\enclave.spec).
; Output: dist\installer\Enclave-<version>-windows-x64-setup.exe
; Build:  iscc /DAppVersion=0.1.0 packaging\windows\enclave.iss   (or packaging\windows\build.ps1, which does all)
;
; Installs per user by default (no admin prompt; the user may choose all users). Uninstalling removes the
; program only: conversations, settings and downloaded or exported models live in %LOCALAPPDATA%\Enclave
; and stay, because losing a user's data is never the right default.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Enclave"
#define DistDir "..\..\dist\enclave"
#define IconFile "..\..\resources\icons\enclave.ico"

[Setup]
; AppId identifies the product across upgrades: never change it.
AppId={{6B0F3C52-9D1E-4F7A-8C2B-3E5D7A9F1C04}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Enclave contributors
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
; 64-bit only: ONNX Runtime and the DirectML provider ship x64 builds. Windows 10 1903+ for DirectML.
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.18362
OutputDir=..\..\dist\installer
OutputBaseFilename={#AppName}-{#AppVersion}-windows-x64-setup
Compression=lzma2/ultra64
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\enclave.exe
#if FileExists(IconFile)
SetupIconFile={#IconFile}
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole one-folder build: enclave.exe (windowed), enclave-cli.exe (console) and _internal\.
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\enclave.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\enclave.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\enclave.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
