; Inno Setup script for the Windows installer (Inno Setup 6). On Windows, after `make bundle`
; (dist\Storyloom\ and build\icons\storyloom.ico):
;     iscc /DVersion=0.1.0 packaging\windows\storyloom.iss   ->  dist\Storyloom-0.1.0-setup.exe
; Not built in this repository's CI (no Windows there). Per-user install: no admin rights needed.
#ifndef Version
  #define Version "0.1.0"
#endif

[Setup]
AppId={{6C2B7E3A-5F1D-4C8E-9A47-2D0B5E6F1A93}
AppName=Storyloom
AppVersion={#Version}
AppPublisher=Storyloom
DefaultDirName={localappdata}\Programs\Storyloom
DefaultGroupName=Storyloom
PrivilegesRequired=lowest
OutputDir=..\..\dist
OutputBaseFilename=Storyloom-{#Version}-setup
SetupIconFile=..\..\build\icons\storyloom.ico
UninstallDisplayIcon={app}\Storyloom.exe
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes

[Files]
Source: "..\..\dist\Storyloom\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\Storyloom"; Filename: "{app}\Storyloom.exe"
Name: "{userdesktop}\Storyloom"; Filename: "{app}\Storyloom.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

; .storyloom project files open in Storyloom with a double-click
[Registry]
Root: HKCU; Subkey: "Software\Classes\.storyloom"; ValueType: string; ValueData: "Storyloom.Project"; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\Storyloom.Project"; ValueType: string; ValueData: "Storyloom project"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\Storyloom.Project\DefaultIcon"; ValueType: string; ValueData: "{app}\Storyloom.exe,0"
Root: HKCU; Subkey: "Software\Classes\Storyloom.Project\shell\open\command"; ValueType: string; ValueData: """{app}\Storyloom.exe"" ""%1"""

[Run]
Filename: "{app}\Storyloom.exe"; Description: "Start Storyloom"; Flags: nowait postinstall skipifsilent
