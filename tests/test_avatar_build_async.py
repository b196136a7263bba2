"""The talking head's avatar is built on a helper thread: switching the talking head on, picking
another portrait or "use my face" never stops the video for the seconds a build takes (the build
reads its own renders with the face tracker: 2-6 s on 2 cores). Meanwhile the portrait's photo
stands still where the avatar will be; a portrait that cannot be used leaves the one shown so far
and says so once."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from engine_support import Arrivals

from pipelines.avatar import stage as stage_module
from pipelines.avatar.compose import overlay_place
from pipelines.avatar.stage import (
    TALKING_HEAD_INFO,
    AvatarState,
    TalkingHead,
    TalkingHeadSettings,
    avatar_for,
)
from pipelines.engine import Engine, EngineEvent, EventKind
from pipelines.frame import Frame, FrameContext
from pipelines.sources.base import Source, SourceConfig

FACES = Path(__file__).resolve().parent / "data" / "faces"
FPS = 30.0
SIZE = (640, 360)
CAMERA_BGR = (40, 200, 60)
"""The fake camera's flat colour: no photo has it, so where it shows, the camera shows."""

STALL_MAX_S = 0.5
"""The longest gap between two frames delivered from switching the talking head on until its
avatar moves. A 30 fps camera delivers one every 33 ms; before 2026-12-06 the gap was the whole
build, which ran on the processing thread (2.4 s for the demo portrait, 3-6 s for a user's photo
on 2 cores: the meeting saw a frozen picture)."""
BUILD_WAIT_S = 120.0
"""Time given a build on a loaded 2-core machine before a test gives up."""
PROCESS_MAX_S = 0.5
"""The longest one frame of the stage may take while another portrait is built."""


class LiveCamera(Source):
    """A paced, live source of flat frames (a webcam's pace; latest frame wins)."""

    live = True

    def __init__(self) -> None:
        super().__init__("", SourceConfig(width=SIZE[0], height=SIZE[1], fps=FPS, paced=True))

    def grab(self) -> np.ndarray:
        return np.full((SIZE[1], SIZE[0], 3), CAMERA_BGR, np.uint8)


def _new_photo(tmp_path: Path, name: str) -> Path:
    """A tuning portrait under a path this process has not built yet (builds are cached by
    file name)."""
    photo = tmp_path / f"{name}-copy.jpg"
    shutil.copyfile(FACES / f"{name}.jpg", photo)
    return photo


def _state(frame: Frame) -> AvatarState | None:
    info = frame.ctx.get(TALKING_HEAD_INFO)
    return info.state if info is not None else None


def _camera_share(image: np.ndarray) -> float:
    """The share of the picture that is the fake camera's flat colour."""
    return float(np.all(image == np.array(CAMERA_BGR, np.uint8), axis=2).mean())


def test_switching_the_talking_head_on_does_not_stop_the_video(tmp_path: Path) -> None:
    """The user switches the talking head on (the tray's preset) while the camera runs: frames
    keep coming at the camera's pace while the avatar is built, showing the portrait's photo in
    the corner, and then the avatar."""
    photo = _new_photo(tmp_path, "brothers_sepia")
    out = Arrivals()
    engine = Engine(LiveCamera(), [], [out], lossless=False)
    events: list[EngineEvent] = []
    engine.add_listener(events.append)
    engine.start()
    try:
        deadline = time.monotonic() + 10.0
        while len(out.frames) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        switched = time.monotonic()
        talking = TalkingHead(TalkingHeadSettings(portrait=str(photo), mode="overlay"))
        engine.set_stages([talking])
        deadline = switched + BUILD_WAIT_S
        while time.monotonic() < deadline and not any(
            _state(f) == AvatarState.READY for _, f in out.frames[-5:]
        ):
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        engine.stop()
    assert not [e for e in events if e.kind != EventKind.STOPPED], events
    after = [(t, f) for t, f in out.frames if t >= switched - 0.1]
    ready = next(i for i, (_, f) in enumerate(after) if _state(f) == AvatarState.READY)
    gaps = np.diff([t for t, _ in after[: ready + 1]])
    assert gaps.max() < STALL_MAX_S, f"the video stood still {gaps.max():.2f} s"
    preparing = [f for _, f in after[:ready] if _state(f) == AvatarState.PREPARING]
    assert len(preparing) >= 3, "the avatar was ready at once: this photo was built before"
    # While preparing, the corner shows the portrait's photo, not an empty camera picture.
    x, y, side = overlay_place(SIZE, talking.settings.size, talking.settings.corner)
    corner = preparing[-1].image[y : y + side, x : x + side]
    assert _camera_share(corner) < 0.05
    assert corner.std() > 10.0


def test_another_portrait_is_built_while_the_old_one_talks(tmp_path: Path) -> None:
    """Picking another portrait in the window: every frame comes at once, showing the avatar
    shown so far, until the new one is built; then the new one."""
    first = avatar_for("")
    photo = _new_photo(tmp_path, "brothers_sepia")
    stage = TalkingHead(TalkingHeadSettings(mode="overlay", idle=False, blinks=False))
    stage.open()
    try:
        assert stage.avatar is first and stage.state == AvatarState.READY
        camera = np.full((SIZE[1], SIZE[0], 3), CAMERA_BGR, np.uint8)
        stage.settings = stage.settings.replace(portrait=str(photo))
        slowest, shown = 0.0, []
        deadline = time.monotonic() + BUILD_WAIT_S
        while stage.avatar is first and time.monotonic() < deadline:
            t0 = time.monotonic()
            i = len(shown)
            stage.process(camera.copy(), FrameContext(timestamp=i / FPS, index=i))
            slowest = max(slowest, time.monotonic() - t0)
            shown.append(stage.avatar)
            time.sleep(1 / FPS)
        assert stage.avatar is not first, "the new portrait was never shown"
        assert len(shown) >= 10, "the new portrait was there at once: it was built before"
        assert all(a is first for a in shown[:-1])
        assert slowest < PROCESS_MAX_S, f"a frame took {slowest:.2f} s"
        assert stage.avatar.portrait.source.endswith(photo.name)
        assert not stage.take_reports()
    finally:
        stage.close()


def test_the_portrait_shown_picked_again_while_another_builds_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Picked back while another portrait is still being built, the one shown is what stays:
    the build on its way is not adopted when it is done (the shortcut that spares a rebuild of
    the portrait kept after a refused one must not skip this)."""
    first = avatar_for("")
    photo = _new_photo(tmp_path, "brothers_sepia")
    release = threading.Event()
    real_build = stage_module.Avatar.build

    def held_build(portrait: Any, retrack: bool = True) -> Any:
        release.wait(BUILD_WAIT_S)
        return real_build(portrait, retrack)

    monkeypatch.setattr(stage_module.Avatar, "build", staticmethod(held_build))
    stage = TalkingHead(TalkingHeadSettings(mode="overlay", idle=False, blinks=False))
    stage.open()
    try:
        assert stage.avatar is first
        camera = np.full((SIZE[1], SIZE[0], 3), CAMERA_BGR, np.uint8)
        stage.settings = stage.settings.replace(portrait=str(photo))
        stage.process(camera.copy(), FrameContext(timestamp=0.0, index=0))
        assert stage._build is not None and stage._build.spec == str(photo)
        stage.settings = stage.settings.replace(portrait="")
        stage.process(camera.copy(), FrameContext(timestamp=1 / FPS, index=1))
        release.set()
        assert stage.wait_ready(BUILD_WAIT_S)
        for i in range(2, 5):
            stage.process(camera.copy(), FrameContext(timestamp=i / FPS, index=i))
        assert stage.avatar is first
        assert stage.settings_in_use() == stage.settings
    finally:
        release.set()
        stage.close()


def test_a_portrait_that_cannot_be_used_keeps_the_old_one_and_says_so_once(
    tmp_path: Path,
) -> None:
    """A file that is no portrait (here: not a picture at all), picked while the talking head
    runs: the avatar shown so far stays, and the user is told once, naming the file."""
    first = avatar_for("")
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"not a picture")
    stage = TalkingHead(TalkingHeadSettings(mode="stand-in"))
    stage.open()
    try:
        camera = np.full((SIZE[1], SIZE[0], 3), CAMERA_BGR, np.uint8)
        stage.settings = stage.settings.replace(portrait=str(bad))
        assert stage.wait_ready(BUILD_WAIT_S)
        reports: list[str] = []
        for i in range(10):
            out = stage.process(camera.copy(), FrameContext(timestamp=i / FPS, index=i))
            reports += stage.take_reports()
            assert _camera_share(out) == 0.0  # a stand-in never lets the camera through
        assert stage.avatar is first
        assert len(reports) == 1, reports
        assert reports[0] == (
            f"portrait {str(bad)!r} could not be decoded; use a PNG or JPEG photo; "
            "the talking head keeps the portrait it had"
        )
        # What runs is the portrait kept, which the window shows and saves instead of the
        # refused one (kept as the setting, the next start had no talking head: qa62); set
        # back to it, nothing is read or built again.
        assert stage.settings.portrait == str(bad)
        kept = stage.settings_in_use()
        assert kept.portrait == "" and kept == stage.settings.replace(portrait="")
        stage.settings = kept
        for i in range(10, 13):
            stage.process(camera.copy(), FrameContext(timestamp=i / FPS, index=i))
        assert stage._build is None and stage.avatar is first and not stage.take_reports()
        assert stage.settings_in_use() == kept
    finally:
        stage.close()


def test_the_engine_passes_a_stages_report_on_as_a_warning(tmp_path: Path) -> None:
    """The window hears of the unusable portrait through the engine (a stage warning, not a
    failed frame: the stage's picture is used)."""
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"not a picture")
    talking = TalkingHead(TalkingHeadSettings(mode="stand-in"))
    out = Arrivals()
    engine = Engine(LiveCamera(), [talking], [out], lossless=False)
    events: list[EngineEvent] = []
    heard = threading.Event()

    def listen(event: EngineEvent) -> None:
        events.append(event)
        if event.kind == EventKind.STAGE_WARNING:
            heard.set()

    engine.add_listener(listen)
    engine.start()
    try:
        # The stage opens on the processing thread after start() returns: a portrait changed
        # before that is read by its open, which refuses the stage (an open error, not this
        # warning; seen twice in five runs at load 5). A frame out means it is open.
        deadline = time.monotonic() + BUILD_WAIT_S
        while not out.frames and time.monotonic() < deadline:
            time.sleep(0.01)
        engine.update_settings("talking_head", talking.settings.replace(portrait=str(bad)))
        assert heard.wait(BUILD_WAIT_S)
        time.sleep(0.3)
    finally:
        engine.stop()
    warnings = [e for e in events if e.kind == EventKind.STAGE_WARNING]
    assert len(warnings) == 1 and "holiday.jpg" in warnings[0].message
    assert warnings[0].name == "talking_head"
    assert not [e for e in events if e.kind == EventKind.STAGE_ERROR]
    assert all(_camera_share(f.image) == 0.0 for _, f in out.frames)


def test_a_stand_in_shows_the_still_photo_while_its_avatar_is_built(tmp_path: Path) -> None:
    """Stand-in (the user away or paused) asked for while the avatar is built: the portrait's
    photo stands in as soon as its face is found (a flat grey before, a fraction of a second),
    then the avatar; the camera never shows."""
    photo = _new_photo(tmp_path, "brothers_sepia")
    stage = TalkingHead(TalkingHeadSettings(portrait=str(photo), mode="stand-in"))
    stage.open()
    try:
        camera = np.full((SIZE[1], SIZE[0], 3), CAMERA_BGR, np.uint8)
        states, stills = [], []
        deadline = time.monotonic() + BUILD_WAIT_S
        while (not states or states[-1] != AvatarState.READY) and time.monotonic() < deadline:
            ctx = FrameContext(timestamp=len(states) / FPS, index=len(states))
            out = stage.process(camera.copy(), ctx)
            info = ctx.get(TALKING_HEAD_INFO)
            assert info is not None
            states.append(info.state)
            assert _camera_share(out) == 0.0
            if info.state == AvatarState.PREPARING and out.std() > 10.0:
                stills.append(out)
            time.sleep(1 / FPS)
        assert states[0] == AvatarState.PREPARING and states[-1] == AvatarState.READY
        assert len(stills) >= 3, "the photo never stood in while the avatar was built"
        assert stage.take_reports() == []
    finally:
        stage.close()


def test_a_photo_without_a_face_picked_live_shows_grey_and_says_so_once(tmp_path: Path) -> None:
    """A picture with no face, the talking head's first portrait in the window: a flat grey
    stands in (never the camera), and the user is told once why."""
    import cv2

    noface = tmp_path / "cup.png"
    rng = np.random.default_rng(1)
    cv2.imwrite(str(noface), rng.integers(0, 255, (300, 400, 3), np.uint8))
    stage = TalkingHead(TalkingHeadSettings(portrait=str(noface), mode="stand-in"))
    stage.open()
    try:
        assert stage.wait_ready(BUILD_WAIT_S)
        camera = np.full((SIZE[1], SIZE[0], 3), CAMERA_BGR, np.uint8)
        reports: list[str] = []
        for i in range(5):
            out = stage.process(camera.copy(), FrameContext(timestamp=i / FPS, index=i))
            reports += stage.take_reports()
            assert _camera_share(out) == 0.0 and out.std() == 0.0
        assert stage.state == AvatarState.PREPARING
        assert len(reports) == 1, reports
        assert f"portrait {str(noface)!r}: no face found" in reports[0]
        assert reports[0].endswith("; the talking head has none until another is picked")
    finally:
        stage.close()


def test_a_bad_portrait_at_start_still_refuses_in_one_line(tmp_path: Path) -> None:
    """The photo is read when the stage opens: a file that is no picture refuses the stage
    there (the CLI's one line and exit 2), and nothing is left building."""
    from pipelines.errors import CamfxError

    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"not a picture")
    stage = TalkingHead(TalkingHeadSettings(portrait=str(bad)))
    with pytest.raises(CamfxError, match=r"holiday\.jpg"):
        stage.open()
    assert str(bad) not in stage_module._builds


def test_a_run_from_a_file_shows_the_avatar_from_its_first_frame(tmp_path: Path) -> None:
    """A source that is not live (a video file, a picture, the demo) gives every frame to the
    outputs: the engine's builder waits for the avatar, so no frame of a render shows the
    still photo."""
    from pipelines.build import RunConfig, build_engine

    photo = _new_photo(tmp_path, "brothers_sepia")
    out = Arrivals()
    talking = TalkingHead(TalkingHeadSettings(portrait=str(photo), mode="overlay"))
    run = build_engine(
        RunConfig(source="demo", outputs=(out,), stages=[talking], frames=5, paced=False, size=SIZE)
    )
    try:
        assert run.wait(BUILD_WAIT_S)
    finally:
        run.close()
    assert len(out.frames) == 5
    assert [_state(f) for _, f in out.frames] == [AvatarState.READY] * 5


EXIT_WAIT_MAX_S = 30.0
"""Time given the process to end once it has quit mid-build (the build stops at its next
tracker call; a few seconds at most under load)."""


@pytest.mark.parametrize("quit_after_s", [0.3])
def test_quitting_while_an_avatar_is_built_exits_cleanly(tmp_path: Path, quit_after_s) -> None:
    """camfx quit within seconds of picking a portrait: the build's thread was still in the
    tracker's native code as the interpreter ended, and the process aborted ("terminate called
    without an active exception", exit code 134, 2 of 3 tries before 2026-12-06). It now stops
    the build and exits 0."""
    import subprocess
    import sys

    photo = _new_photo(tmp_path, "brothers_sepia")
    code = (
        "import time\n"
        "from pipelines.avatar.stage import TalkingHead, TalkingHeadSettings\n"
        f"stage = TalkingHead(TalkingHeadSettings(portrait={str(photo)!r}))\n"
        "stage.open()\n"
        f"time.sleep({quit_after_s})\n"
        "assert stage.avatar is None, 'built already: nothing was running at exit'\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=EXIT_WAIT_MAX_S + 30.0,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
