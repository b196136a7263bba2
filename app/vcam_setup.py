"""Set up the Linux virtual camera (v4l2loopback) with one elevation, or say what to click.

Three parts, so each can be tested alone:

1. :func:`probe` reads the facts: package manager, kernel headers, whether the module is
   built and loaded (and with which options, from ``/sys/module/v4l2loopback/parameters``),
   the loopback devices, Secure Boot and whether the DKMS signing key is enrolled.
2. :func:`make_plan` turns them into a :class:`Plan`: the commands that need root (install the
   module, write ``/etc/modules-load.d/camfx.conf`` and ``/etc/modprobe.d/camfx.conf``, load
   it, wait for the device), and the steps only the user can do (MOK enrolment on reboot).
   A plan for a machine that is already set up is empty: running it again changes nothing.
3. :func:`execute` runs the root commands as ONE shell script under one elevation (``sudo``
   in a terminal, ``pkexec`` from the window, nothing when already root), then probes again.

Every path is read and written under ``System.root`` and every command goes through
``System.run``, so the tests use a fake root and fake commands. No Qt here: the window runs
``camfx setup virtual-camera`` (app/gui/vcam_setup.py).
"""

from __future__ import annotations

import enum
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MODULE = "v4l2loopback"
CARD_LABEL = "camfx"
PREFERRED_VIDEO_NR = 10
MODULES_LOAD_FILE = "/etc/modules-load.d/camfx.conf"
MODPROBE_FILE = "/etc/modprobe.d/camfx.conf"
# Where DKMS and akmods keep the key they sign modules with (Debian's dkms 3, Ubuntu's
# shim-signed, Fedora's akmods). Under Secure Boot the kernel loads the module only once this
# key is enrolled in the firmware's MOK list.
SIGNING_KEYS = (
    "/var/lib/dkms/mok.pub",
    "/var/lib/shim-signed/mok/MOK.der",
    "/etc/pki/akmods/certs/public_key.der",
)
SECURE_BOOT_EFIVAR = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"


class PackageManager(enum.Enum):
    APT = "apt-get"
    DNF = "dnf"
    PACMAN = "pacman"
    ZYPPER = "zypper"


class SecureBoot(enum.Enum):
    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"


class KeyState(enum.Enum):
    ENROLLED = "enrolled"
    NOT_ENROLLED = "not enrolled"
    NO_KEY = "no signing key yet"
    UNKNOWN = "unknown"


class StepKind(enum.Enum):
    INSTALL = "install"
    WRITE = "write"
    UNLOAD = "unload"
    LOAD = "load"
    CHECK = "check"


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    output: str


Runner = Callable[[Sequence[str]], CommandResult]


def run_command(argv: Sequence[str]) -> CommandResult:
    """Run a probe command; a missing program is exit code 127, like a shell says."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        return CommandResult(127, f"{argv[0]}: not found")
    except (OSError, subprocess.SubprocessError) as exc:
        return CommandResult(126, str(exc))
    return CommandResult(done.returncode, (done.stdout + done.stderr).strip())


@dataclass(frozen=True)
class System:
    """The machine as the set-up sees it: a root folder, a command runner, the kernel."""

    root: Path = Path("/")
    run: Runner = run_command
    which: Callable[[str], str | None] = shutil.which
    kernel: str = field(default_factory=lambda: os.uname().release)
    is_root: bool = field(default_factory=lambda: os.geteuid() == 0)

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")


@dataclass(frozen=True)
class LoopbackDevice:
    number: int
    name: str


@dataclass(frozen=True)
class Facts:
    root: Path
    kernel: str
    package_manager: PackageManager | None
    headers: bool
    module_built: bool
    module_loaded: bool
    options: dict[str, str]
    devices: tuple[LoopbackDevice, ...]
    taken_video_numbers: frozenset[int]
    secure_boot: SecureBoot
    signing_key: str | None
    key_state: KeyState
    modules_load_conf: str | None
    modprobe_conf: str | None
    other_option_files: tuple[str, ...]
    is_root: bool

    @property
    def camfx_device(self) -> LoopbackDevice | None:
        return next((d for d in self.devices if d.name == CARD_LABEL), None)

    @property
    def ready(self) -> bool:
        """A loopback camera that meeting apps list is there (ours, or one loaded before
        with exclusive_caps=1, e.g. for OBS: camfx uses that one rather than unload it)."""
        return self.module_loaded and self.exclusive_caps and bool(self.devices)

    @property
    def exclusive_caps(self) -> bool:
        """Whether the loaded module runs with exclusive_caps=1 (Chrome and the meeting apps
        list an output-only device only then); sysfs shows one Y/N (or 1/0) per device."""
        value = self.options.get("exclusive_caps", "")
        flags = [v.strip() for v in value.split(",") if v.strip()]
        return bool(flags) and flags[0] in ("Y", "1")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _package_manager(system: System) -> PackageManager | None:
    for manager in PackageManager:
        if system.which(manager.value):
            return manager
    return None


def _secure_boot(system: System) -> SecureBoot:
    result = system.run(["mokutil", "--sb-state"])
    text = result.output.lower()
    if "secureboot enabled" in text:
        return SecureBoot.ON
    if "secureboot disabled" in text or "doesn't support secure boot" in text:
        return SecureBoot.OFF
    # No mokutil: the firmware variable itself (4 bytes of attributes, then 1 = on).
    try:
        data = system.path(SECURE_BOOT_EFIVAR).read_bytes()
    except OSError:  # no EFI at all is a legacy BIOS boot: no Secure Boot
        efi = system.path("/sys/firmware/efi").exists()
        return SecureBoot.UNKNOWN if efi else SecureBoot.OFF
    return SecureBoot.ON if data[-1:] == b"\x01" else SecureBoot.OFF


def _key_state(system: System) -> tuple[str | None, KeyState]:
    for key in SIGNING_KEYS:
        if system.path(key).exists():
            result = system.run(["mokutil", "--test-key", str(system.path(key))])
            text = result.output.lower()
            if "is already enrolled" in text:
                return key, KeyState.ENROLLED
            if "is not enrolled" in text:
                return key, KeyState.NOT_ENROLLED
            return key, KeyState.UNKNOWN
    return None, KeyState.NO_KEY


def _devices(system: System) -> tuple[tuple[LoopbackDevice, ...], frozenset[int]]:
    """Loopback devices (sysfs names) and every /dev/videoN number already taken."""
    taken: set[int] = set()
    loopbacks: list[LoopbackDevice] = []
    sysfs = system.path("/sys/class/video4linux")
    for entry in sorted(sysfs.glob("video*")) if sysfs.is_dir() else []:
        number = entry.name.removeprefix("video")
        if not number.isdigit():
            continue
        taken.add(int(number))
        name = (_read(entry / "name") or "").strip()
        # A real camera links to its USB/PCI device; v4l2loopback's live under
        # /sys/devices/virtual and have no such link.
        if not (entry / "device").exists() or name == CARD_LABEL:
            loopbacks.append(LoopbackDevice(int(number), name))
    dev = system.path("/dev")
    for node in dev.glob("video*") if dev.is_dir() else []:
        number = node.name.removeprefix("video")
        if number.isdigit():
            taken.add(int(number))
    return tuple(loopbacks), frozenset(taken)


def _module_built(system: System) -> bool:
    if system.run(["modinfo", "-F", "filename", MODULE]).returncode == 0:
        return True
    modules = system.path(f"/lib/modules/{system.kernel}")
    return modules.is_dir() and any(modules.rglob(f"{MODULE}.ko*"))


def _other_option_files(system: System) -> tuple[str, ...]:
    """Other /etc/modprobe.d files that set v4l2loopback options (they would mix with ours)."""
    folder = system.path("/etc/modprobe.d")
    found = []
    for conf in sorted(folder.glob("*.conf")) if folder.is_dir() else []:
        if conf.name == Path(MODPROBE_FILE).name:
            continue
        text = _read(conf) or ""
        if any(
            line.split()[:2] == ["options", MODULE] for line in text.splitlines() if line.strip()
        ):
            found.append("/" + str(conf.relative_to(system.root)))
    return tuple(found)


def probe(system: System | None = None) -> Facts:
    system = system or System()
    params = system.path(f"/sys/module/{MODULE}/parameters")
    options = {}
    if params.is_dir():
        for item in sorted(params.iterdir()):
            options[item.name] = (_read(item) or "").strip()
    devices, taken = _devices(system)
    key, key_state = _key_state(system)
    return Facts(
        root=system.root,
        kernel=system.kernel,
        package_manager=_package_manager(system),
        headers=system.path(f"/lib/modules/{system.kernel}/build").exists(),
        module_built=_module_built(system),
        module_loaded=system.path(f"/sys/module/{MODULE}").is_dir(),
        options=options,
        devices=devices,
        taken_video_numbers=taken,
        secure_boot=_secure_boot(system),
        signing_key=key,
        key_state=key_state,
        modules_load_conf=_read(system.path(MODULES_LOAD_FILE)),
        modprobe_conf=_read(system.path(MODPROBE_FILE)),
        other_option_files=_other_option_files(system),
        is_root=system.is_root,
    )


# ---- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: StepKind
    why: str
    command: str
    """One shell command line (run as root, inside the one elevated script)."""


@dataclass(frozen=True)
class Plan:
    video_nr: int
    steps: tuple[Step, ...]
    user_steps: tuple[str, ...]
    """What only the user can do (Secure Boot key enrolment, a reboot), in order."""
    notes: tuple[str, ...]
    blocked: str | None = None
    """Why nothing can be done here (e.g. no package manager and no module)."""

    @property
    def done(self) -> bool:
        return not self.steps and not self.user_steps and self.blocked is None

    def script(self) -> str:
        """The root steps as one POSIX shell script: what runs under the one elevation."""
        lines = ["set -e"]
        for step in self.steps:
            lines.append(f"echo {shlex.quote('camfx setup: ' + step.why)}")
            lines.append(step.command)
        return "\n".join(lines) + "\n"


def _path(facts: Facts, absolute: str) -> str:
    return shlex.quote(str(facts.root / absolute.lstrip("/")))


def modprobe_options(video_nr: int) -> str:
    return f"devices=1 video_nr={video_nr} card_label={CARD_LABEL} exclusive_caps=1"


def modprobe_conf(video_nr: int) -> str:
    return (
        "# Written by camfx setup virtual-camera: one loopback camera that Chrome, Zoom and\n"
        "# Teams list (exclusive_caps=1).\n"
        f"options {MODULE} {modprobe_options(video_nr)}\n"
    )


MODULES_LOAD_CONF = f"# Written by camfx setup virtual-camera.\n{MODULE}\n"


def _free_video_nr(facts: Facts) -> int:
    if facts.camfx_device is not None:
        return facts.camfx_device.number
    for line in (facts.modprobe_conf or "").splitlines():
        for word in line.split():
            if word.startswith("video_nr=") and word[9:].isdigit():
                return int(word[9:])  # ours from an earlier run: keep it stable
    return next(
        n
        for n in [PREFERRED_VIDEO_NR, *range(PREFERRED_VIDEO_NR + 1, 64), *range(0, 10)]
        if n not in facts.taken_video_numbers
    )


def packages(manager: PackageManager, facts: Facts) -> list[str]:
    """The distribution's packages for the module (and the headers DKMS builds it with)."""
    if manager is PackageManager.APT:
        names = ["v4l2loopback-dkms"]
        return names + ([] if facts.headers else [f"linux-headers-{facts.kernel}"])
    if manager is PackageManager.PACMAN:
        flavour = next(
            (f for f in ("lts", "zen", "hardened", "rt") if facts.kernel.endswith(f"-{f}")), ""
        )
        headers = f"linux-{flavour}-headers" if flavour else "linux-headers"
        return ["v4l2loopback-dkms"] + ([] if facts.headers else [headers])
    if manager is PackageManager.DNF:
        # RPM Fusion's akmod builds the module for each new kernel.
        return ["v4l2loopback", "akmod-v4l2loopback"] + (
            [] if facts.headers else [f"kernel-devel-{facts.kernel}"]
        )
    return ["v4l2loopback-kmp-default", "v4l2loopback-utils"]  # openSUSE: prebuilt, signed


def install_command(manager: PackageManager, names: list[str]) -> str:
    quoted = " ".join(shlex.quote(n) for n in names)
    return {
        PackageManager.APT: "DEBIAN_FRONTEND=noninteractive apt-get update -qq && "
        f"DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {quoted}",
        PackageManager.DNF: f"dnf install -y -q {quoted}",
        PackageManager.PACMAN: f"pacman -S --needed --noconfirm {quoted}",
        PackageManager.ZYPPER: f"zypper --non-interactive install {quoted}",
    }[manager]


def _write_command(facts: Facts, path: str, content: str) -> str:
    folder = _path(facts, str(Path(path).parent))
    lines = " ".join(shlex.quote(line) for line in content.splitlines())
    return f"mkdir -p {folder} && printf '%s\\n' {lines} > {_path(facts, path)}"


def mok_steps(key: str | None) -> tuple[str, ...]:
    """What the user does to enrol the module signing key (the kernel then loads it)."""
    key = key or SIGNING_KEYS[0]
    return (
        f"Secure Boot is on and the key that signs v4l2loopback ({key}) is not enrolled, so "
        'the kernel refuses the module ("Key was rejected by service"). Only you can enrol '
        "it, at the next start:",
        f"1. In a terminal: sudo mokutil --import {key} — choose a one-time password "
        "(you type it once more after the reboot, on a QWERTY keyboard layout).",
        '2. Reboot. A blue "MOK management" screen appears before the system starts (it '
        "waits 10 s: press a key).",
        '3. Choose "Enroll MOK", then "Continue", then "Yes", type the password, then "Reboot".',
        "4. After the reboot the module loads by itself (/etc/modules-load.d/camfx.conf); "
        "run camfx setup virtual-camera once more to check.",
    )


def make_plan(facts: Facts) -> Plan:
    video_nr = _free_video_nr(facts)
    steps: list[Step] = []
    user: list[str] = []
    notes: list[str] = []
    if not facts.module_built:
        if facts.package_manager is None:
            return Plan(
                video_nr,
                (),
                (),
                (),
                blocked="v4l2loopback is not installed and no known package manager (apt, dnf, "
                "pacman, zypper) was found: install v4l2loopback with your distribution's "
                "tools (or build it from its source, github.com/umlaeute/v4l2loopback), then "
                "run camfx setup virtual-camera again",
            )
        names = packages(facts.package_manager, facts)
        steps.append(
            Step(
                StepKind.INSTALL,
                f"install {', '.join(names)}",
                install_command(facts.package_manager, names),
            )
        )
        if facts.package_manager is PackageManager.DNF:
            notes.append(
                "Fedora: v4l2loopback comes from RPM Fusion (rpmfusion.org/Configuration); "
                "enable it first if dnf does not find the package"
            )
    if not any(line.strip() == MODULE for line in (facts.modules_load_conf or "").splitlines()):
        steps.append(
            Step(
                StepKind.WRITE,
                f"load the module at every start ({MODULES_LOAD_FILE})",
                _write_command(facts, MODULES_LOAD_FILE, MODULES_LOAD_CONF),
            )
        )
    wanted_conf = modprobe_conf(video_nr)
    if facts.modprobe_conf != wanted_conf:
        steps.append(
            Step(
                StepKind.WRITE,
                f"its options: {modprobe_options(video_nr)} ({MODPROBE_FILE})",
                _write_command(facts, MODPROBE_FILE, wanted_conf),
            )
        )
    for other in facts.other_option_files:
        notes.append(
            f"{other} also sets v4l2loopback options; modprobe applies both files, so "
            "remove its options line if the camfx camera does not appear"
        )
    ready = facts.ready
    secure_boot_blocks = (
        facts.secure_boot is SecureBoot.ON
        and facts.key_state in (KeyState.NOT_ENROLLED,)
        and not facts.module_loaded
    )
    if not ready:
        if facts.module_loaded:
            what = (
                "without exclusive_caps=1 (Chrome, Zoom and Teams would not list it)"
                if not facts.exclusive_caps
                else "without any device"
            )
            steps.append(
                Step(
                    StepKind.UNLOAD,
                    f"unload v4l2loopback, loaded {what} (apps using a loopback camera must "
                    "close it first)",
                    f"modprobe -r {MODULE}",
                )
            )
        if secure_boot_blocks:
            user.extend(mok_steps(facts.signing_key))
        else:
            steps.append(
                Step(
                    StepKind.LOAD,
                    "load the module",
                    f"modprobe {MODULE} {modprobe_options(video_nr)}",
                )
            )
            device = _path(facts, f"/dev/video{video_nr}")
            steps.append(
                Step(
                    StepKind.CHECK,
                    f"wait for /dev/video{video_nr}",
                    f"for i in 1 2 3 4 5 6 7 8 9 10; do [ -e {device} ] && break; "
                    f"sleep 0.5; done; [ -e {device} ]",
                )
            )
            if facts.secure_boot is SecureBoot.ON and facts.key_state is not KeyState.ENROLLED:
                notes.append(
                    'Secure Boot is on: if loading fails with "Key was rejected by service", '
                    "the module's signing key must be enrolled; camfx then says how"
                )
    return Plan(video_nr, tuple(steps), tuple(user), tuple(notes))


# ---- running it --------------------------------------------------------------------------------


def elevation(facts: Facts, graphical: bool, which: Callable[[str], str | None]) -> list[str]:
    """The prefix that runs the script as root: nothing for root, else pkexec (window) or
    sudo (terminal)."""
    if facts.is_root:
        return []
    for tool in ("pkexec", "sudo") if graphical else ("sudo", "pkexec"):
        if which(tool):
            return [tool]
    raise SetupError("this needs root, and neither sudo nor pkexec was found; run it as root")


class SetupError(Exception):
    """A one-line reason the set-up cannot go on (exit code 2)."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    before: Plan
    after: Facts
    lines: tuple[str, ...]


def execute(
    plan: Plan,
    facts: Facts,
    system: System | None = None,
    graphical: bool = False,
    echo: Callable[[str], None] = print,
) -> Outcome:
    """Run the plan's root steps as one script under one elevation, then look again."""
    system = system or System()
    if plan.steps:
        argv = [*elevation(facts, graphical, system.which), "sh", "-c", plan.script()]
        echo(f"camfx setup: running {len(plan.steps)} step(s) as root ({argv[0]})")
        result = system.run(argv)
        for line in result.output.splitlines():
            echo(line)
        if result.returncode in (126, 127) and argv[0] == "pkexec":
            raise SetupError("the administrator password was not given (pkexec was cancelled)")
    after = probe(system)
    lines = list(report(after))
    return Outcome(after.ready, plan, after, tuple(lines))


def report(facts: Facts) -> list[str]:
    device = facts.camfx_device or (facts.devices[0] if facts.devices else None)
    if facts.ready and device is not None:
        return [f'camfx setup: ready: /dev/video{device.number} "{device.name}" (exclusive_caps=1)']
    lines = ["camfx setup: the camfx camera is not there yet."]
    if facts.secure_boot is SecureBoot.ON and facts.key_state is not KeyState.ENROLLED:
        lines += list(mok_steps(facts.signing_key))
    elif not facts.module_built:
        lines.append("v4l2loopback is still not installed; see the package manager's words above")
    elif facts.module_loaded and not facts.exclusive_caps:
        lines.append(
            "v4l2loopback is loaded without exclusive_caps=1: close the apps that use a "
            "loopback camera (OBS, a browser tab) and run this again"
        )
    return lines


def describe(facts: Facts) -> list[str]:
    """What was found, one line each (the first part of the command's output)."""
    manager = facts.package_manager.value if facts.package_manager else "none found"
    loaded = "no"
    if facts.module_loaded:
        loaded = f"yes (exclusive_caps={facts.options.get('exclusive_caps', '?')})"
    devices = ", ".join(f'/dev/video{d.number} "{d.name}"' for d in facts.devices) or "none"
    key = facts.key_state.value + (f" ({facts.signing_key})" if facts.signing_key else "")
    return [
        f"package manager: {manager}",
        f"kernel {facts.kernel}, headers: {'yes' if facts.headers else 'no'}",
        f"v4l2loopback built: {'yes' if facts.module_built else 'no'}; loaded: {loaded}",
        f"loopback devices: {devices}",
        f"Secure Boot: {facts.secure_boot.value}; module signing key: {key}",
    ]


# ---- Windows and macOS: OBS's virtual camera ---------------------------------------------------

OBS_WINDOWS_MODULE = "obs-studio/data/obs-plugins/win-dshow/obs-virtualcam-module64.dll"
OBS_MAC_EXTENSION = (
    "Applications/OBS.app/Contents/Library/SystemExtensions/"
    "com.obsproject.obs-studio.mac-camera-extension.systemextension"
)
OBS_MAC_DAL_PLUGIN = "Library/CoreMediaIO/Plug-Ins/DAL/obs-mac-virtualcam.plugin"


def obs_instructions(
    platform: str = sys.platform, root: Path = Path("/"), program_files: str | None = None
) -> tuple[bool, list[str]]:
    """Whether OBS's virtual camera is installed, and exactly what to click."""
    if platform == "win32":
        folders = (
            [program_files]
            if program_files
            else [
                os.environ.get("PROGRAMFILES", r"C:\Program Files"),
                os.environ.get("PROGRAMW6432", r"C:\Program Files"),
            ]
        )
        found = any(Path(f, OBS_WINDOWS_MODULE).exists() for f in folders if f)
        if not found:
            return False, [
                "OBS Studio's virtual camera is not installed.",
                "1. Install OBS Studio 26 or newer from obsproject.com (the installer adds the "
                '"OBS Virtual Camera" driver; it asks for administrator rights).',
                '2. Start OBS once and click "Start Virtual Camera" (Controls, bottom right), '
                'then "Stop Virtual Camera" and close OBS.',
                '3. Run camfx; meeting apps list "OBS Virtual Camera".',
            ]
        return True, [
            "OBS Virtual Camera is installed.",
            'If camfx cannot open it: start OBS once, click "Start Virtual Camera", then '
            '"Stop Virtual Camera", close OBS. In the meeting app pick "OBS Virtual Camera".',
        ]
    if platform == "darwin":
        found = (root / OBS_MAC_EXTENSION).exists() or (root / OBS_MAC_DAL_PLUGIN).exists()
        if not found:
            return False, [
                "OBS Studio's virtual camera is not installed.",
                "1. Install OBS Studio 30 or newer from obsproject.com and drag it to "
                "Applications.",
                '2. Start OBS, click "Start Virtual Camera" (Controls, bottom right).',
                "3. macOS asks to allow the system extension: System Settings > Privacy & "
                'Security > click "Allow" next to OBS, enter your password.',
                '4. Click "Stop Virtual Camera" and quit OBS. Restart the meeting app; it '
                'lists "OBS Virtual Camera".',
            ]
        return True, [
            "OBS Virtual Camera is installed.",
            'If camfx cannot open it: start OBS, click "Start Virtual Camera"; if macOS asks, '
            "allow the extension in System Settings > Privacy & Security; then stop it and "
            "quit OBS.",
        ]
    return False, [f"no virtual camera set-up is known for {platform}"]


# ---- Windows: Unity Capture, a virtual camera without OBS --------------------------------------

UNITY_CAPTURE_URL = "https://github.com/schellingb/UnityCapture"
UNITY_CAPTURE_NAME = "Unity Video Capture"
# The filter registers its device i as the COM class {5C2CD55C-92AD-4999-8666-912BD3E700XX},
# XX = 0x10 + i for 64-bit programs, skipping 0x11 (the filter library's own): pyvirtualcam's
# unitycapture backend finds the devices the same way (native_windows_unity_capture). Its
# shared memory names allow 'z' − '0' = 74 devices.
UNITY_CAPTURE_CLSID = "CLSID\\{{5C2CD55C-92AD-4999-8666-912BD3E700{:02X}}}"
UNITY_CAPTURE_MAX_DEVICES = ord("z") - ord("0")

RegistryReader = Callable[[str], str | None]
"""The default value of a key under HKEY_CLASSES_ROOT, or None where it does not exist."""


def read_classes_root(key: str) -> str | None:
    """:data:`RegistryReader` of this machine's registry (None everywhere but on Windows)."""
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, key) as handle:
            value, _kind = winreg.QueryValueEx(handle, "")
    except OSError:
        return None
    return str(value)


def unity_capture_devices(read: RegistryReader = read_classes_root) -> list[str]:
    """The names of the registered Unity Capture devices (as meeting apps list them)."""
    names = []
    for index in range(UNITY_CAPTURE_MAX_DEVICES):
        # Trailing blanks trimmed, as pyvirtualcam does before comparing a device's name.
        name = (read(UNITY_CAPTURE_CLSID.format(0x10 + index + (1 if index else 0))) or "").rstrip()
        if name:
            names.append(name)
    return names


@dataclass(frozen=True)
class Machine:
    """Where the Windows/macOS checks look: the file system's root, Windows' Program Files
    folders and its registry (all replaced by fakes in the tests)."""

    platform: str = sys.platform
    root: Path = Path("/")
    program_files: str | None = None
    read_registry: RegistryReader = read_classes_root


@dataclass(frozen=True)
class CameraCheck:
    """One virtual camera driver on this machine: whether it is installed, what to do."""

    name: str
    backend: str
    """pyvirtualcam's backend name."""
    found: bool
    lines: tuple[str, ...]


def _check_obs(machine: Machine) -> CameraCheck:
    found, lines = obs_instructions(machine.platform, machine.root, machine.program_files)
    return CameraCheck("OBS Virtual Camera", "obs", found, tuple(lines))


def _check_unity_capture(machine: Machine) -> CameraCheck:
    devices = unity_capture_devices(machine.read_registry)
    if devices:
        listed = ", ".join(f'"{d}"' for d in devices)
        return CameraCheck(
            UNITY_CAPTURE_NAME,
            "unitycapture",
            True,
            (
                f"Unity Capture is installed (no OBS needed): {listed}.",
                f'In the meeting app pick "{devices[0]}". camfx sends to the first '
                'device; "virtualcam:NAME" picks another.',
                "If the picture shows a message about the resolution, set the meeting app's "
                "camera resolution to camfx's output size (1280x720 unless --size says "
                "otherwise).",
            ),
        )
    return CameraCheck(
        UNITY_CAPTURE_NAME,
        "unitycapture",
        False,
        (
            "Unity Capture is not installed (a small DirectShow filter, MIT licence; "
            "no OBS needed).",
            f"1. Download it from {UNITY_CAPTURE_URL} (Code > Download ZIP) and unpack it "
            r"where it can stay, e.g. C:\Program Files\UnityCapture.",
            '2. In its Install folder, right-click Install.bat > "Run as administrator" (it '
            "registers the filter with regsvr32; Uninstall.bat removes it again).",
            f'3. Run camfx; meeting apps list "{UNITY_CAPTURE_NAME}".',
        ),
    )


CAMERA_CHECKS: dict[str, tuple[Callable[[Machine], CameraCheck], ...]] = {
    # Unity Capture first: it needs no OBS. pyvirtualcam itself tries OBS first when both are
    # there, which is fine: either one works.
    "win32": (_check_unity_capture, _check_obs),
    "darwin": (_check_obs,),
}
"""The virtual camera drivers camfx can drive on each OS other than Linux."""


def virtual_camera_instructions(machine: Machine | None = None) -> tuple[bool, list[str]]:
    """Whether any virtual camera driver is installed on Windows/macOS, and what to do: the
    installed ones' notes, or how to install each (the one that needs no OBS first)."""
    machine = machine or Machine()
    checks = [check(machine) for check in CAMERA_CHECKS.get(machine.platform, ())]
    if not checks:
        return False, [f"no virtual camera set-up is known for {machine.platform}"]
    found = [c for c in checks if c.found]
    if found:
        return True, [line for c in found for line in c.lines]
    if len(checks) == 1:
        return False, list(checks[0].lines)
    lines = [f"No virtual camera is installed; any one of these {len(checks)} works:"]
    for letter, check in zip("ABCDEFGH", checks, strict=False):
        lines.append(f"{letter}) {check.name}:")
        lines.extend(f"   {line}" for line in check.lines)
    return False, lines
