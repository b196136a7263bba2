; Inno Setup script: the Windows installer for the PyInstaller folder (build\dist\camfx).
; Built by .github/workflows/bundles.yml on windows-latest:
;     iscc /DAppVersion=0.1.0 installer\windows\camfx.iss   → dist\camfx-0.1.0-windows-x64-setup.exe
; Not run here (no Windows in this project's CI machine); keep it in step with the Linux
; install.sh: per-user install without administrator rights, a Start menu entry, an optional
; start at sign-in (minimised to the tray), `camfx` on the user's PATH, an uninstaller that
; keeps the user's settings (%APPDATA%\camfx).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6C1E6A52-2B1F-4C4B-9C1D-5B0D3C6A7F10}
AppName=camfx
AppVersion={#AppVersion}
AppPublisher=camfx
DefaultDirName={localappdata}\Programs\camfx
DefaultGroupName=camfx
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=camfx-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\build\icons\camfx.ico
UninstallDisplayIcon={app}\camfx-window.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes

[Tasks]
Name: "autostart"; Description: "Start camfx in the tray when I sign in"; Flags: unchecked
Name: "addtopath"; Description: "Add the camfx command to my PATH"

[Files]
Source: "..\..\build\dist\camfx\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{userprograms}\camfx"; Filename: "{app}\camfx-window.exe"; Comment: "Webcam effects for video calls"
Name: "{userstartup}\camfx"; Filename: "{app}\camfx-window.exe"; Parameters: "gui --minimized"; Tasks: autostart

[Registry]
; camfx on the PATH of this user (removed again by the uninstaller, see [Code]).
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\camfx.exe"; Parameters: "setup virtual-camera"; Description: "Check the virtual camera (Unity Capture or OBS)"; Flags: postinstall runhidden unchecked
Filename: "{app}\camfx-window.exe"; Description: "Start camfx"; Flags: postinstall nowait skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Path) then
    Path := '';
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Path, Dir: string;
  P: Integer;
begin
  if CurUninstallStep <> usPostUninstall then
    exit;
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Path) then
    exit;
  Dir := ';' + ExpandConstant('{app}');
  P := Pos(Uppercase(Dir), Uppercase(Path));
  if P > 0 then
  begin
    Delete(Path, P, Length(Dir));
    RegWriteExpandStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Path);
  end;
end;
