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

import atexit
import enum
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Annotated, get_args

import numpy as np
from msgspec import Meta

from pipelines.audio.mouth import NEUTRAL
from pipelines.avatar.choices import note
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
from pipelines.avatar.halt import EXITING
from pipelines.avatar.lids import SEEN, settle_lids
from pipelines.avatar.motion import Animator, MotionSettings
from pipelines.avatar.portrait import (
    FACE_CUT_WARN,
    Portrait,
    capture_portrait,
    face_cut_share,
    portrait_from,
    read_portrait_image,
    save_portrait,
)
from pipelines.avatar.render import AvatarRenderer
from pipelines.avatar.rest import RestMouth, finish_rest, settle_pitched, settle_rest
from pipelines.avatar.rest_eyes import NO_BLINK_READ, open_eyes
from pipelines.avatar.rig import Rig
from pipelines.frame import CtxKey, FrameClock, FrameContext
from pipelines.schema import AvatarMode, FileField, FileKind, Fps, Label
from pipelines.stage import BenchVariant, Stage, StageSettings, register_stage

log = logging.getLogger(__name__)

STAGE_NAME = "talking_head"
PLACEHOLDER_GREY = 96
"""The grey that stands in while no portrait's face is found yet, or none could be."""
MODES: tuple[str, ...] = get_args(AvatarMode)


Byte = Annotated[int, Meta(ge=0, le=255)]


class AvatarState(enum.StrEnum):
    """Whether the avatar the stage shows is built yet."""

    READY = "ready"
    """The avatar renders and moves."""
    PREPARING = "preparing"
    """Its build still runs on a helper thread: the portrait's photo stands still in its place
    (overlay or stand-in as asked, never the camera where a stand-in was asked for)."""


@dataclass(frozen=True)
class TalkingHeadInfo:
    """What the stage did on a frame."""

    mode: str
    """``overlay`` or ``stand-in`` (what ``auto`` chose)."""
    weights: dict[str, float]
    """The animator's basis weights."""
    render_ms: float
    state: AvatarState = AvatarState.READY


TALKING_HEAD_INFO: CtxKey[TalkingHeadInfo] = CtxKey("talking_head")


@dataclass(frozen=True)
class TalkingHeadSettings(StageSettings):
    portrait: Annotated[str, FileField((FileKind.IMAGE,))] = ""
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
    standin_after_s: Annotated[
        float,
        Meta(ge=0.0, le=600.0),
        Label(
            "Stand in after (s)",
            "In auto mode: how long the face may be out of view before the avatar stands in "
            "for the video; 0: as soon as it is lost",
        ),
    ] = 3.0
    paused: Annotated[
        bool,
        Label(
            "Stand in now",
            "In auto mode: the avatar stands in for the video now, face or no face (as while "
            "the camera is paused)",
        ),
    ] = False
    """Stand-in now (the camera is paused), in auto mode."""
    blinks: bool = True
    idle: bool = True
    mirror_head: bool = True
    expressiveness: Annotated[float, Meta(ge=0.0, le=2.0)] = 1.0
    fps: Fps = 30.0
    """Frame rate the animation's clock assumes (frame index / fps; a live source's frames go
    by their capture time, :class:`~pipelines.frame.FrameClock`)."""
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
        (:func:`~pipelines.avatar.lids.settle_lids`). Eyes squeezed to slits are opened first,
        and narrow eyes whose shut lids the tracker follows not at all are opened where that
        makes it read a blink (:func:`~pipelines.avatar.rest_eyes.open_eyes`,
        :data:`~pipelines.avatar.rest_eyes.NO_BLINK_READ`)."""
        cut = face_cut_share(portrait)
        if cut >= FACE_CUT_WARN:
            # Said, not refused: it still talks; but the part of the face the photo lacks is
            # never drawn (faded out in the overlay; in a stand-in the cut goes on the frame's
            # side where it can, else a soft band through the face).
            log.warning(
                "talking head: the photo cuts this portrait's face (%.0f %% of its outline is "
                "past the photo's edge), so part of the face is missing; a photo with the "
                "whole face in it looks better",
                100.0 * cut,
            )
        # Eyes squeezed to slits or shut are opened first: no blink shows over a slit.
        given, portrait = portrait, open_eyes(portrait)
        avatar = cls._built(portrait, retrack)
        if retrack and portrait is given and avatar.rig.lid_reading >= NO_BLINK_READ:
            # Narrow eyes whose lids the tracker follows not at all (a laugh's eyes, the cheeks
            # pushing the lower lids up, read 0.14-0.15 of their width, above
            # rest_eyes.SQUINT_OPEN): opened as a squint is, and kept where the tracker then
            # reads a blink (tuning photos made to laugh so: posed blinks 0 -> 8 of 8). A
            # three-quarter profile whose opened eye still reads no blink (cameraman) stays.
            wider = open_eyes(given, squint_open=math.inf)
            if wider is not given:
                other = cls._built(wider, retrack)
                kept = other.rig.lid_reading < SEEN
                note("rest_eyes.reopened", kept, other.rig.lid_reading, SEEN)
                log.info(
                    "talking head: the shut lids read at %.2f of the open eye, no blink; with "
                    "the eyes opened at rest %.2f (%s)",
                    avatar.rig.lid_reading,
                    other.rig.lid_reading,
                    "kept" if kept else "not kept",
                )
                if kept:
                    return other
        return avatar

    @classmethod
    def _built(cls, portrait: Portrait, retrack: bool) -> Avatar:
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


@dataclass(eq=False)
class AvatarBuild:
    """One portrait's avatar, built on a helper thread. A build finds the face and reads its own
    renders with the face tracker for seconds (1.3-6 s on 2 cores, 13 s for a three-quarter
    profile): on the processing thread the video would stand still that long whenever a
    preset, a portrait or "use my face" brought a new avatar."""

    spec: str
    """The portrait file (empty: the shipped demo portrait; ``camera``: a captured face)."""
    still: Portrait | None = None
    """The portrait, shown still while the avatar is built."""
    avatar: Avatar | None = None
    error: Exception | None = None
    person: np.ndarray | None = None
    """The still portrait's person mask, made when a stand-in first needs it."""
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def failed(self) -> bool:
        return self.done.is_set() and self.error is not None

    def wait(self, timeout: float | None = None) -> Avatar:
        """The avatar, once built; raises the build's error, or TimeoutError."""
        if not self.done.wait(timeout):
            raise TimeoutError(f"the avatar of {self.spec or 'the demo portrait'} is not built yet")
        if self.error is not None:
            raise self.error
        assert self.avatar is not None
        return self.avatar


_builds: dict[str, AvatarBuild] = {}
_avatars_lock = threading.Lock()
_build_lock = threading.Lock()
"""One build at a time: two at once would only share the same two cores, each taking twice
as long, and the video's own stages share them too."""


_running: set[threading.Thread] = set()
BUILD_STOP_WAIT_S = 10.0
"""How long the process's exit waits for a running build to reach its next tracker call."""


def _build_in_background(
    build: AvatarBuild, make: Callable[[], Portrait], read: Callable[[], object] | None = None
) -> None:
    """``read``: the quick check of the photo, done before this build waits its turn: a first
    build took 65 s on a loaded 2-core machine (qa7), and a missing file or a video picked
    meanwhile went unsaid all that time."""

    def run() -> None:
        try:
            if read is not None:
                read()
            with _build_lock:
                if build.still is None:
                    build.still = make()
                build.avatar = Avatar.build(build.still)
        except Exception as exc:
            log.debug("the avatar of %r could not be built", build.spec, exc_info=True)
            build.error = exc
        finally:
            build.done.set()
            _running.discard(thread)

    # A daemon, so that it never holds the process up by itself; stop_builds ends it at exit.
    thread = threading.Thread(target=run, name="camfx-avatar-build", daemon=True)
    _running.add(thread)
    thread.start()


@atexit.register
def stop_builds() -> None:
    """At exit, stop the builds still running and wait for them (:mod:`.halt`: a thread left
    in the tracker's native code as the interpreter ends aborts the process)."""
    EXITING.set()
    for thread in list(_running):
        thread.join(BUILD_STOP_WAIT_S)


def avatar_build(spec: str, *, read_now: bool = True) -> AvatarBuild:
    """The (cached) build of the avatar for a portrait file, started if new. ``read_now``: read
    the photo on this thread first (a few milliseconds), so that a missing or undecodable file
    raises here (CamfxError, one line) and nothing is built; the face is found on the build's
    thread, and a photo without one lands in :attr:`AvatarBuild.error`. A failed build is tried
    again when asked for again."""
    with _avatars_lock:
        build = _builds.get(spec)
        if build is not None and not build.failed:
            return build
    photo = read_portrait_image(spec) if read_now else None
    with _avatars_lock:
        build = _builds.get(spec)
        if build is not None and not build.failed:
            return build
        build = _builds[spec] = AvatarBuild(spec)

    def read() -> tuple[np.ndarray, str]:
        nonlocal photo
        if photo is None:
            photo = read_portrait_image(spec)
        return photo

    def make() -> Portrait:
        return portrait_from(*read())

    _build_in_background(build, make, read)
    return build


def captured_build(portrait: Portrait) -> AvatarBuild:
    """The build of an avatar from a captured face ("use my face"; not cached)."""
    build = AvatarBuild("camera", still=portrait)
    _build_in_background(build, lambda: portrait)
    return build


def avatar_for(spec: str) -> Avatar:
    """The avatar for a portrait file, built now (cached: reopening the stage costs nothing)."""
    return avatar_build(spec).wait()


@register_stage
class TalkingHead(Stage[TalkingHeadSettings]):
    name = STAGE_NAME
    settings_type = TalkingHeadSettings
    # Issue 13: per 720p frame on 2 cores, each mode timed with its render and composition.
    timer_budgets_ms = MappingProxyType({"overlay": 4.0, "stand-in": 8.0})
    # The demo always shows a face, so `auto` never stands in during a bench: time it apart.
    bench_variants = (BenchVariant("stand_in", MappingProxyType({"mode": "stand-in"}), "stand-in"),)
    placeholder_until_warm = True

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
        self._clock = FrameClock(self.settings.fps)
        """The animation's time of each frame: blinks, sway and listening keep real time on a
        camera that gives fewer frames than asked or a machine that cannot keep up."""
        self._capture: tuple[bool, str | None] | None = None
        self.captured: Portrait | None = None
        self._portrait_spec = ""
        self._shown_spec: str | None = None
        """The portrait of the avatar shown (None: none shown yet, or one given)."""
        self._declined: str | None = None
        """The last portrait asked for that could not be used while another was kept."""
        self._build: AvatarBuild | None = None
        """The build whose avatar replaces :attr:`avatar` once done."""
        self._earlier: AvatarBuild | None = None
        """While no avatar is shown yet: the build asked for before :attr:`_build` (the first
        one, still running). Its still shows until the new build has one, and its avatar is
        taken where the new portrait cannot be used, as an avatar shown is kept."""

    def open(self) -> None:
        s = self.settings
        if not self._given and (self.avatar is None or s.portrait != self._portrait_spec):
            # The photo is read here (a missing or broken file refuses the stage in one line);
            # its face is found and the avatar built on a helper thread meanwhile.
            self._follow(s.portrait, read_now=True)
        self.animator = Animator(self._motion_settings(s))
        self._last_face_t = None
        super().open()

    def _follow(self, spec: str, read_now: bool) -> None:
        self._portrait_spec = spec
        prior = self._build
        self._build = avatar_build(spec, read_now=read_now)
        # With no avatar shown yet, the build asked for before goes on beside the new one (of
        # two, the one with a still to show: a build not begun yet has none).
        if self.avatar is None and prior is not None and prior is not self._build:
            self._earlier = prior if prior.still is not None else self._earlier or prior
        if self._earlier is self._build:
            self._earlier = None
        self._adopt()

    def _adopt(self) -> None:
        """Show the awaited build's avatar once it is done; where it failed, keep the avatar
        shown so far and say why once (the engine passes it on as a warning)."""
        earlier = self._earlier
        if earlier is not None and earlier.done.is_set():
            # The avatar asked for before is built: shown until the new one is (as a change
            # after the first build keeps the old avatar meanwhile), or dropped if it failed.
            self._earlier = None
            if earlier.error is None:
                self._take(earlier)
        build = self._build
        if build is None or not build.done.is_set():
            return
        self._build = None
        if build.error is None:
            self._earlier = None
            self._take(build)
            return
        problem = str(build.error)
        if build.spec and build.spec not in problem:
            problem = f"portrait {build.spec!r}: {problem}"  # (the portrait's own errors name it)
        if self.avatar is None and self._earlier is not None:
            # The first avatar is still being built: it goes on, its still shown meanwhile.
            self._build, self._earlier = self._earlier, None
            self._declined = build.spec
            self.report(f"{problem}; the talking head keeps the portrait it had")
        elif self.avatar is None:
            # Nothing to show at all: a placeholder (never the camera where a stand-in is asked
            # for) until another portrait is picked.
            self.report(f"{problem}; the talking head has none until another is picked")
        else:
            self._declined = build.spec
            self.report(f"{problem}; the talking head keeps the portrait it had")

    def _kept_spec(self) -> str | None:
        """The portrait the talking head keeps: the one being built while none is shown yet,
        else the one shown; None where there is neither."""
        build = self._build
        if self.avatar is None and build is not None:
            return build.spec
        return self._shown_spec if self.avatar is not None else None

    def settings_in_use(self) -> TalkingHeadSettings:
        """The portrait refused and said so is not what runs: the one kept is (a refused
        portrait stayed the setting, was saved, and the next start had no talking head:
        qa62)."""
        s = self.settings
        kept = self._kept_spec()
        if self._declined is not None and s.portrait == self._declined and kept is not None:
            return s.replace(portrait=kept)
        return s

    def _take(self, build: AvatarBuild) -> None:
        self._shown_spec = build.spec
        self.avatar = build.avatar
        if self.avatar is not None and self.avatar.person is None:
            self.avatar.person = build.person  # the still's, if a stand-in made one

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the avatar being built is shown (tests, tools). True when none is left
        to wait for."""
        build = self._build
        if build is not None and not build.done.wait(timeout):
            return False
        self._adopt()
        return self._build is None

    @property
    def state(self) -> AvatarState:
        return AvatarState.READY if self.avatar is not None else AvatarState.PREPARING

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
            build = self._build
            if s.portrait == self._kept_spec() and (build is None or build.spec == s.portrait):
                # Back to the portrait kept (the window's settings, after one it refused),
                # with no other one on its way: nothing new to read or build.
                self._portrait_spec = s.portrait
            else:
                # A new portrait is read and built on a helper thread; the one shown so far
                # goes on meanwhile (and stays where the new one fails).
                self._follow(s.portrait, read_now=False)
        self._adopt()
        motion = self._motion_settings(s)
        if motion != self.animator.settings:
            self.animator.settings = motion
        face = ctx.primary_face
        if self._capture is not None and face is not None:
            _, save_to = self._capture
            self._capture = None
            self.captured = capture_portrait(image, face)
            self._build = captured_build(self.captured)
            self._given = True
            if save_to:
                save_portrait(self.captured, save_to)
        self._clock.fps = s.fps
        t = self._clock.time_of(ctx)
        mouth = ctx.audio.params if ctx.audio is not None else NEUTRAL
        seen = face is not None and face.visibility > 0.5
        if seen:
            self._last_face_t = t
        head = face.pose if face is not None and seen else None
        pose = (head.yaw, head.pitch, head.roll) if head is not None else None
        weights = self.animator.update(t, mouth, pose)

        mode = self._mode(s, t, seen)
        if self.avatar is None:
            # Preparing: the portrait, still, where the avatar will be. Not timed against the
            # render budgets (a few seconds once, and no render).
            out = self._placeholder(mode, image)
            ctx.put(TALKING_HEAD_INFO, TalkingHeadInfo(mode, weights, 0.0, self.state))
            return out
        t0 = time.perf_counter()
        avatar = self._render(mode, image, weights)
        render_ms = (time.perf_counter() - t0) * 1000.0
        t1 = time.perf_counter()
        out = self._compose(mode, image, avatar)
        compose_ms = (time.perf_counter() - t1) * 1000.0
        ctx.stage_ms[f"{STAGE_NAME}/render"] = render_ms
        ctx.stage_ms[f"{STAGE_NAME}/compose"] = compose_ms
        ctx.stage_ms[f"{STAGE_NAME}/{mode}"] = render_ms + compose_ms
        ctx.put(TALKING_HEAD_INFO, TalkingHeadInfo(mode, weights, render_ms, self.state))
        return out

    def _placeholder(self, mode: str, image: np.ndarray) -> np.ndarray:
        """What shows while no avatar is built: the portrait still, once its face is found;
        before that (a fraction of a second) or where none was found, the camera as it is in
        overlay mode, and a flat grey picture in its place to stand in."""
        for build in (self._build, self._earlier):
            if build is not None and build.still is not None:
                return self._compose_still(mode, image, build.still, build)
        if mode == "stand-in":
            return np.full_like(image, PLACEHOLDER_GREY)
        return image

    def _compose_still(
        self, mode: str, image: np.ndarray, still: Portrait, build: AvatarBuild
    ) -> np.ndarray:
        if mode == "stand-in":
            h, w = image.shape[:2]
            return compose_standin(image, still.image, self._standin_for(build, still, (w, h)))
        return self._compose(mode, image, still.image)

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

    def _standin_for(
        self, owner: Avatar | AvatarBuild, portrait: Portrait, size: tuple[int, int]
    ) -> StandIn:
        """The stand-in's backdrop and placement of ``portrait`` at a frame size, made once per
        portrait and size; its person mask is kept on ``owner`` (the avatar, or the build whose
        still the portrait is)."""
        if self._standin is None or self._standin[:2] != (id(portrait), size):
            if owner.person is None:
                owner.person = person_mask(portrait.image)
            standin = make_standin(portrait.image, owner.person, size, portrait.coverage)
            self._standin = (id(portrait), size, standin)
        return self._standin[2]

    def _compose(self, mode: str, image: np.ndarray, avatar: np.ndarray) -> np.ndarray:
        s = self.settings
        if mode == "stand-in":
            assert self.avatar is not None
            h, w = image.shape[:2]
            standin = self._standin_for(self.avatar, self.avatar.portrait, (w, h))
            return compose_standin(image, avatar, standin)
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
        """Build the avatar now, blocking, not while the first frames go by: the benchmark
        calls this, and runs that read files (every frame of a render shows the avatar)."""
        if self._build is not None:
            self._build.done.wait()
            self._adopt()
        if self.avatar is None and not self._given:
            self.avatar = avatar_for(self.settings.portrait)
            self._portrait_spec = self._shown_spec = self.settings.portrait

    def _mode(self, s: TalkingHeadSettings, t: float, seen: bool) -> str:
        if s.mode != "auto":
            return s.mode
        if s.paused:
            return "stand-in"
        if seen:
            # A face in view is never stood in for: at 0 s, `t - last face >= 0` held on every
            # frame and the avatar stood in with the user in view (qa7).
            return "overlay"
        if self._last_face_t is None:
            self._last_face_t = t  # the wait for a face starts now
        if t - self._last_face_t >= s.standin_after_s:
            return "stand-in"
        return "overlay"
