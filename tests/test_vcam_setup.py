"""``camfx setup virtual-camera`` against a fake root and fake commands.

The fake root holds /sys, /dev, /etc and /lib/modules; the fake commands (apt-get, modprobe,
modinfo, mokutil, sudo, pkexec: small shell scripts) change it the way the real ones change a
machine: the package manager drops a built module (and a DKMS signing key), modprobe loads it
(its parameters appear under /sys/module, the device under /sys/class/video4linux and /dev) or
refuses it under Secure Boot with "Key was rejected by service". The plan's script runs for
real through ``sh``, so what --dry-run prints is what runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from app import vcam_setup as vs

KERNEL = "6.1.0-21-amd64"
KO = f"lib/modules/{KERNEL}/updates/dkms/v4l2loopback.ko.xz"

FAKE_COMMON = """#!/bin/sh
echo "$(basename "$0") $*" >> "$FAKE_ROOT/commands.log"
"""
FAKE_PACKAGE_MANAGER = (
    FAKE_COMMON
    + """case "$*" in *install*|-S*)
  mkdir -p "$FAKE_ROOT/$(dirname "$FAKE_KO")" && : > "$FAKE_ROOT/$FAKE_KO"
  if [ -n "$FAKE_DKMS_KEY" ]; then
    mkdir -p "$FAKE_ROOT/var/lib/dkms" && echo key > "$FAKE_ROOT/var/lib/dkms/mok.pub"
  fi ;;
esac
exit 0
"""
)
FAKE_MODINFO = (
    FAKE_COMMON
    + """[ -e "$FAKE_ROOT/$FAKE_KO" ] && { echo "/$FAKE_KO"; exit 0; }
echo "modinfo: ERROR: Module v4l2loopback not found." >&2; exit 1
"""
)
FAKE_MODPROBE = (
    FAKE_COMMON
    + """sys="$FAKE_ROOT/sys"
if [ "$1" = "-r" ]; then
  for d in "$sys"/class/video4linux/video*; do
    [ -e "$d/device" ] && continue
    n=$(basename "$d"); rm -rf "$d" "$FAKE_ROOT/dev/$n"
  done
  rm -rf "$sys/module/v4l2loopback"; exit 0
fi
[ -e "$FAKE_ROOT/$FAKE_KO" ] || {
  echo "modprobe: FATAL: Module v4l2loopback not found" >&2; exit 1
}
if [ -n "$FAKE_SB_REJECT" ]; then
  echo "modprobe: ERROR: could not insert 'v4l2loopback': Key was rejected by service" >&2; exit 1
fi
shift
p="$sys/module/v4l2loopback/parameters"; mkdir -p "$p"
nr=0; label=Dummy; caps=N
for opt in "$@"; do
  case "$opt" in
    video_nr=*) nr=${opt#video_nr=} ;;
    card_label=*) label=${opt#card_label=} ;;
    exclusive_caps=1) caps=Y ;;
  esac
done
echo "$nr" > "$p/video_nr"; echo "$label" > "$p/card_label"; echo "$caps" > "$p/exclusive_caps"
mkdir -p "$sys/class/video4linux/video$nr" "$FAKE_ROOT/dev"
echo "$label" > "$sys/class/video4linux/video$nr/name"; : > "$FAKE_ROOT/dev/video$nr"
"""
)
FAKE_MOKUTIL = (
    FAKE_COMMON
    + """case "$1" in
  --sb-state) echo "SecureBoot $FAKE_SB" ;;
  --test-key)
    if [ -n "$FAKE_KEY_ENROLLED" ]; then echo "$2 is already enrolled"
    else echo "$2 is not enrolled"; fi ;;
esac
"""
)
FAKE_ELEVATE = FAKE_COMMON + 'exec "$@"\n'


class FakeMachine:
    def __init__(self, tmp_path: Path, manager: str | None = "apt-get") -> None:
        self.root = tmp_path / "root"
        self.bin = tmp_path / "bin"
        self.root.mkdir()
        self.bin.mkdir()
        self.env: dict[str, str] = {"FAKE_ROOT": str(self.root), "FAKE_KO": KO}
        scripts = {
            "modinfo": FAKE_MODINFO,
            "modprobe": FAKE_MODPROBE,
            "mokutil": FAKE_MOKUTIL,
            "sudo": FAKE_ELEVATE,
            "pkexec": FAKE_ELEVATE,
        }
        if manager:
            scripts[manager] = FAKE_PACKAGE_MANAGER
        for name, text in scripts.items():
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        self.secure_boot("disabled")
        (self.root / "sys/firmware/efi").mkdir(parents=True)
        (self.root / "lib/modules" / KERNEL / "build").mkdir(parents=True)
        (self.root / "etc/modprobe.d").mkdir(parents=True)

    def secure_boot(self, state: str) -> None:
        self.env["FAKE_SB"] = state

    def run(self, argv: Sequence[str]) -> vs.CommandResult:
        # The shell is the real one (it runs the plan's script, whose commands find the fakes
        # first on PATH); any other command is a fake or missing.
        if argv[0] == "sh":
            program = "/bin/sh"
        elif (self.bin / argv[0]).exists():
            program = str(self.bin / argv[0])
        else:
            return vs.CommandResult(127, f"{argv[0]}: not found")
        env = {**os.environ, **self.env, "PATH": f"{self.bin}:/usr/bin:/bin"}
        done = subprocess.run(
            [program, *argv[1:]],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        return vs.CommandResult(done.returncode, (done.stdout + done.stderr).strip())

    def which(self, name: str) -> str | None:
        return str(self.bin / name) if (self.bin / name).exists() else None

    def system(self, is_root: bool = True) -> vs.System:
        return vs.System(self.root, self.run, self.which, KERNEL, is_root)

    def camera(self, number: int, name: str = "Integrated Camera") -> None:
        node = self.root / f"sys/class/video4linux/video{number}"
        (node / "device").mkdir(parents=True)
        (node / "name").write_text(name + "\n")
        (self.root / "dev").mkdir(exist_ok=True)
        (self.root / f"dev/video{number}").write_text("")

    def built(self) -> None:
        (self.root / KO).parent.mkdir(parents=True, exist_ok=True)
        (self.root / KO).write_text("")

    def load(self, *options: str) -> None:
        assert self.run(["modprobe", "v4l2loopback", *options]).returncode == 0

    def commands(self) -> list[str]:
        log = self.root / "commands.log"
        return log.read_text().splitlines() if log.exists() else []

    def root_commands(self) -> list[str]:
        """The commands that changed something (not the look-ups)."""
        probes = ("mokutil --sb-state", "mokutil --test-key", "modinfo ")
        return [c for c in self.commands() if not c.startswith(probes)]


@pytest.fixture
def machine(tmp_path: Path) -> FakeMachine:
    return FakeMachine(tmp_path)


def kinds(plan: vs.Plan) -> list[vs.StepKind]:
    return [step.kind for step in plan.steps]


def set_up(machine: FakeMachine, graphical: bool = False, is_root: bool = True) -> vs.Outcome:
    system = machine.system(is_root)
    facts = vs.probe(system)
    lines: list[str] = []
    return vs.execute(vs.make_plan(facts), facts, system, graphical, echo=lines.append)


# ---- from nothing ----------------------------------------------------------------------------


def test_bare_machine_plan_installs_writes_loads_and_checks(machine: FakeMachine) -> None:
    facts = vs.probe(machine.system())
    assert facts.package_manager is vs.PackageManager.APT
    assert not facts.module_built and not facts.module_loaded and facts.devices == ()
    assert facts.secure_boot is vs.SecureBoot.OFF
    plan = vs.make_plan(facts)
    assert kinds(plan) == [
        vs.StepKind.INSTALL,
        vs.StepKind.WRITE,
        vs.StepKind.WRITE,
        vs.StepKind.LOAD,
        vs.StepKind.CHECK,
    ]
    assert plan.video_nr == 10
    assert "apt-get install -y -qq v4l2loopback-dkms" in plan.steps[0].command
    assert "linux-headers" not in plan.steps[0].command  # the headers are there
    assert plan.steps[3].command == (
        "modprobe v4l2loopback devices=1 video_nr=10 card_label=camfx exclusive_caps=1"
    )
    assert plan.user_steps == () and plan.blocked is None and not plan.done
    assert machine.root_commands() == []  # probing changed nothing


def test_set_up_from_nothing_then_nothing_more_to_do(machine: FakeMachine) -> None:
    outcome = set_up(machine)
    assert outcome.ok, outcome.lines
    assert outcome.lines == ('camfx setup: ready: /dev/video10 "camfx" (exclusive_caps=1)',)
    assert (machine.root / "etc/modules-load.d/camfx.conf").read_text().splitlines()[-1] == (
        "v4l2loopback"
    )
    modprobe_conf = (machine.root / "etc/modprobe.d/camfx.conf").read_text()
    assert modprobe_conf.splitlines()[-1] == (
        "options v4l2loopback devices=1 video_nr=10 card_label=camfx exclusive_caps=1"
    )
    assert modprobe_conf == vs.modprobe_conf(10)
    assert (machine.root / "sys/module/v4l2loopback/parameters/exclusive_caps").read_text() == (
        "Y\n"
    )
    changed = machine.root_commands()
    assert changed == [
        "apt-get update -qq",
        "apt-get install -y -qq v4l2loopback-dkms",
        "modprobe v4l2loopback devices=1 video_nr=10 card_label=camfx exclusive_caps=1",
    ]
    # Idempotent: a second run finds everything in place and runs nothing as root.
    again = vs.make_plan(vs.probe(machine.system()))
    assert again.done and again.steps == ()
    second = set_up(machine)
    assert second.ok
    assert machine.root_commands() == changed


def test_missing_headers_are_installed_with_the_module(machine: FakeMachine) -> None:
    (machine.root / "lib/modules" / KERNEL / "build").rmdir()
    plan = vs.make_plan(vs.probe(machine.system()))
    assert plan.steps[0].command.endswith(f"v4l2loopback-dkms linux-headers-{KERNEL}")


def test_taken_video_number_moves_to_the_next_free_one(machine: FakeMachine) -> None:
    machine.camera(0)
    machine.camera(10, "USB Camera")
    outcome = set_up(machine)
    assert outcome.ok and outcome.before.video_nr == 11
    assert outcome.after.camfx_device == vs.LoopbackDevice(11, "camfx")
    assert [d.number for d in outcome.after.devices] == [11]  # the cameras are not loopbacks


# ---- Secure Boot --------------------------------------------------------------------------------


def test_secure_boot_off_loads_without_user_steps(machine: FakeMachine) -> None:
    machine.built()
    plan = vs.make_plan(vs.probe(machine.system()))
    assert vs.StepKind.LOAD in kinds(plan) and plan.user_steps == () and plan.notes == ()


def test_secure_boot_from_the_efi_variable_without_mokutil(machine: FakeMachine) -> None:
    (machine.bin / "mokutil").unlink()
    assert vs.probe(machine.system()).secure_boot is vs.SecureBoot.UNKNOWN  # EFI, no variable
    efivars = machine.root / "sys/firmware/efi/efivars"
    efivars.mkdir()
    variable = machine.root / vs.SECURE_BOOT_EFIVAR.lstrip("/")
    variable.write_bytes(b"\x06\x00\x00\x00\x01")
    assert vs.probe(machine.system()).secure_boot is vs.SecureBoot.ON
    variable.write_bytes(b"\x06\x00\x00\x00\x00")
    assert vs.probe(machine.system()).secure_boot is vs.SecureBoot.OFF
    shutil.rmtree(machine.root / "sys/firmware/efi")
    assert vs.probe(machine.system()).secure_boot is vs.SecureBoot.OFF  # legacy BIOS boot


def test_secure_boot_on_key_not_enrolled_leaves_enrolment_to_the_user(
    machine: FakeMachine,
) -> None:
    machine.secure_boot("enabled")
    machine.built()
    (machine.root / "var/lib/dkms").mkdir(parents=True)
    (machine.root / "var/lib/dkms/mok.pub").write_text("key")
    facts = vs.probe(machine.system())
    assert facts.secure_boot is vs.SecureBoot.ON
    assert facts.key_state is vs.KeyState.NOT_ENROLLED
    assert facts.signing_key == "/var/lib/dkms/mok.pub"
    plan = vs.make_plan(facts)
    # The files are written (the module then loads at the first start after enrolment), but
    # loading now would only be refused.
    assert kinds(plan) == [vs.StepKind.WRITE, vs.StepKind.WRITE]
    text = "\n".join(plan.user_steps)
    assert "sudo mokutil --import /var/lib/dkms/mok.pub" in text
    assert "Enroll MOK" in text and "Reboot" in text and "Key was rejected by service" in text


def test_secure_boot_on_key_enrolled_just_loads(machine: FakeMachine) -> None:
    machine.secure_boot("enabled")
    machine.env["FAKE_KEY_ENROLLED"] = "1"
    machine.built()
    (machine.root / "var/lib/dkms").mkdir(parents=True)
    (machine.root / "var/lib/dkms/mok.pub").write_text("key")
    facts = vs.probe(machine.system())
    assert facts.key_state is vs.KeyState.ENROLLED
    plan = vs.make_plan(facts)
    assert vs.StepKind.LOAD in kinds(plan) and plan.user_steps == ()
    assert set_up(machine).ok


def test_secure_boot_on_from_nothing_refused_then_says_how_to_enrol(
    machine: FakeMachine,
) -> None:
    """Before the install there is no key to test; DKMS makes one, the kernel refuses the
    unsigned-by-an-enrolled-key module, and the outcome names the key and the steps."""
    machine.secure_boot("enabled")
    machine.env["FAKE_DKMS_KEY"] = "1"
    machine.env["FAKE_SB_REJECT"] = "1"
    plan = vs.make_plan(vs.probe(machine.system()))
    assert vs.StepKind.LOAD in kinds(plan)
    assert any("Key was rejected by service" in n for n in plan.notes)
    outcome = set_up(machine)
    assert not outcome.ok
    text = "\n".join(outcome.lines)
    assert "sudo mokutil --import /var/lib/dkms/mok.pub" in text
    # The part that could be done was done: installed and configured for the next start.
    assert (machine.root / "etc/modprobe.d/camfx.conf").exists()
    assert outcome.after.module_built and not outcome.after.module_loaded


# ---- a module loaded before ---------------------------------------------------------------------


def test_loaded_without_exclusive_caps_is_reloaded(machine: FakeMachine) -> None:
    machine.built()
    machine.load("devices=1", "video_nr=5", "card_label=Loopback")
    facts = vs.probe(machine.system())
    assert facts.module_loaded and not facts.exclusive_caps
    assert facts.options["exclusive_caps"] == "N"
    plan = vs.make_plan(facts)
    assert kinds(plan) == [
        vs.StepKind.WRITE,
        vs.StepKind.WRITE,
        vs.StepKind.UNLOAD,
        vs.StepKind.LOAD,
        vs.StepKind.CHECK,
    ]
    assert "exclusive_caps=1" in plan.steps[2].why
    outcome = set_up(machine)
    assert outcome.ok
    assert outcome.after.options["exclusive_caps"] == "Y"
    assert [d.name for d in outcome.after.devices] == ["camfx"]


def test_loaded_with_exclusive_caps_for_obs_is_kept(machine: FakeMachine) -> None:
    machine.built()
    machine.load("devices=1", "video_nr=10", "card_label=OBS Cam", "exclusive_caps=1")
    facts = vs.probe(machine.system())
    assert facts.ready
    plan = vs.make_plan(facts)
    # No unload: camfx uses the device that is there; the files apply from the next start.
    assert kinds(plan) == [vs.StepKind.WRITE, vs.StepKind.WRITE]
    assert plan.video_nr == 11


def test_other_option_files_are_pointed_out(machine: FakeMachine) -> None:
    (machine.root / "etc/modprobe.d/v4l2loopback.conf").write_text(
        "options v4l2loopback devices=2\n"
    )
    plan = vs.make_plan(vs.probe(machine.system()))
    assert any(n.startswith("/etc/modprobe.d/v4l2loopback.conf also sets") for n in plan.notes)


# ---- package managers and elevation ------------------------------------------------------------


def test_no_package_manager_and_no_module_is_blocked(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, manager=None)
    facts = vs.probe(machine.system())
    assert facts.package_manager is None
    plan = vs.make_plan(facts)
    assert plan.steps == () and plan.blocked is not None
    assert "no known package manager (apt, dnf, pacman, zypper)" in plan.blocked
    assert "\n" not in plan.blocked


def test_no_package_manager_but_module_built_still_loads(tmp_path: Path) -> None:
    machine = FakeMachine(tmp_path, manager=None)
    machine.built()
    assert set_up(machine).ok


@pytest.mark.parametrize(
    ("manager", "kernel", "expected"),
    [
        ("dnf", KERNEL, "dnf install -y -q v4l2loopback akmod-v4l2loopback"),
        ("pacman", "6.6.30-1-lts", "pacman -S --needed --noconfirm v4l2loopback-dkms"),
        ("zypper", KERNEL, "zypper --non-interactive install v4l2loopback-kmp-default"),
    ],
)
def test_other_package_managers(tmp_path: Path, manager: str, kernel: str, expected: str) -> None:
    machine = FakeMachine(tmp_path, manager=manager)
    system = vs.System(machine.root, machine.run, machine.which, kernel, True)
    facts = vs.probe(system)
    assert facts.package_manager is vs.PackageManager(manager)
    plan = vs.make_plan(facts)
    assert plan.steps[0].command.startswith(expected)
    if manager == "pacman":  # no headers for this kernel in the fake root: the LTS ones
        assert plan.steps[0].command.endswith("v4l2loopback-dkms linux-lts-headers")
    assert set_up(machine).ok


def test_one_elevation_for_everything(machine: FakeMachine) -> None:
    outcome = set_up(machine, graphical=True, is_root=False)
    assert outcome.ok
    elevations = [c for c in machine.commands() if c.startswith(("pkexec", "sudo"))]
    assert len(elevations) == 1 and elevations[0].startswith("pkexec sh -c set -e")
    facts = vs.probe(machine.system(is_root=False))
    assert vs.elevation(facts, False, machine.which) == ["sudo"]
    assert vs.elevation(facts, True, machine.which) == ["pkexec"]
    with pytest.raises(vs.SetupError, match="neither sudo nor pkexec"):
        vs.elevation(facts, True, lambda _: None)


def test_cancelled_password_is_a_setup_error(machine: FakeMachine) -> None:
    (machine.bin / "pkexec").write_text(FAKE_COMMON + "exit 126\n")
    with pytest.raises(vs.SetupError, match="pkexec was cancelled"):
        set_up(machine, graphical=True, is_root=False)
    assert not (machine.root / "etc/modprobe.d/camfx.conf").exists()


def test_script_is_what_dry_run_prints(machine: FakeMachine) -> None:
    plan = vs.make_plan(vs.probe(machine.system()))
    script = plan.script()
    for step in plan.steps:
        assert step.command in script
    assert script.startswith("set -e\n")  # a failing step stops the rest


# ---- the command on this machine, and Windows/macOS ---------------------------------------------


def test_cli_dry_run_on_this_machine(python_exe: str, repo_root: Path) -> None:
    done = subprocess.run(
        [python_exe, "-m", "app.cli", "setup", "virtual-camera", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=repo_root,
        env={**os.environ, "PYTHONPATH": str(repo_root)},
        check=False,
    )
    if not sys.platform.startswith("linux"):
        pytest.skip("the Linux set-up")
    out = done.stdout
    assert "Traceback" not in done.stderr
    assert "camfx setup: Secure Boot:" in out
    facts = vs.probe()
    plan = vs.make_plan(facts)
    if plan.blocked:
        assert done.returncode == 2 and plan.blocked in done.stderr
    elif plan.done:
        assert done.returncode == 0 and "ready" in out
    else:
        assert done.returncode == 0, done.stderr
        assert out.rstrip().endswith("camfx setup: dry run: nothing was changed")
        for step in plan.steps:
            assert f"  {step.command}\n" in out
    assert not Path("/etc/modprobe.d/camfx.conf").exists() or facts.modprobe_conf


def test_obs_on_windows(tmp_path: Path) -> None:
    found, lines = vs.obs_instructions("win32", program_files=str(tmp_path))
    assert not found and "Start Virtual Camera" in "\n".join(lines)
    module = tmp_path / vs.OBS_WINDOWS_MODULE
    module.parent.mkdir(parents=True)
    module.write_bytes(b"MZ")
    found, lines = vs.obs_instructions("win32", program_files=str(tmp_path))
    assert found and lines[0] == "OBS Virtual Camera is installed."


def test_obs_on_macos(tmp_path: Path) -> None:
    found, lines = vs.obs_instructions("darwin", root=tmp_path)
    assert not found and "Privacy & Security" in "\n".join(lines)
    (tmp_path / vs.OBS_MAC_EXTENSION).mkdir(parents=True)
    assert vs.obs_instructions("darwin", root=tmp_path)[0]


class FakeRegistry:
    """HKEY_CLASSES_ROOT as a dict of key -> default value; records the keys read."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = dict(values or {})
        self.read: list[str] = []

    def __call__(self, key: str) -> str | None:
        self.read.append(key)
        return self.values.get(key)


# The keys Unity Capture's Install.bat writes (regsvr32 of UnityCaptureFilter64.dll) for its
# first device and, with InstallMultipleDevices.bat, the second; the GUID's last byte 0x11 is
# the library's own and holds no device.
UNITY_FIRST = r"CLSID\{5C2CD55C-92AD-4999-8666-912BD3E70010}"
UNITY_SECOND = r"CLSID\{5C2CD55C-92AD-4999-8666-912BD3E70012}"


def test_unity_capture_devices_are_read_where_pyvirtualcam_looks() -> None:
    registry = FakeRegistry(
        {
            UNITY_FIRST: "Unity Video Capture",
            UNITY_SECOND: "Unity Video Capture #2 ",
            r"CLSID\{5C2CD55C-92AD-4999-8666-912BD3E70011}": "not a device",
        }
    )
    assert vs.unity_capture_devices(registry) == ["Unity Video Capture", "Unity Video Capture #2"]
    assert registry.read[:3] == [UNITY_FIRST, UNITY_SECOND, registry.read[2]]
    assert r"CLSID\{5C2CD55C-92AD-4999-8666-912BD3E70011}" not in registry.read
    assert len(registry.read) == vs.UNITY_CAPTURE_MAX_DEVICES
    assert vs.unity_capture_devices(FakeRegistry()) == []


def test_windows_with_nothing_installed_offers_unity_capture_first(tmp_path: Path) -> None:
    machine = vs.Machine("win32", program_files=str(tmp_path), read_registry=FakeRegistry())
    found, lines = vs.virtual_camera_instructions(machine)
    text = "\n".join(lines)
    assert not found
    assert lines[0] == "No virtual camera is installed; any one of these 2 works:"
    assert lines[1] == "A) Unity Video Capture:" and "B) OBS Virtual Camera:" in lines
    assert "Install.bat" in text and "Run as administrator" in text
    assert vs.UNITY_CAPTURE_URL in text and "Start Virtual Camera" in text
    assert text.index("Install.bat") < text.index("Start Virtual Camera")


def test_windows_with_unity_capture_needs_no_obs(tmp_path: Path) -> None:
    registry = FakeRegistry({UNITY_FIRST: "Unity Video Capture"})
    machine = vs.Machine("win32", program_files=str(tmp_path), read_registry=registry)
    found, lines = vs.virtual_camera_instructions(machine)
    assert found
    assert lines[0] == 'Unity Capture is installed (no OBS needed): "Unity Video Capture".'
    assert not any("OBS Studio" in line for line in lines)


def test_windows_with_both_lists_both(tmp_path: Path) -> None:
    module = tmp_path / vs.OBS_WINDOWS_MODULE
    module.parent.mkdir(parents=True)
    module.write_bytes(b"MZ")
    registry = FakeRegistry({UNITY_FIRST: "camfx"})
    machine = vs.Machine("win32", program_files=str(tmp_path), read_registry=registry)
    found, lines = vs.virtual_camera_instructions(machine)
    assert found and '"camfx"' in lines[0]
    assert "OBS Virtual Camera is installed." in lines


def test_macos_checks_obs_only(tmp_path: Path) -> None:
    registry = FakeRegistry({UNITY_FIRST: "Unity Video Capture"})
    machine = vs.Machine("darwin", root=tmp_path, read_registry=registry)
    found, lines = vs.virtual_camera_instructions(machine)
    assert not found and registry.read == []
    assert lines == vs.obs_instructions("darwin", root=tmp_path)[1]
    assert vs.virtual_camera_instructions(vs.Machine("sunos5")) == (
        False,
        ["no virtual camera set-up is known for sunos5"],
    )


def test_registry_is_not_read_off_windows() -> None:
    if sys.platform == "win32":
        pytest.skip("reads the real registry on Windows")
    assert vs.read_classes_root(UNITY_FIRST) is None


def test_cli_on_windows_names_unity_capture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from app.cli import main

    monkeypatch.setattr(vs.sys, "platform", "win32")
    monkeypatch.setattr("app.setup_cmd.sys.platform", "win32")
    machine = vs.Machine("win32", program_files=str(tmp_path), read_registry=FakeRegistry())
    monkeypatch.setattr(vs, "Machine", lambda: machine)
    assert main(["setup", "virtual-camera"]) == 1
    out = capsys.readouterr().out
    assert "A) Unity Video Capture:" in out and "Install.bat" in out


def cli(monkeypatch: pytest.MonkeyPatch, machine: FakeMachine, *args: str) -> int:
    """``camfx setup virtual-camera ARGS`` in this process, looking at the fake machine."""
    from app.cli import main

    real_probe = vs.probe
    monkeypatch.setattr(vs, "probe", lambda system=None: real_probe(machine.system()))
    monkeypatch.setattr(vs.shutil, "which", machine.which)
    return main(["setup", "virtual-camera", *args])


def test_cli_blocked_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    machine = FakeMachine(tmp_path, manager=None)
    assert cli(monkeypatch, machine, "--dry-run") == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("camfx setup: v4l2loopback is not installed")
    assert "camfx setup: package manager: none found" in out


def test_cli_dry_run_prints_every_command_and_changes_nothing(
    machine: FakeMachine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    machine.secure_boot("enabled")
    machine.built()
    (machine.root / "var/lib/dkms").mkdir(parents=True)
    (machine.root / "var/lib/dkms/mok.pub").write_text("key")
    assert cli(monkeypatch, machine, "--dry-run") == 0
    out = capsys.readouterr().out
    plan = vs.make_plan(vs.probe(machine.system()))
    for step in plan.steps:
        assert f"  {step.command}\n" in out
    assert "what only you can do:" in out and "mokutil --import" in out
    assert "Secure Boot: on; module signing key: not enrolled (/var/lib/dkms/mok.pub)" in out
    assert machine.root_commands() == []
    assert not (machine.root / "etc/modprobe.d/camfx.conf").exists()
