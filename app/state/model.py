"""The app's state without Qt: preset and its edits, source, outputs, idle, devices.

The window and the tray are views over one :class:`AppState`: they forward what the user does
to it (and to the engine controller), and redraw when it emits a :class:`StateEvent`. Keeping
the decisions here (which preset runs, what counts as an edit, which source is remembered,
what the tray says) lets them be tested without a display, the way napari keeps its
``components`` free of Qt and its ``_qt`` views thin.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum, auto
from pathlib import Path
from typing import Any

from app.state.devices import DeviceReport
from app.state.labels import is_camera, jsonable, source_label
from pipelines.errors import CamfxError
from pipelines.presets import PRESETS, Preset, StageSpec, ensure_stage_registered, held_for_hiding
from pipelines.sources.camera import CameraInfo
from pipelines.sources.files import IMAGE_SUFFIXES
from pipelines.stage import STAGES, Stage, StageSettings
from pipelines.userdata import (
    BUILTIN,
    USER,
    AppSettings,
    PresetStore,
    Problem,
    SettingsStore,
    display_name,
    name_key,
    preset_key,
    resolve_preset,
    split_preset_key,
    user_preset_label,
)

log = logging.getLogger(__name__)

OFF = preset_key(BUILTIN, "off")
HIDING_FALLBACK = preset_key(BUILTIN, "privacy-blur")
"""What a start runs in place of a last preset that hid the room and cannot be used."""
FIRST_RUN_PRESET = preset_key(BUILTIN, "studio")
"""What a first start shows: a visible change on the demo (its background blurs) that also
flatters a camera user (soft background, smoother skin, a low-light lift)."""


class Change(Enum):
    """What changed in an :class:`AppState` (the kind of a :class:`StateEvent`)."""

    PRESET = auto()
    """The running preset, its stages' settings or its edits."""
    PRESET_LIST = auto()
    """Presets were added, renamed or removed."""
    SOURCE = auto()
    CAMERAS = auto()
    VIRTUAL_CAMERA = auto()
    RECORDING = auto()
    PAUSED = auto()
    IDLE = auto()
    DEVICES = auto()
    PROBLEM = auto()
    """:attr:`AppState.last_error` changed."""


@dataclass(frozen=True)
class StateEvent:
    change: Change


class VirtualCamera(StrEnum):
    OFF = "off"
    STARTING = "starting"
    ON = "on"
    UNAVAILABLE = "unavailable"


class TrayLook(StrEnum):
    """The tray icon's look (the names of :mod:`app.gui.icons`' states)."""

    IDLE = "idle"
    LIVE = "live"
    PAUSED = "paused"
    ERROR = "error"


@dataclass(frozen=True)
class PresetPick:
    """What a pick of a preset comes to (:meth:`AppState.pick_preset`)."""

    key: str
    """The preset to run: the one picked, Off, or (with ``preset`` None) the one running."""
    preset: Preset | None
    """What to run; None: keep what runs, the pick cannot be used."""
    message: str = ""
    """The one bar about the pick ("" when it is fine)."""
    other_problems: tuple[Problem, ...] = ()
    """Other preset files the folder's re-read found unusable (their own bar)."""


Listener = Callable[[StateEvent], None]


class AppState:
    def __init__(self, settings_store: SettingsStore, preset_store: PresetStore) -> None:
        self.settings_store = settings_store
        self.presets = preset_store
        self.settings: AppSettings = settings_store.load()
        self.first_run = settings_store.first_run
        self.preset_key = normalize_key(self.settings.preset)
        self.preset: Preset = Preset("off")
        self.stage_settings: dict[str, StageSettings] = {}
        """The running stages' settings, as the user edited them."""
        self.base_settings: dict[str, dict[str, Any]] = {}
        """The preset's settings as saved: edits are the differences from these."""
        self.preset_applied = False
        self.preset_error_key = ""
        self.unusable_pick = ""
        """The user preset whose last pick failed for its file (broken, gone): its bar is moot
        once the folder lists it again (:meth:`unusable_pick_listed`)."""
        self.kept_for_later = ""
        """The last session's preset, where this camfx cannot run it but a newer one can (its
        file made by a newer camfx): still the one the next start asks for, until the user
        picks another (it was saved as Off, and forgotten: qa64)."""
        self._picked: dict[str, Preset] = {}
        """Each preset as :meth:`pick_preset` gave it to run: the base of its edits when it
        runs, though its file may have been re-read since (the 0.7 run came back after a
        re-read of 0.2 and was taken for an edit of it)."""
        self.cameras: list[CameraInfo] = []
        self.source_spec = ""
        self.source_info: dict[str, Any] = {}
        self.requested_source = ""
        self.vcam = VirtualCamera.OFF
        self.vcam_detail = ""
        self.vcam_wanted = False
        self.paused = False
        self.recording = False
        self.idle = False
        self.devices: DeviceReport | None = None
        self.last_error = ""
        self._listeners: list[Listener] = []

    # ----------------------------------------------------------------- events
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, change: Change) -> None:
        event = StateEvent(change)
        for listener in list(self._listeners):
            listener(event)

    # ----------------------------------------------------------------- presets
    def start_preset(self) -> str:
        """The preset to start with: the last one, or on a first start one that shows what
        camfx does."""
        if self.first_run and self.preset_key == OFF:
            return FIRST_RUN_PRESET
        return self.preset_key

    def preset_entries(self) -> list[tuple[str, str]]:
        """(key, label) of every preset in menu order: Off, the built-ins, the user's."""
        names = PRESETS.names()
        names = (["off"] if "off" in names else []) + [n for n in names if n != "off"]
        entries = [(preset_key(BUILTIN, n), display_name(n)) for n in names]
        entries += [
            (preset_key(USER, p.name), user_preset_label(p.name)) for p in self.presets.list()
        ]
        if self.preset_key not in {key for key, _ in entries}:
            # The running (or starting) preset's file is gone (moved aside as broken, deleted
            # by hand): it still runs, so the box shows it, as the source box shows a source
            # not listed; the list is made anew once another one runs.
            kind, name = split_preset_key(self.preset_key)
            label = user_preset_label(name) if kind == USER else display_name(name)
            entries.append((self.preset_key, label))
        return entries

    @staticmethod
    def preset_label(key: str) -> str:
        kind, name = split_preset_key(key)
        return display_name(name) if kind == BUILTIN else name

    def refresh_presets(self) -> list[Problem]:
        """Re-read the presets folder when it changed on disk (a hand edit, a broken file
        fixed and put back, another camfx window's save): the list follows the folder.
        Returns the problems this re-read found ([] when nothing changed)."""
        if not self.presets.refresh():
            return []
        self.emit(Change.PRESET_LIST)
        return list(self.presets.problems)

    def unusable_pick_listed(self) -> bool:
        """True (once) when the preset whose pick failed for its file is listed again: its
        file was fixed and put back."""
        name = split_preset_key(self.unusable_pick)[1]
        if not self.unusable_pick or name not in self.presets:
            return False
        self.unusable_pick = ""
        return True

    def pick_preset(self, key: str, *, restoring: bool = False) -> PresetPick:
        """What picking ``key`` runs, after re-reading the folder (a user preset runs what its
        file says now). A pick that cannot be used keeps what runs, with one line saying why:
        it fell to Off, and a broken copy of the running privacy preset sent the room, sharp,
        to the virtual camera (qa8 H1). Only the last session's preset, restored at start
        when nothing runs yet, falls back to Off."""
        key = normalize_key(key)
        kind, name = split_preset_key(key)
        if not restoring:
            self.kept_for_later = ""
        path = self.presets.path_of(name) if kind == USER and name in self.presets else None
        problems = self.refresh_presets()
        try:
            preset = resolve_preset(key, self.presets)
            self._picked[key] = preset
            return PresetPick(key, preset, "", tuple(problems))
        except CamfxError as exc:
            # Not preset_error_key: that clears the bar when the key runs, and the running
            # preset's own apply, still on its way, is no sign that its file is fixed.
            self.unusable_pick = key if kind == USER else ""
            own = next((p for p in problems if path is not None and p.path == path), None)
            others = tuple(p for p in problems if p is not own)
            unusable = self.presets.unavailable.get(name_key(name)) if kind == USER else None
            if own is not None:
                why = str(own)
            elif unusable is not None:
                why = f"{unusable.path}: {unusable.message}."
            elif kind == USER:
                why = f"its file is not in {self.presets.folder} any more."
            else:
                why = f"{exc}."
            label = self.preset_label(key)
            if restoring:
                self.preset_error_key = key
                if unusable is not None and own is None:
                    self.kept_for_later = key  # unavailable here, not broken
                fallback = self.start_fallback(key)
                instead = self.preset_label(fallback)
                if fallback != OFF:
                    instead += ", as it hid the room"
                message = f"The last used preset “{label}” is not available: {why} Using {instead}."
                return PresetPick(fallback, resolve_preset(fallback, self.presets), message, others)
            running = self.preset_label(self.preset_key)
            keeps = (
                f"“{running}” keeps running as camfx read it before."
                if self.preset_key == key
                else f"“{running}” keeps running."
            )
            message = f"The preset “{label}” could not be used: {why} {keeps}"
            return PresetPick(self.preset_key, None, message, others)

    def overrides_for(self, key: str) -> dict[str, dict[str, Any]]:
        return self.settings.preset_overrides.get(normalize_key(key), {})

    def preset_running(self, key: str, stages: list[tuple[str, StageSettings]]) -> bool:
        """The engine runs ``key`` with these stages now. True when an earlier error about
        this preset is stale now."""
        key = normalize_key(key)
        preset = self._picked.get(key)
        if preset is None:
            try:
                preset = resolve_preset(key, self.presets)
            except CamfxError:
                preset = Preset(split_preset_key(key)[1])
        self.preset_key = key
        self.preset = preset
        self.preset_applied = True
        self.stage_settings = dict(stages)
        self.base_settings = {}
        for spec in preset.stages:
            try:
                ensure_stage_registered(spec.stage)
                settings_type = STAGES.get(spec.stage).settings_type
                # What its stages run with, the held settings of a preset that hides the room
                # included (an edit is what differs from this).
                settings = held_for_hiding(preset, settings_type.from_dict(dict(spec.settings)))
                self.base_settings[spec.stage] = jsonable(settings.to_dict())
            except (CamfxError, KeyError):
                self.base_settings[spec.stage] = {}
        self.settings.preset = self.kept_for_later or key
        if not self.kept_for_later:
            self.settings.preset_hides_room = preset.hides_room
        self.store_overrides()
        stale = key == self.preset_error_key
        if stale:
            self.preset_error_key = ""
        self.emit(Change.PRESET)
        return stale

    def preset_picked(self, key: str, preset: Preset) -> None:
        """The user picked ``key`` (resolved): it is the one the next start comes back to, even
        if the app quits before the engine runs it (a pick 50 ms before Quit was lost: the
        setting followed only :meth:`preset_running`, and the quit cancels the pending apply)."""
        self.settings.preset = self.kept_for_later or normalize_key(key)
        if not self.kept_for_later:
            self.settings.preset_hides_room = preset.hides_room

    def start_fallback(self, failed: str) -> str:
        """What a start runs when its last preset ``failed``: Off, or the built-in privacy
        preset where the last preset hid the room (and is not that one)."""
        if self.settings.preset_hides_room and normalize_key(failed) != HIDING_FALLBACK:
            return HIDING_FALLBACK
        return OFF

    def preset_failed(self, key: str) -> bool:
        """``key`` could not be built. True when :meth:`start_fallback` should run instead
        (nothing runs yet)."""
        self.preset_error_key = normalize_key(key)
        if self.preset_applied and self.settings.preset == self.preset_error_key:
            self.settings.preset = self.preset_key  # the next start comes back to what runs
            self.settings.preset_hides_room = self.preset.hides_room
        return not self.preset_applied and self.preset_error_key != OFF

    def update_stage(self, stage: str, settings: StageSettings) -> StageSettings:
        """The user's edit of ``stage``; returns the settings kept, which differ where the
        running preset hides the room and the edit would show it (:func:`held_for_hiding`)."""
        settings = held_for_hiding(self.preset, settings)
        self.stage_settings[stage] = settings
        self.store_overrides()
        self.emit(Change.PRESET)
        return settings

    def overrides(self) -> dict[str, dict[str, Any]]:
        """The edits: each stage's settings that differ from the preset as saved."""
        out: dict[str, dict[str, Any]] = {}
        for name, settings in self.stage_settings.items():
            base = self.base_settings.get(name, {})
            current = jsonable(settings.to_dict())
            diff = {k: v for k, v in current.items() if base.get(k) != v}
            if diff:
                out[name] = diff
        return out

    def store_overrides(self) -> None:
        diff = self.overrides()
        if diff:
            self.settings.preset_overrides[self.preset_key] = diff
        else:
            self.settings.preset_overrides.pop(self.preset_key, None)

    @property
    def modified(self) -> bool:
        return bool(self.overrides())

    @property
    def is_user_preset(self) -> bool:
        return split_preset_key(self.preset_key)[0] == USER

    def current_preset(self) -> Preset:
        """The preset as it runs now (with its edits)."""
        stages = tuple(
            StageSpec(name, jsonable(settings.to_dict()))
            for name, settings in self.stage_settings.items()
        )
        return dataclasses.replace(self.preset, stages=stages)

    def drop_edits(self, key: str | None = None) -> None:
        self.settings.preset_overrides.pop(normalize_key(key or self.preset_key), None)

    def save_preset(self) -> Preset:
        """Write the edits into the running user preset (raises CamfxError;
        :class:`~pipelines.userdata.PresetChangedOnDisk` when its file changed on disk since it
        was read: then :meth:`save_preset_beside` keeps both)."""
        kind, name = split_preset_key(self.preset_key)
        if kind != USER:
            raise CamfxError("built-in presets cannot be changed: save as a new one")
        current = self.current_preset()
        saved = self.presets.save(dataclasses.replace(current, name=name), overwrite=True)
        self.drop_edits()
        self.preset = saved
        self.base_settings = {s.stage: jsonable(dict(s.settings)) for s in saved.stages}
        self.emit(Change.PRESET)
        return saved

    def save_preset_as(self, name: str) -> str:
        """Save the running preset with its edits as a new user preset; returns its key. The
        preset it came from goes back to as it was saved (raises CamfxError)."""
        saved = self.presets.save(dataclasses.replace(self.current_preset(), name=name))
        self.drop_edits()
        self.emit(Change.PRESET_LIST)
        return preset_key(USER, saved.name)

    def save_preset_beside(self) -> str:
        """Save the running user preset with its edits as a new preset ("Mine (2)"), after
        re-reading the folder so that the old name holds what its file says now: a Save that
        would have written over a file changed on disk keeps both. Returns the new key."""
        name = split_preset_key(self.preset_key)[1]
        self.presets.load()
        return self.save_preset_as(self.presets.unique_name(name))

    def preset_renamed(self, old: str, new: str) -> None:
        edits = self.settings.preset_overrides.pop(old, None)
        if edits:
            self.settings.preset_overrides[new] = edits
        if self.settings.preset == old:
            self.settings.preset = new
        if self.preset_key == old:
            self.preset_key = new
            self.preset = resolve_preset(new, self.presets)
        self.emit(Change.PRESET_LIST)

    def preset_deleted(self, key: str) -> str | None:
        """Forget ``key``'s edits; where it was the running preset, the preset to run now: Off,
        or the built-in privacy preset where it hid the room (Off sent the room, sharp, at
        once: qa62)."""
        self.drop_edits(key)
        self.emit(Change.PRESET_LIST)
        if self.preset_key != key:
            return None
        return HIDING_FALLBACK if self.preset.hides_room else OFF

    def next_preset(self) -> str | None:
        keys = [k for k, _ in self.preset_entries()]
        if not keys:
            return None
        # From the last pick, not from what runs: presses quicker than a preset applies
        # (Ctrl+Shift+N, the hotkey, the tray) each moved from the same running one, and
        # 4 presses 100 ms apart went 2 steps (qa64).
        current = normalize_key(self.settings.preset or self.preset_key)
        i = keys.index(current) if current in keys else -1
        return keys[(i + 1) % len(keys)]

    # ----------------------------------------------------------------- source
    def camera_mode(self, spec: str) -> tuple[int, int, float] | None:
        mode = self.settings.camera_modes.get(spec)
        return (int(mode[0]), int(mode[1]), float(mode[2])) if mode else None

    def choose_camera_mode(self, spec: str, mode: list[Any]) -> None:
        self.settings.camera_modes[spec] = list(mode)
        self.requested_source = spec

    def add_recent_file(self, path: str) -> None:
        recent = [p for p in self.settings.recent_files if p != path]
        self.settings.recent_files = [path, *recent][:10]

    def source_entries(self) -> list[tuple[str, str]]:
        """(label, spec) for the source picker: cameras, the demo, the running source when it
        is none of those, then recent files that still exist."""
        entries = [
            (source_label(f"camera:{cam.device}", self.cameras), f"camera:{cam.device}")
            for cam in self.cameras
        ]
        entries.append((source_label("demo"), "demo"))
        current = self.source_spec
        if current and current not in {spec for _, spec in entries}:
            entries.append((source_label(current, self.cameras), current))
        for path in self.settings.recent_files:
            kind = "image" if Path(path).suffix.lower() in IMAGE_SUFFIXES else "video"
            spec = f"{kind}:{path}"
            if spec != current and os.path.exists(path):
                entries.append((source_label(spec), spec))
        return entries

    def source_opened(self, spec: str, info: dict[str, Any]) -> None:
        self.source_spec = spec
        self.source_info = info
        if spec == self.requested_source:
            # Only what the user picked is remembered: an automatic choice (first camera, the
            # demo when none, a fallback) is made again at the next start.
            self.settings.source = spec
        self.emit(Change.SOURCE)

    def set_cameras(self, cameras: list[CameraInfo] | tuple[CameraInfo, ...]) -> None:
        self.cameras = list(cameras)
        self.emit(Change.CAMERAS)

    @property
    def source_is_camera(self) -> bool:
        return is_camera(self.source_spec)

    # ----------------------------------------------------------------- outputs, idle, devices
    def set_virtual_camera(self, state: str, detail: str) -> None:
        self.vcam, self.vcam_detail = VirtualCamera(state), detail
        self.emit(Change.VIRTUAL_CAMERA)

    def set_recording(self, on: bool) -> None:
        self.recording = on
        self.emit(Change.RECORDING)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.emit(Change.PAUSED)

    def set_idle(self, idle: bool) -> None:
        if idle != self.idle:
            self.idle = idle
            self.emit(Change.IDLE)

    def set_devices(self, report: DeviceReport) -> None:
        self.devices = report
        self.cameras = list(report.cameras)
        self.emit(Change.DEVICES)

    def set_problem(self, text: str) -> None:
        self.last_error = text
        self.emit(Change.PROBLEM)

    # ----------------------------------------------------------------- summaries
    def tray_look(self) -> tuple[TrayLook, str]:
        """The tray icon's look and the one line that says what camfx is doing."""
        vcam = self.vcam if self.vcam_wanted else VirtualCamera.OFF
        if vcam == VirtualCamera.UNAVAILABLE:
            look = TrayLook.ERROR
        elif self.paused:
            look = TrayLook.PAUSED
        elif vcam == VirtualCamera.ON and not self.idle:
            look = TrayLook.LIVE
        else:
            look = TrayLook.IDLE
        words = {
            VirtualCamera.ON: "virtual camera on",
            VirtualCamera.STARTING: "virtual camera starting",
            VirtualCamera.UNAVAILABLE: "virtual camera not available",
            VirtualCamera.OFF: "virtual camera off",
        }
        text = f"camfx — {self.preset_label(self.preset_key)}, {words[vcam]}"
        if self.paused:
            text += ", paused"
        if self.idle:
            # Nobody watches (no app has the virtual camera open, the window is hidden): the
            # engine rests and the real camera is released.
            text += ", idle: no app uses it" if vcam == VirtualCamera.ON else ", idle"
        return look, text


def normalize_key(key: str) -> str:
    """``builtin:NAME`` or ``user:NAME``; a bare name (an older settings file, a command-line
    choice) is the built-in preset of that name, so the preset box finds it."""
    kind, name = split_preset_key(key)
    return preset_key(kind, name)


def models_in_use(reports: list[Any], running: bool) -> tuple[str, str]:
    """The status bar's "which models run where" and its tooltip, from the sessions' provider
    reports (``pipelines.inference.session.all_reports``)."""
    from pipelines.inference.session import short_name

    if not running or not reports:
        return "— (no model in use)", ""
    by_provider: dict[str, list[str]] = {}
    for report in reports:
        by_provider.setdefault(short_name(report.provider), []).append(report.model)
    text = "; ".join(
        f"{', '.join(sorted(models))} on {provider}"
        for provider, models in sorted(by_provider.items())
    )
    if any(r.fell_back for r in reports):
        text += " (fallback)"
    return text, "\n".join(r.summary() for r in reports)


def running_model_names(stages: Sequence[Stage[Any]]) -> set[str]:
    """The names of the networks the running ``stages`` run (:meth:`Stage.models`). Networks
    are shared and kept loaded after a preset stops (``load_model``'s cache, the process-wide
    provider reports), so only what the running stages hold tells which ones are in use."""
    return {model.model_name for stage in stages for model in stage.models()}


def models_summary(reports: list[Any], running: bool) -> tuple[str, str]:
    """The status bar's short "which provider runs how many models" (it must not widen the
    window), and a tooltip with the full :func:`models_in_use` line and every report."""
    from pipelines.inference.session import short_name

    if not running or not reports:
        return models_in_use(reports, running)
    count: dict[str, int] = {}
    for report in reports:
        provider = short_name(report.provider)
        count[provider] = count.get(provider, 0) + 1
    text = ", ".join(
        f"{provider} ({n} model{'s' if n != 1 else ''})" for provider, n in sorted(count.items())
    )
    if any(r.fell_back for r in reports):
        text += " (fallback)"
    full, details = models_in_use(reports, running)
    return text, f"{full}\n\n{details}"


def apply_edits(
    stages: list[Stage[Any]], edits: dict[str, dict[str, Any]], preset: Preset | None = None
) -> list[str]:
    """Put the user's unsaved edits (:meth:`AppState.overrides_for`) on freshly built stages
    of ``preset``, but what it holds where it hides the room (:func:`held_for_hiding`: an
    edit kept from before that rule). An edit that no longer fits (a setting renamed, a bound
    tightened) is left out; returns one line per stage whose edits were, for the user."""
    problems: list[str] = []
    for stage in stages:
        changes = edits.get(stage.name)
        if not changes:
            continue
        try:
            merged = {**stage.settings.to_dict(), **changes}
            settings = type(stage.settings).from_dict(merged)
            stage.settings = settings if preset is None else held_for_hiding(preset, settings)
        except CamfxError as exc:
            problems.append(f"{stage.name}: {exc}")
    return problems
