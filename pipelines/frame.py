"""What travels through the engine: pixels, a capture timestamp and a per-frame context.

Stages never keep per-frame results on themselves; they write them into the frame's
:class:`FrameContext` so that later stages (and outputs, and the GUI) read them from one place
and a frame's results can never be mixed up with another frame's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

if TYPE_CHECKING:  # annotations only: `camfx --help` lists presets without loading numpy
    import numpy as np

    from pipelines.audio.stage import AudioState
    from pipelines.tracking.types import Face


T = TypeVar("T")


class CtxKey(str, Generic[T]):
    """A typed per-frame slot: ``ctx.put(KEY, value)`` in one stage, ``ctx.get(KEY)`` in a
    later one, both checked by mypy against ``T``. Defined once next to the stage that writes
    it and imported by the readers, so a misspelt key is an import error instead of a silent
    miss. A ``str`` underneath: it is stored in :attr:`FrameContext.extras` under its name, so
    logs, tests and older readers of ``extras[name]`` see the same entry."""

    __slots__ = ()


RESENT: CtxKey[bool] = CtxKey("resent")
"""Set by the engine on a copy of the last frame re-sent while it idles (not a new frame)."""

HELD: CtxKey[bool] = CtxKey("held")
"""Set by the engine on a frame whose picture is its hold image (:meth:`Engine.hold`), sent in
place of the captured one while the stage list asked for is not running yet."""

SOURCE_CARD: CtxKey[bool] = CtxKey("source_card")
"""Set by a source on a frame whose picture is a message card it sends instead of a capture
(a camera while it is unplugged: :attr:`pipelines.sources.base.SourceConfig.lost_card`): the
engine delivers it unprocessed. Here, not in the engine, so a source can set it without
importing the engine."""

NEW_SCENE: CtxKey[bool] = CtxKey("new_scene")
"""Set by a source on the first frame of another scene (the window's source switched from one
camera, file or picture to another): the engine has its stages forget what earlier frames left
(:meth:`~pipelines.stage.Stage.forget_frames`) before it. "Only me" locked on the person of the
old source kept its lock, and a person in another place in the new one was cut out for its
10 s hold (qa64, 2026-12-08)."""

FRESH_IMAGE: CtxKey[np.ndarray] = CtxKey("fresh_image")
"""Set by a stage on the image it returns when that is a new array it keeps no reference to
(not its input, not a buffer reused on later frames). The engine reads it (and removes it)
before the next stage runs, and passes that stage :data:`WRITABLE_IMAGE`."""

WRITABLE_IMAGE: CtxKey[np.ndarray] = CtxKey("writable_image")
"""Set by the engine to a stage's input image when the stage just before made it
(:data:`FRESH_IMAGE`): nobody else holds it, so the stage may write into it and return it
instead of copying the frame first. Never the captured frame (the source, the segmentation's
guide and the GUI may still read that one), and never outside an engine. A stage that writes
into it and then fails leaves what it wrote: the engine bypasses the stage, and that one frame
goes out with the stage's partial work (beauty: part of one face's retouch) rather than the
stage's input untouched."""


UNHURRIED: CtxKey[bool] = CtxKey("unhurried")
"""Set by the engine on a frame it runs serially because it has time to spare
(:data:`pipelines.engine.SERIAL_SHARE`): a stage does work it would hand to a helper thread on
its own thread instead (a hand-off costs 0.15-0.2 ms of CPU; at a camera's pace the frame's
latency has room for it)."""


LIVE_CAPTURE: CtxKey[bool] = CtxKey("live_capture")
"""Set by the engine on each frame of a live source (a camera, the window's switchable
source): its timestamp is when it was captured, and frames it did not take are gone, so its
``index`` counts the frames read, not the time that passed (:class:`FrameClock`)."""


class FrameClock:
    """The time a frame stands for on a stage's own clock (a talking head's animation, the
    voice file it mouths): ``index / fps`` for a file's or the demo's frames, which are all
    taken (or skipped by index) and recorded by their index; the capture time for a live
    source's (:data:`LIVE_CAPTURE`), whose index counts only the frames read. By index, a
    webcam that gave 15 fps when asked for 30 (a dim room) played a voice file's mouth and
    the avatar's blinks at half speed, and its recording's mouth read r -0.26 against its own
    voice (2026-12-07); so did any camera the machine was too busy to keep up with.

    A live frame's time runs from the first live frame's ``index / fps`` on (the voice a
    window picks while its camera runs starts where the index puts it, as before), by capture
    time; a frame that is not live goes back to its index."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self.played_from: float | None = None
        """The capture time at which this clock's time 0 lies while frames are live; None
        while they are timed by their index."""

    def time_of(self, ctx: FrameContext) -> float:
        fps = max(self.fps, 1e-6)
        if not ctx.get(LIVE_CAPTURE):
            self.played_from = None
            return ctx.index / fps
        if self.played_from is None:
            self.played_from = ctx.timestamp - ctx.index / fps
        return ctx.timestamp - self.played_from


class LazyMask(Protocol):
    """A person mask that is made full size only when somebody asks for it (see
    :attr:`FrameContext.mask`): a stage that can work from a smaller copy never pays for it."""

    def full(self) -> np.ndarray:
        """The mask at frame size, float32 in [0, 1] (made once, then the same array)."""
        ...


@dataclass
class FrameContext:
    """Per-frame results. Fields for what most stages share; :class:`CtxKey` slots (read and
    written with :meth:`get` and :meth:`put`) for the results one stage hands to another."""

    timestamp: float
    """Monotonic capture time in seconds (``time.monotonic()``), set by the source; from a
    source on its media clock (``SourceConfig.media_time``, an offline render), the frame's
    time in the media, ``index / fps`` from 0."""
    index: int
    """Sequence number from the source; gaps mean frames were dropped before processing."""
    faces: list[Face] = field(default_factory=list)
    """The tracked faces (the face tracker's; auto-framing maps them into its crop)."""
    primary_face: Face | None = None
    """The face the effects follow (the largest, or the one "only me" keeps)."""
    audio: AudioState | None = None
    """The talking head's voice on this frame (the ``audio_mouth`` stage's)."""
    extras: dict[str, Any] = field(default_factory=dict)
    stage_ms: dict[str, float] = field(default_factory=dict)
    """Wall time each stage took on this frame, filled in by the engine."""
    errors: list[str] = field(default_factory=list)
    """Stages that failed on this frame (they were bypassed)."""
    _mask: np.ndarray | None = field(default=None, init=False, repr=False)
    _mask_source: LazyMask | None = field(default=None, init=False, repr=False)

    @property
    def mask(self) -> np.ndarray | None:
        """Person mask, float32 in [0, 1], frame size (None without a segmentation stage).

        A stage may leave it as a :class:`LazyMask` (:meth:`set_lazy_mask`); it is then made
        on first read, so reading it costs a full-size resize once per frame."""
        if self._mask is None and self._mask_source is not None:
            self._mask = self._mask_source.full()
        return self._mask

    @mask.setter
    def mask(self, value: np.ndarray | None) -> None:
        self._mask = value
        self._mask_source = None

    def set_lazy_mask(self, source: LazyMask) -> None:
        """Make ``source.full()`` this frame's :attr:`mask`, when first read."""
        self._mask = None
        self._mask_source = source

    def get(self, key: CtxKey[T]) -> T | None:
        """The value of ``key`` on this frame, None when no stage wrote it."""
        return cast("T | None", self.extras.get(key))

    def put(self, key: CtxKey[T], value: T) -> None:
        self.extras[key] = value

    def pop(self, key: CtxKey[T]) -> T | None:
        """Take the value of ``key`` out of this frame (None when absent)."""
        return cast("T | None", self.extras.pop(key, None))

    @property
    def mask_source(self) -> LazyMask | None:
        """The :class:`LazyMask` behind :attr:`mask`, while nobody has replaced the mask."""
        return self._mask_source


@dataclass
class Frame:
    """A BGR uint8 image (H×W×3, C-contiguous) and its context."""

    image: np.ndarray
    ctx: FrameContext

    @property
    def timestamp(self) -> float:
        return self.ctx.timestamp

    @property
    def index(self) -> int:
        return self.ctx.index

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    @classmethod
    def new(cls, image: np.ndarray, timestamp: float, index: int) -> Frame:
        return cls(image=image, ctx=FrameContext(timestamp=timestamp, index=index))


def hand_over_image(ctx: FrameContext, image: np.ndarray) -> None:
    """Before a stage runs on ``image``: :data:`WRITABLE_IMAGE` where the stage just before
    made it (:data:`FRESH_IMAGE`), else none. Only the stage right after the one that made the
    image may write into it: one in between that returned it as it is may keep a reference."""
    fresh = ctx.pop(FRESH_IMAGE)
    if fresh is not None and fresh is image:
        ctx.put(WRITABLE_IMAGE, image)
    else:
        ctx.pop(WRITABLE_IMAGE)
