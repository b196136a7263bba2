"""A source switched while the engine runs starts a new scene: what the stages kept of the old
source's frames (tracked faces and boxes, "only me"'s lock, smoothed masks, eased light and
framing) is forgotten before the new source's first frame.

QA (qa64, 2026-12-08): background-color ("only me") on the demo, then a video, then a photo
of a person elsewhere in the frame: the lock on the video's person held its place, and the
photo's person was cut out, the whole output the background colour, for the 10 s of
``hold_s``. Starting on the video and switching to the photo showed her at once.

The window's source (:class:`~app.gui.plumbing.ControlledSource`) marks the first frame of a
new source (:data:`~pipelines.frame.NEW_SCENE`); the engine has every stage forget its frames
before it. Real models and the real engine on two still pictures of a person, one on the left
and one on the right."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

import pipelines.segmentation.presets  # noqa: F401  (registers the presets)
from app.gui.plumbing import ControlledSource
from pipelines.engine import Engine
from pipelines.frame import NEW_SCENE, Frame, FrameContext
from pipelines.outputs.base import Output
from pipelines.presets import build_stages, get_preset
from pipelines.sources.base import SourceConfig
from pipelines.sources.files import ImageSource
from pipelines.stage import Stage, StageSettings

FACES = Path(__file__).parent / "data" / "faces"
W, H = 640, 360
FPS = 30.0
LOCK_FRAMES = 20
"""Frames on the first picture: "only me" locks on its person."""
SHOWN_WITHIN = 6
"""The new picture's person is in the output within this many of its frames (the first
frames after a switch: the masks' first runs). Before, none was for 10 s (300 frames)."""
PERSON_SHOWN = 0.5
"""Share of the new person's box that is not the background colour once shown (measured
0.79-0.81 in every frame from the first on; 0.00 before, for 10 s)."""
TIMEOUT_S = 60.0


class Kept(Output):
    def __init__(self) -> None:
        super().__init__("kept")
        self.frames: list[Frame] = []

    def open(self, width: int, height: int, fps: float) -> None:
        self.is_open = True

    def write(self, frame: Frame) -> None:
        self.frames.append(frame)


def person_at(tmp_path: Path, side: str) -> Path:
    """A grey 640×360 picture with the astronaut's head and shoulders on ``side``."""
    face = cv2.imread(str(FACES / "astronaut.jpg"))
    assert face is not None
    person = cv2.resize(face, (H, H), interpolation=cv2.INTER_AREA)
    canvas = np.full((H, W, 3), 128, np.uint8)
    x = 0 if side == "left" else W - H
    canvas[:, x : x + H] = person
    path = tmp_path / f"{side}.png"
    cv2.imwrite(str(path), canvas)
    return path


def not_background(image: np.ndarray, box: tuple[slice, slice], colour: np.ndarray) -> float:
    return float((np.abs(image[box].astype(int) - colour).sum(axis=2) > 40).mean())


def opened(path: Path, config: SourceConfig) -> ImageSource:
    source = ImageSource(str(path), config)
    source.open()
    return source


def wait(until: Any, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not until():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_only_me_locks_afresh_on_the_person_of_a_new_source(tmp_path: Path) -> None:
    left, right = person_at(tmp_path, "left"), person_at(tmp_path, "right")
    config = SourceConfig(width=W, height=H, fps=FPS)
    source = ControlledSource((W, H), FPS)
    source.set_inner(opened(left, config))
    stages = build_stages(get_preset("background-color"))
    assert any(getattr(s.settings, "only_me", False) for s in stages)
    kept = Kept()
    engine = Engine(source, stages, [kept], out_size=(W, H))
    engine.start()
    try:
        wait(lambda: len(kept.frames) >= LOCK_FRAMES, "the first picture's frames")
        locked = kept.frames[-1].ctx.extras.get("only_me")
        assert locked is not None and locked.centre[0] < W / 2, locked  # on the left person
        switched_at = len(kept.frames)
        source.set_inner(opened(right, config))
        wait(lambda: len(kept.frames) >= switched_at + 50, "the second picture's frames")
    finally:
        engine.stop()
        source.close()
    frames = kept.frames
    # (Unmarked, as before: from a few frames after the switch, where the new one came.)
    marked = [i for i in range(switched_at, len(frames)) if frames[i].ctx.get(NEW_SCENE)]
    first_new = marked[0] if marked else switched_at + 5
    replace = next(s for s in stages if s.name == "background_replace")
    hex_colour = replace.settings.color.lstrip("#")
    colour = np.array([int(hex_colour[i : i + 2], 16) for i in (4, 2, 0)])  # BGR
    right_box = (slice(60, H), slice(W - H + 60, W - 60))
    left_box = (slice(60, H), slice(60, H - 60))
    shown = [not_background(f.image, right_box, colour) for f in frames[first_new : first_new + 40]]
    # From within a few frames of the switch on, the new person is there (the old lock's
    # place, now empty, is not kept either).
    assert min(shown[SHOWN_WITHIN:]) > PERSON_SHOWN, np.round(shown, 2)
    assert not_background(frames[-1].image, left_box, colour) < 0.2
    anchor = frames[-1].ctx.extras.get("only_me")
    assert anchor is not None and anchor.centre[0] > W / 2, anchor


class Remembers(Stage[StageSettings]):
    """A stage that notes each frame it processed and each time it was told to forget."""

    name = "remembers"
    settings_type = StageSettings

    def __init__(self) -> None:
        super().__init__(StageSettings())
        self.log: list[str] = []

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.log.append(f"{'new ' if ctx.get(NEW_SCENE) else ''}frame")
        return image

    def forget_frames(self) -> None:
        self.log.append("forget")


def test_a_new_source_is_a_new_scene_and_pause_is_not(tmp_path: Path) -> None:
    """The window's source marks only the first frame of each source it is given (not the
    frames after a pause, nor the still cards); the engine has its stages forget just before
    that frame."""
    config = SourceConfig(width=64, height=48, fps=200.0)
    picture = person_at(tmp_path, "left")
    source = ControlledSource((64, 48), 200.0)
    stage = Remembers()
    kept = Kept()
    engine = Engine(source, [stage], [kept], out_size=(64, 48))
    engine.start()
    try:
        wait(lambda: len(kept.frames) >= 3, "cards")  # "Starting..." cards: no source yet
        source.set_inner(opened(picture, config))
        wait(lambda: "new frame" in stage.log, "the first source")
        source.pause(kept.frames[-1].image)
        time.sleep(0.05)
        source.resume()
        count = len(kept.frames)
        wait(lambda: len(kept.frames) >= count + 5, "after the pause")
        source.set_inner(opened(picture, config))  # the same file opened again
        wait(lambda: stage.log.count("new frame") == 2, "the second source")
        count = len(kept.frames)
        wait(lambda: len(kept.frames) >= count + 3, "more frames")
    finally:
        engine.stop()
        source.close()
    log = stage.log
    assert log.count("forget") == 2 and log.count("new frame") == 2, log
    for i, entry in enumerate(log):
        if entry == "new frame":
            assert log[i - 1] == "forget", log[max(0, i - 3) : i + 2]
    marked = [f.index for f in kept.frames if f.ctx.get(NEW_SCENE)]
    assert len(marked) == 2, marked
