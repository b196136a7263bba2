"""The ``talking_head`` stage: renders the avatar from ``ctx.audio`` and puts it in the video.

Reads: ``ctx.audio`` (an :class:`~pipelines.audio.stage.AudioState` from ``audio_mouth``;
without it the avatar idles with its mouth shut) and ``ctx.primary_face`` (the live user's head
pose, when a face tracker runs before it). Writes: the composed picture, and the typed slot
:data:`TALKING_HEAD_INFO` (mode, weights, render time).

Modes: ``overlay`` (a corner picture), ``stand-in`` (the avatar replaces the video), ``auto``
(overlay while the user is seen, stand-in after ``standin_after_s`` without a face or while the
``paused`` setting is on).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Annotated, get_args

import numpy as np
from msgspec import Meta

from pipelines.audio.mouth import NEUTRAL, MouthParams
from pipelines.avatar.compose import (
    Corner,
    Shape,
    StandIn,
    compose_overlay,
    compose_standin,
    make_standin,
    overlay_place,
    person_mask,
)
from pipelines.avatar.lids import settle_lids
from pipelines.avatar.motion import Animator, MotionSettings
from pipelines.avatar.portrait import (
    Portrait,
    capture_portrait,
    load_portrait,
    save_portrait,
)
from pipelines.avatar.render import AvatarRenderer
from pipelines.avatar.rest import RestMouth, finish_rest, settle_pitched, settle_rest
from pipelines.avatar.rig import Rig
from pipelines.frame import CtxKey, FrameContext
from pipelines.schema import AvatarMode, Fps
from pipelines.stage import BenchVariant, Stage, StageSettings, register_stage

log = logging.getLogger(__name__)

STAGE_NAME = "talking_head"
MODES: tuple[str, ...] = get_args(AvatarMode)


Byte = Annotated[int, Meta(ge=0, le=255)]


@dataclass(frozen=True)
class TalkingHeadInfo:
    """What the stage did on a frame."""

    mode: str
    """``overlay`` or ``stand-in`` (what ``auto`` chose)."""
    weights: dict[str, float]
    """The animator's basis weights."""
    render_ms: float


TALKING_HEAD_INFO: CtxKey[TalkingHeadInfo] = CtxKey("talking_head")


@dataclass(frozen=True)
class TalkingHeadSettings(StageSettings):
    portrait: str = ""
    """Image file of the avatar; empty: the shipped demo portrait."""
    mode: AvatarMode = "overlay"
    corner: Corner = "bottom-right"
    size: Annotated[float, Meta(ge=0.08, le=1.0)] = 0.32
    """Overlay side as a fraction of the frame height."""
    shape: Shape = "rounded-rect"
    radius: Annotated[float, Meta(ge=0.0, le=0.5)] = 0.14
    """Corner radius of the rounded rectangle, as a fraction of its side."""
    border: Annotated[int, Meta(ge=0, le=40)] = 3
    border_color: tuple[Byte, Byte, Byte] = (245, 245, 245)
    """BGR."""
    opacity: Annotated[float, Meta(ge=0.0, le=1.0)] = 1.0
    standin_after_s: Annotated[float, Meta(ge=0.0, le=600.0)] = 3.0
    paused: bool = False
    """Stand-in now (the camera is paused), in auto mode."""
    blinks: bool = True
    idle: bool = True
    mirror_head: bool = True
    expressiveness: Annotated[float, Meta(ge=0.0, le=2.0)] = 1.0
    fps: Fps = 30.0
    """Frame rate the animation's clock assumes (frame index / fps)."""
    seed: Annotated[int, Meta(ge=0, le=2**31 - 1)] = 1


@dataclass
class Avatar:
    """A portrait with its rig and renderer (built once per portrait)."""

    portrait: Portrait
    """The portrait at rest (its mouth closed when the photo's was open)."""
    rig: Rig
    renderer: AvatarRenderer
    rest: RestMouth | None = None
    """What the photo's mouth was like (open, its own teeth)."""
    person: np.ndarray | None = None
    """The portrait's person mask (segmentation), made when a stand-in first needs it."""

    @classmethod
    def build(cls, portrait: Portrait, retrack: bool = True) -> Avatar:
        """``retrack``: check the closed rest face with the face tracker and close it further
        while the tracker still sees the lips apart (:func:`~pipelines.avatar.rest.settle_rest`;
        pitched down as the idle sway pitches it, :func:`~pipelines.avatar.rest.settle_pitched`).
        The shut lids are checked with it too, and go deeper where it reads them open
        (:func:`~pipelines.avatar.lids.settle_lids`)."""
        # Closing the mouth moves pixels inside the face only: where the photo ends stays.
        coverage = portrait.coverage
        portrait, rest = settle_rest(portrait, retrack)
        portrait = replace(portrait, coverage=coverage)
        rig = Rig(portrait.landmarks, portrait.size, image=portrait.image)
        if retrack:
            # Pitched down as the idle sway's nods pitch the head, a rest mouth whose still
            # views read shut can part (rest.PITCH_VIEWS): checked on this rig's own pitch,
            # and only a rest face closed again needs a new rig.
            settled = settle_pitched(portrait, rest, rig.bases.get("pitch_down"))
            if settled is not portrait:
                portrait = replace(settled, coverage=coverage)
                rig = Rig(portrait.landmarks, portrait.size, image=portrait.image)
        # The rig reads the picture only around the eyes (rims, brows, the lids' light): the
        # finished lips need no new one.
        portrait = finish_rest(portrait, rest)
        avatar = cls(portrait, rig, AvatarRenderer(portrait.image, rig, rest.teeth), rest)
        settle_lids(avatar)
        return avatar


_avatars: dict[str, Avatar] = {}
_avatars_lock = threading.Lock()


def avatar_for(spec: str) -> Avatar:
    """The avatar for a portrait file (cached: reopening the stage costs nothing)."""
    with _avatars_lock:
        if spec not in _avatars:
            _avatars[spec] = Avatar.build(load_portrait(spec or None))
        return _avatars[spec]


@register_stage
class TalkingHead(Stage[TalkingHeadSettings]):
    name = STAGE_NAME
    settings_type = TalkingHeadSettings
    # Issue 13: per 720p frame on 2 cores, each mode timed with its render and composition.
    timer_budgets_ms = MappingProxyType({"overlay": 4.0, "stand-in": 8.0})
    # The demo always shows a face, so `auto` never stands in during a bench: time it apart.
    bench_variants = (BenchVariant("stand_in", MappingProxyType({"mode": "stand-in"}), "stand-in"),)

    def __init__(
        self, settings: TalkingHeadSettings | None = None, *, avatar: Avatar | None = None
    ) -> None:
        super().__init__(settings)
        self.avatar: Avatar | None = avatar
        self._given = avatar is not None
        self.animator = Animator()
        self._bufs: dict[str, np.ndarray] = {}
        self._standin: tuple[int, tuple[int, int], StandIn] | None = None
        self._last_face_t: float | None = None
        self._capture: tuple[bool, str | None] | None = None
        self.captured: Portrait | None = None
        self._portrait_spec = ""

    def open(self) -> None:
        s = self.settings
        if not self._given:
            self.avatar = avatar_for(s.portrait)
            self._portrait_spec = s.portrait
        self.animator = Animator(self._motion_settings(s))
        self._last_face_t = None
        super().open()

    @staticmethod
    def _motion_settings(s: TalkingHeadSettings) -> MotionSettings:
        return MotionSettings(s.blinks, s.idle, s.mirror_head, s.expressiveness, s.seed)

    def request_capture(self, save_to: str | None = None) -> None:
        """ "Use my face": on the next frame with a tracked face, that face becomes the avatar
        (and is written to ``save_to`` when given)."""
        self._capture = (True, save_to)

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        if not self._given and s.portrait != self._portrait_spec:
            self.avatar = avatar_for(s.portrait)
            self._portrait_spec = s.portrait
        motion = self._motion_settings(s)
        if motion != self.animator.settings:
            self.animator.settings = motion
        face = ctx.primary_face
        if self._capture is not None and face is not None:
            _, save_to = self._capture
            self._capture = None
            self.captured = capture_portrait(image, face)
            self.avatar = Avatar.build(self.captured)
            self._given = True
            if save_to:
                save_portrait(self.captured, save_to)
        assert self.avatar is not None
        t = ctx.index / s.fps
        mouth: MouthParams = getattr(ctx.audio, "params", None) or NEUTRAL
        seen = face is not None and getattr(face, "visibility", 1.0) > 0.5
        if seen:
            self._last_face_t = t
        pose = None
        if seen and getattr(face, "pose", None) is not None:
            pose = (face.pose.yaw, face.pose.pitch, face.pose.roll)  # type: ignore[union-attr]
        weights = self.animator.update(t, mouth, pose)

        mode = self._mode(s, t, ctx)
        t0 = time.perf_counter()
        avatar = self._render(mode, image, weights)
        render_ms = (time.perf_counter() - t0) * 1000.0
        t1 = time.perf_counter()
        out = self._compose(mode, image, avatar)
        compose_ms = (time.perf_counter() - t1) * 1000.0
        ctx.stage_ms[f"{STAGE_NAME}/render"] = render_ms
        ctx.stage_ms[f"{STAGE_NAME}/compose"] = compose_ms
        ctx.stage_ms[f"{STAGE_NAME}/{mode}"] = render_ms + compose_ms
        ctx.put(TALKING_HEAD_INFO, TalkingHeadInfo(mode, weights, render_ms))
        return out

    def _render(self, mode: str, image: np.ndarray, weights: dict[str, float]) -> np.ndarray:
        """The avatar for ``mode``: straight at the overlay's size in a corner (a fifth of
        the pixels of the full-size render, and no shrink after it), full size to stand in."""
        assert self.avatar is not None
        renderer = self.avatar.renderer
        if mode == "overlay":
            h, w = image.shape[:2]
            side = overlay_place((w, h), self.settings.size, self.settings.corner)[2]
            if side >= 8:
                return renderer.render_at(weights, side, self._scratch("overlay", side, side))
        width, height = self.avatar.portrait.size
        return renderer.render(weights, self._scratch("full", width, height))

    def _scratch(self, key: str, width: int, height: int) -> np.ndarray:
        """A kept output buffer per size of render (the overlay's corner, the full portrait),
        so that ``auto`` switching modes does not reallocate one each time."""
        buf = self._bufs.get(key)
        if buf is None or buf.shape[:2] != (height, width):
            buf = self._bufs[key] = np.empty((height, width, 3), np.uint8)
        return buf

    def _compose(self, mode: str, image: np.ndarray, avatar: np.ndarray) -> np.ndarray:
        s = self.settings
        assert self.avatar is not None
        if mode == "stand-in":
            h, w = image.shape[:2]
            key = id(self.avatar)
            if self._standin is None or self._standin[:2] != (key, (w, h)):
                av = self.avatar
                if av.person is None:
                    av.person = person_mask(av.portrait.image)
                self._standin = (
                    key,
                    (w, h),
                    make_standin(av.portrait.image, av.person, (w, h), av.portrait.coverage),
                )
            return compose_standin(image, avatar, self._standin[2])
        return compose_overlay(
            image,
            avatar,
            size=s.size,
            corner=s.corner,
            shape=s.shape,
            radius=s.radius,
            border=int(s.border),
            border_bgr=(int(s.border_color[0]), int(s.border_color[1]), int(s.border_color[2])),
            opacity=s.opacity,
        )

    def warm_up(self) -> None:
        """The benchmark calls this: build the avatar now, not on the first timed frame."""
        if self.avatar is None:
            self.avatar = avatar_for(self.settings.portrait)
            self._portrait_spec = self.settings.portrait

    def _mode(self, s: TalkingHeadSettings, t: float, ctx: FrameContext) -> str:
        if s.mode != "auto":
            return s.mode
        if s.paused:
            return "stand-in"
        if self._last_face_t is None:
            self._last_face_t = t  # the wait for a face starts now
        if t - self._last_face_t >= s.standin_after_s:
            return "stand-in"
        return "overlay"
