"""The app's state without Qt (app/state): presets and their edits, the first run, the source
picker, what the tray and the Devices rows say. No display, no QApplication."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from app.state import AppState, Change, DeviceReport, RowState, StateEvent, TrayLook
from app.state.devices import (
    GPU_FIX,
    AudioInput,
    AudioReport,
    CompiledReport,
    InferenceReport,
    ProviderStatus,
    camera_row,
    inference_row,
    microphone_row,
    virtual_camera_label,
    virtual_camera_row,
)
from app.state.labels import (
    describe_source,
    repair_results,
    source_failure,
    source_label,
    torn_recordings_offer,
)
from app.state.model import FIRST_RUN_PRESET, OFF, apply_edits, models_in_use, normalize_key
from pipelines.inference.session import ProviderReport
from pipelines.outputs.repair import Outcome, RepairReport
from pipelines.presets import Preset, StageSpec, build_stages
from pipelines.sources.camera import CameraInfo
from pipelines.userdata import PresetStore, SettingsStore

CAMERA = CameraInfo(device="0", name="Desk cam", path="/dev/video0")


def make_state(config: Path, settings: dict | None = None) -> tuple[AppState, list[Change]]:
    if settings is not None:
        config.mkdir(parents=True, exist_ok=True)
        (config / "settings.json").write_text(json.dumps({"schema": 1, **settings}))
    state = AppState(SettingsStore(config / "settings.json"), PresetStore(config / "presets"))
    changes: list[Change] = []
    state.subscribe(lambda ev: changes.append(ev.change) if isinstance(ev, StateEvent) else None)
    return state, changes


def run_preset(state: AppState, key: str) -> None:
    """What the controller does for the window: build the stages (with the saved edits)."""
    pick = state.pick_preset(key)
    assert not pick.message and pick.preset is not None
    key, preset = pick.key, pick.preset
    stages = build_stages(preset)
    assert apply_edits(stages, state.overrides_for(key)) == []
    state.preset_running(key, [(s.name, s.settings) for s in stages])


def test_first_run_starts_with_a_visible_preset_and_later_runs_with_the_last(
    tmp_path: Path,
) -> None:
    first, _ = make_state(tmp_path / "new")
    assert first.first_run and first.start_preset() == FIRST_RUN_PRESET == "builtin:studio"
    again, _ = make_state(tmp_path / "old", {"preset": OFF})
    assert not again.first_run and again.start_preset() == OFF


@pytest.mark.parametrize("text", ['{"preset": "builtin:off", "fps": NaN}', "not json", "[1, 2]"])
def test_a_settings_file_moved_aside_whole_starts_as_a_first_start(tmp_path: Path, text) -> None:
    """Nothing of the user's choices could be read (the file is moved aside whole): the window
    starts on the preset that shows what camfx does, as on a first start, not on Off (a QA
    pass found it on Off, 2026-12-06)."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.json").write_text(text, encoding="utf-8")
    state = AppState(SettingsStore(config / "settings.json"), PresetStore(config / "presets"))
    assert state.settings_store.problems, "the broken file is reported"
    assert state.first_run and state.start_preset() == FIRST_RUN_PRESET


def test_a_bare_preset_name_is_the_built_in_one_so_the_preset_box_finds_it(
    tmp_path: Path,
) -> None:
    # A settings file that says "studio" (not "builtin:studio"): the box showed Off.
    state, _ = make_state(tmp_path, {"preset": "studio"})
    assert state.preset_key == "builtin:studio" == normalize_key("studio")
    assert state.start_preset() in {key for key, _ in state.preset_entries()}
    assert normalize_key("user:Mine") == "user:Mine"


def test_unknown_preset_falls_back_to_off_with_the_reason(tmp_path: Path) -> None:
    state, _ = make_state(tmp_path, {"preset": "user:Gone"})
    pick = state.pick_preset("user:Gone", restoring=True)
    assert pick.key == OFF and pick.preset is not None and pick.preset.name == "off"
    assert "Gone" in pick.message and "Using Off" in pick.message
    assert state.preset_failed("user:Gone")  # nothing runs yet: Off should
    run_preset(state, OFF)
    assert not state.preset_failed("builtin:studio")  # Off runs: keep it
    # Picked while something runs, a preset that cannot be used keeps what runs (qa8 H1).
    pick = state.pick_preset("user:Gone")
    assert pick.preset is None and pick.key == OFF and "“Off” keeps running" in pick.message


def test_a_last_preset_that_hid_the_room_and_cannot_be_used_hides_it_at_start(
    tmp_path: Path,
) -> None:
    # qa8: a half-saved privacy preset restored at start fell to Off: the room, sharp, went to
    # the virtual camera. Whether the last preset hid the room is kept beside its name.
    state, _ = make_state(tmp_path, {"preset": "user:Private", "preset_hides_room": True})
    pick = state.pick_preset("user:Private", restoring=True)
    assert pick.key == "builtin:privacy-blur" and pick.preset is not None
    assert pick.preset.hides_room
    assert "Using Privacy blur, as it hid the room" in pick.message, pick.message
    assert state.preset_failed("user:Private")  # built at start and failed: the same fallback
    assert state.start_fallback("user:Private") == "builtin:privacy-blur"
    assert state.start_fallback("builtin:privacy-blur") == OFF  # failing itself: Off is left
    # What runs is remembered with its name.
    run_preset(state, "builtin:privacy-blur")
    assert state.settings.preset_hides_room
    run_preset(state, "builtin:studio")
    assert not state.settings.preset_hides_room
    assert state.start_fallback("user:Gone") == OFF


def test_a_user_preset_with_a_built_ins_name_or_label_is_not_listed_like_it(
    tmp_path: Path,
) -> None:
    """Older user presets "Background blur" and "studio" were listed with the built-ins'
    labels, each twice in the box (qa8 L3)."""
    state, _ = make_state(tmp_path, {"preset": "builtin:off"})
    for name in ("Background blur", "studio", "Mine"):
        state.presets.folder.mkdir(parents=True, exist_ok=True)
        data = Preset(name, ()).to_dict()
        (state.presets.folder / f"{name.replace(' ', '-')}.json").write_text(json.dumps(data))
    entries = dict(state.preset_entries())
    labels = list(entries.values())
    assert len(labels) == len(set(labels)), labels
    assert entries["user:Background blur"] == "Background blur (yours)"
    assert entries["user:studio"] == "studio (yours)" and entries["user:Mine"] == "Mine"


def test_edits_are_the_differences_from_the_saved_preset(tmp_path: Path) -> None:
    state, changes = make_state(tmp_path, {"preset": OFF})
    run_preset(state, "builtin:background-blur")
    assert changes[-1] == Change.PRESET
    assert not state.modified and state.overrides() == {}
    name = "background_blur"
    blur = state.stage_settings[name]
    changed = type(blur).from_dict({**blur.to_dict(), "enabled": False})
    state.update_stage(name, changed)
    assert state.modified
    assert state.overrides() == {name: {"enabled": False}}
    # Kept per preset in the settings, so they come back with it.
    assert state.settings.preset_overrides["builtin:background-blur"] == {name: {"enabled": False}}
    run_preset(state, OFF)
    run_preset(state, "builtin:background-blur")
    assert state.stage_settings[name].enabled is False and state.modified
    # Putting the value back is no edit at all.
    state.update_stage(name, blur)
    assert not state.modified and "builtin:background-blur" not in state.settings.preset_overrides


def test_save_as_new_moves_the_edits_into_a_user_preset(tmp_path: Path) -> None:
    state, changes = make_state(tmp_path, {"preset": OFF})
    run_preset(state, "builtin:background-blur")
    name = "background_blur"
    blur = state.stage_settings[name]
    state.update_stage(name, type(blur).from_dict({**blur.to_dict(), "enabled": False}))
    assert not state.is_user_preset
    key = state.save_preset_as("Quiet")
    assert key == "user:Quiet" and Change.PRESET_LIST in changes
    assert "builtin:background-blur" not in state.settings.preset_overrides
    run_preset(state, key)
    assert state.is_user_preset and not state.modified
    assert state.stage_settings[name].enabled is False
    # Renaming and deleting (the Manage dialog changes the files) keep the keys in step.
    state.presets.rename("Quiet", "Calm")
    state.preset_renamed(key, "user:Calm")
    assert state.preset_key == "user:Calm" == state.settings.preset
    state.presets.delete("Calm")
    assert state.preset_deleted("user:Calm") == OFF  # it was running: Off should run


def test_a_preset_saved_from_privacy_blur_hides_the_room_too(tmp_path: Path) -> None:
    """Save as new keeps the preset's attributes with its edits: the copy of privacy-blur
    gets the window's immediate privacy card (it was rebuilt from name, stages and
    description, and lost it)."""
    state, _ = make_state(tmp_path, {"preset": OFF})
    run_preset(state, "builtin:privacy-blur")
    blur = state.stage_settings["background_blur"]
    state.update_stage("background_blur", blur.replace(strength=0.9))
    assert state.current_preset().hides_room
    key = state.save_preset_as("Hide my room")
    assert state.presets.get("Hide my room").hides_room
    run_preset(state, key)
    assert state.preset.hides_room


def test_a_preset_that_hides_the_room_keeps_what_hides_it_against_the_users_edits(
    tmp_path: Path,
) -> None:
    """Unticking privacy-blur's blur or its segmentation in the window sent the room, sharp,
    to the virtual camera, and the edit, saved, did so again at the next start (qa62): in a
    preset that hides the room what hides it is held (``StageSettings.HIDING_THE_ROOM``), as
    for its file; its other settings are the user's, and so is the same edit elsewhere."""
    state, _ = make_state(tmp_path, {"preset": OFF})
    run_preset(state, "builtin:privacy-blur")
    for name in ("segmentation", "background_blur"):
        kept = state.update_stage(name, state.stage_settings[name].replace(enabled=False))
        assert kept.enabled and state.stage_settings[name].enabled, name
    assert not state.modified and "builtin:privacy-blur" not in state.settings.preset_overrides
    blur = state.stage_settings["background_blur"]
    assert state.update_stage("background_blur", blur.replace(strength=0.9)).strength == 0.9
    # An edit kept from before (settings.json) is held where the stages are built.
    stages = build_stages(state.preset)
    edits = {"segmentation": {"enabled": False}, "background_blur": {"enabled": False}}
    assert apply_edits(stages, edits, state.preset) == []
    assert all(stage.settings.enabled for stage in stages)
    run_preset(state, "builtin:background-blur")
    segmentation = state.stage_settings["segmentation"]
    assert not state.update_stage("segmentation", segmentation.replace(enabled=False)).enabled


def test_deleting_the_running_preset_that_hides_the_room_runs_privacy_blur(
    tmp_path: Path,
) -> None:
    """Deleting the running copy of privacy-blur switched to Off: the room, sharp, at once
    (qa62). It runs the built-in privacy preset instead; another preset deleted while running
    gives Off, and one not running changes nothing."""
    state, _ = make_state(tmp_path, {"preset": OFF})
    run_preset(state, "builtin:privacy-blur")
    key = state.save_preset_as("Private")
    run_preset(state, key)
    state.presets.delete("Private")
    assert state.preset_deleted(key) == "builtin:privacy-blur"
    run_preset(state, "builtin:background-blur")
    other = state.save_preset_as("Soft")
    assert state.preset_deleted("user:Nowhere") is None
    run_preset(state, other)
    state.presets.delete("Soft")
    assert state.preset_deleted(other) == OFF


def test_save_writes_the_edits_into_the_running_user_preset(tmp_path: Path) -> None:
    state, _ = make_state(tmp_path, {"preset": OFF})
    state.presets.save(Preset("Mine", (StageSpec("background_blur", {"enabled": True}),)))
    run_preset(state, "user:Mine")
    blur = state.stage_settings["background_blur"]
    state.update_stage(
        "background_blur", type(blur).from_dict({**blur.to_dict(), "enabled": False})
    )
    saved = state.save_preset()
    assert saved.stages[0].settings["enabled"] is False and not state.modified
    on_disk = json.loads((tmp_path / "presets" / "mine.json").read_text())
    assert on_disk["stages"][0]["settings"]["enabled"] is False


def test_next_preset_cycles_through_the_menu_from_the_last_pick(tmp_path: Path) -> None:
    state, _ = make_state(tmp_path, {"preset": OFF})
    keys = [k for k, _ in state.preset_entries()]
    assert keys[0] == OFF and len(keys) > 4
    state.preset_running(keys[-1], [])
    assert state.next_preset() == OFF
    state.preset_running(OFF, [])
    assert state.next_preset() == keys[1]
    # Presses quicker than a preset applies (qa64: 4 presses 100 ms apart went 2 steps):
    # each steps on from the one picked before, not from the one still running.
    picked = []
    for _ in range(3):
        pick = state.pick_preset(state.next_preset() or "")
        assert pick.preset is not None
        state.preset_picked(pick.key, pick.preset)
        picked.append(pick.key)
    assert picked == keys[1:4] and state.preset_key == OFF


def test_source_picker_entries_and_what_is_remembered(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    state, changes = make_state(tmp_path, {"preset": OFF})
    state.add_recent_file(str(clip))
    state.add_recent_file(str(tmp_path / "gone.png"))  # no longer exists: not offered
    state.set_cameras([CAMERA])
    assert changes[-1] == Change.CAMERAS
    assert state.source_entries() == [
        ("Camera 0: Desk cam", "camera:0"),
        ("Demo (no camera needed)", "demo"),
        ("Video: clip.mp4", f"video:{clip}"),
    ]
    # An automatic choice is not remembered; what the user picked is.
    state.source_opened("demo", {"size": (1280, 720), "fps": 30.0})
    assert state.settings.source == "" and not state.source_is_camera
    state.requested_source = "camera:0"
    state.source_opened("camera:0", {"camera": True})
    assert state.settings.source == "camera:0" and state.source_is_camera


def test_tray_says_when_the_virtual_camera_idles(tmp_path: Path) -> None:
    state, changes = make_state(tmp_path, {"preset": OFF})
    assert state.tray_look() == (TrayLook.IDLE, "camfx — Off, virtual camera off")
    state.vcam_wanted = True
    state.set_virtual_camera("on", "/dev/video10")
    assert state.tray_look() == (TrayLook.LIVE, "camfx — Off, virtual camera on")
    state.set_idle(True)
    assert changes[-1] == Change.IDLE
    look, text = state.tray_look()
    assert look == TrayLook.IDLE and "idle: no app uses it" in text
    state.set_paused(True)
    assert state.tray_look() == (
        TrayLook.PAUSED,
        "camfx — Off, virtual camera on, paused, idle: no app uses it",
    )
    state.set_virtual_camera("unavailable", "gone")
    assert state.tray_look()[0] == TrayLook.ERROR
    assert "idle" in virtual_camera_label("on", "/dev/video10", idle=True)
    assert virtual_camera_label("on", "/dev/video10", idle=False) == "On — /dev/video10"


def test_device_report_from_the_probes_and_its_rows() -> None:
    info = {
        "audio": {"works": False, "inputs": [], "error": "no PortAudio", "hint": "apt install"},
        "inference": {
            "listed": ["CUDA", "CPU"],
            "sessions": {
                "CUDA": {"works": False, "got": "CPU", "reason": "libcublas missing"},
                "CPU": {"works": True, "got": "CPU", "reason": ""},
            },
        },
        "compiled": {"works": False, "error": "no numba", "hint": "pip install numba"},
        "cameras": [CAMERA],
        "virtual_camera": {"backends": ["v4l2loopback"], "hint": "modprobe"},
    }
    report = DeviceReport.from_probes(info)
    assert report.inference.providers == (
        ProviderStatus("CUDA", False, "CPU", "libcublas missing"),
        ProviderStatus("CPU", True, "CPU", ""),
    )
    assert report.cameras == (CAMERA,) and report.virtual_camera.backends == ("v4l2loopback",)
    mic = microphone_row(report.audio)
    assert mic.state == RowState.WARNING and mic.fix == "apt install" and mic.can_retry
    row = inference_row(report.inference, report.compiled)
    assert row.text.startswith("Models run on CPU. Not usable here: CUDA (libcublas missing)")
    assert "slower path: no numba" in row.text
    assert row.fix == f"{GPU_FIX} pip install numba"
    mics = (AudioInput(0, "USB mic"), AudioInput(3, "Headset", default=True))
    ok = microphone_row(AudioReport(True, mics))
    assert (ok.state, ok.text) == (RowState.OK, "2 input(s); default: Headset.")
    fine = inference_row(
        InferenceReport((ProviderStatus("CPU", True, "CPU"),)), CompiledReport(True)
    )
    assert (fine.state, fine.text, fine.fix) == (RowState.OK, "Models run on CPU.", "")


def test_camera_and_virtual_camera_rows() -> None:
    fix = "plug in a camera and press Refresh."
    kw = {"source_label": "Camera 0", "cameras": [CAMERA], "fix": fix}
    assert camera_row(using_camera=True, lost=False, **kw).state == RowState.OK
    lost = camera_row(using_camera=True, lost=True, **kw)
    assert lost.state == RowState.WARNING and "reconnecting" in lost.text and lost.can_retry
    assert camera_row(using_camera=False, lost=False, **kw).text.startswith("Found: Desk cam")
    none = camera_row(using_camera=False, lost=False, source_label="", cameras=[], fix=fix)
    assert none.state == RowState.WARNING and none.fix == fix
    err = camera_row(using_camera=True, lost=False, error="busy", **kw)
    assert (err.state, err.text) == (RowState.ERROR, "busy")
    broken = virtual_camera_row("unavailable", "no device", "load v4l2loopback")
    assert broken.state == RowState.ERROR and broken.can_retry
    if sys.platform.startswith("linux"):
        assert "modprobe v4l2loopback" in broken.command
    assert virtual_camera_row("off", "", "").state == RowState.OFF


def test_source_texts() -> None:
    assert source_label("camera:0", [CAMERA]) == "Camera 0: Desk cam"
    assert source_label("camera") == "Camera 0"
    assert source_label("/tmp/me.png") == "Image: me.png"
    text, modes, chosen = describe_source(
        "camera:0",
        {"camera": True, "size": (640, 480), "fps": 30.0, "requested": (1280, 720, 30.0)},
        None,
    )
    assert (
        text == "The camera gives 640×480 at 30 fps. (asked for 1280×720; the picture is scaled.)"
    )
    assert modes == [] and chosen == [1280, 720, 30.0]
    assert describe_source("demo", {"size": (1280, 720), "fps": 30.0}, None)[0] == (
        "Demo (no camera needed): 1280×720 at 30 fps."
    )
    assert source_failure("camera:0", "busy", "demo", [CAMERA]) == (
        "Camera 0: Desk cam could not be used: busy. Showing Demo (no camera needed) instead."
    )


@pytest.mark.parametrize("running", [True, False])
def test_status_bar_names_the_models_and_where_they_run(running: bool) -> None:
    reports = [
        ProviderReport("face_detector", "CPUExecutionProvider"),
        ProviderReport("selfie_segmentation", "CUDAExecutionProvider"),
        ProviderReport("face_mesh", "CPUExecutionProvider", {"CUDAExecutionProvider": "no cuDNN"}),
    ]
    text, tooltip = models_in_use(reports, running=running)
    if not running:
        assert text == "— (no model in use)"
        return
    assert text == "face_detector, face_mesh on CPU; selfie_segmentation on CUDA (fallback)"
    assert "CUDA refused: no cuDNN" in tooltip
    assert models_in_use([], running=True)[0] == "— (no model in use)"


def test_edits_that_no_longer_fit_are_left_out_and_named() -> None:
    stages = build_stages(Preset("p", (StageSpec("background_blur", {}),)))
    problems = apply_edits(stages, {"background_blur": {"enabled": False, "no_such": 1}})
    assert len(problems) == 1 and problems[0].startswith("background_blur: ")
    assert "no_such" in problems[0]
    assert stages[0].settings.enabled is True  # the stage keeps the preset's settings
    assert apply_edits(stages, {"background_blur": {"enabled": False}}) == []
    assert stages[0].settings.enabled is False


def test_torn_recordings_are_named_in_one_offer() -> None:
    one = torn_recordings_offer([Path("/v/camfx-1.mp4")])
    assert one.startswith("camfx-1.mp4 ends in a torn fragment (camfx was stopped while")
    three = torn_recordings_offer([Path(f"/v/camfx-{i}.mp4") for i in range(3)])
    assert three.startswith("3 recordings end in a torn fragment")
    assert "camfx-0.mp4, camfx-1.mp4, camfx-2.mp4" in three


def test_repair_results_say_what_was_saved_and_what_failed() -> None:
    saved = RepairReport(
        Path("/v/a.mp4"), Outcome.REPAIRED, "…", output=Path("/v/a.repaired.mp4"), seconds=12.2
    )
    assert repair_results([saved]) == ("Saved a.repaired.mp4 (12 s kept)", "info")
    failed = RepairReport(Path("/v/b.mp4"), Outcome.FAILED, "/v/b.mp4 was not repaired: …")
    assert repair_results([saved, failed]) == (
        "Saved a.repaired.mp4 (12 s kept)\n/v/b.mp4 was not repaired: …",
        "error",
    )


def test_a_last_preset_made_by_a_newer_camfx_stays_the_one_to_come_back_to(
    tmp_path: Path,
) -> None:
    """qa64: the last session's preset, written by a newer camfx, ran as Off with a bar, and
    the settings were saved as Off: a newer camfx on the same folder no longer started on it.
    It stays the remembered preset until the user picks another; a broken one does not."""
    from pipelines.userdata import PRESET_SCHEMA_VERSION

    presets = tmp_path / "presets"
    presets.mkdir(parents=True)
    data = {"schema": PRESET_SCHEMA_VERSION + 1, "name": "Future", "stages": []}
    (presets / "future.json").write_text(json.dumps(data))
    state, _ = make_state(tmp_path, {"preset": "user:Future"})
    pick = state.pick_preset(state.start_preset(), restoring=True)
    assert pick.key == OFF and pick.preset is not None and "newer camfx" in pick.message
    state.preset_picked(pick.key, pick.preset)
    state.preset_running(pick.key, [])
    assert state.preset_key == OFF and state.settings.preset == "user:Future"
    run_preset(state, "builtin:studio")  # the user's own pick is remembered again
    assert state.settings.preset == "builtin:studio"
