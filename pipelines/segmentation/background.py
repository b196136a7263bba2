"""Background effect stages: ``background_blur`` and ``background_replace``.

Both read ``ctx.mask`` (written by the ``segmentation`` stage, which must run before them) and
composite the frame over a new background. Without a mask they pass the frame through and log
once: there is no person to keep.

When the stage that runs next is a :class:`~pipelines.segmentation.fused.TableStage`
(light_color, in Studio), the blur's compiled composite goes through that stage's colour
curves in the same pass (:class:`~pipelines.segmentation.fused.SmallComposite`): the engine
tells each stage which stages follow it (:meth:`Stage.set_following`).

Settings change smoothly: numeric settings (blur strength, desaturation, light wrap) glide to
their new value over :data:`EASE_S`, and a new replacement background cross-fades in over
:data:`CROSSFADE_S`.

Bad background files: ``background_replace`` loads images and videos on a worker thread. Until
a new file is ready, and for good if it cannot be used, the last good background stays on
screen (or the solid colour, when there was none yet: the real room is never shown by
accident). A failure is logged once (error level) with the file and what to do, kept in
``stage.last_error``, and reported on every frame in :data:`BACKGROUND_ERROR` while
the bad file stays selected. :func:`pipelines.segmentation.backgrounds.check_background`
raises the same message at once, for a settings dialog that wants to refuse the file up front.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import time
from collections.abc import Sequence
from concurrent.futures import Future
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal, get_args

import cv2
import numpy as np
from msgspec import Meta

from pipelines.errors import SettingsError
from pipelines.frame import FRESH_IMAGE, LIVE_CAPTURE, UNHURRIED, CtxKey, FrameContext
from pipelines.inference import OnnxModel
from pipelines.inference.session import short_name
from pipelines.schema import FileField, FileKind
from pipelines.segmentation import fused, tiled
from pipelines.segmentation.backgrounds import (
    BackgroundError,
    BackgroundLoader,
    FitMode,
    LoopingVideo,
    check_background,
    fit_to_frame,
)
from pipelines.segmentation.colour_matte import MATTE_LONG_SIDE, apply_keep, room_colour_keep
from pipelines.segmentation.composite import (
    DECONTAMINATE_RADIUS_FRACTION,
    EDGE_RAMP,
    background_estimate,
    blurred_background_small,
    composite,
    soft_background_small,
    wrap_keep,
)
from pipelines.segmentation.device_blur import (
    BLUR_BACKENDS,
    DeviceBlur,
    blur_job,
    choose_backend,
    requested_backend,
    segmentation_provider,
)
from pipelines.segmentation.overlap import Overlap
from pipelines.segmentation.refine import MASK_PYRAMID_KEY, FramePyramid, RefinedMask, Scratch
from pipelines.segmentation.stage import SEGMENTATION_RAW
from pipelines.segmentation.tiles import TileMap, tiles_for
from pipelines.stage import Stage, StageSettings, register_stage

log = logging.getLogger(__name__)

# Blur radius at strength 1, as a fraction of the frame's short side (58 px at 720p).
BLUR_MAX_FRACTION = 0.08
# Time for a changed setting to glide to its new value, and for a new background to fade in.
EASE_S = 0.2
FOLD_WITHOUT_NUMBA = True
"""Without Numba (and without light wrap), the blur over a refined mask composites with
:class:`tiled.SmallComposite`: the light's curves folded in (its own ``cv2.LUT`` pass saved) and
no full-size mask. Studio 720p, CAMFX_NO_JIT=1, in-process A/B frame by frame (300 frames,
30 ms apart, load 1.1): the blur 0.23 ms and the light 2.7 ms less CPU, 2.6 ms a frame in all;
the picture 59.5-59.9 dB from the two passes (tests/test_fold_without_numba.py). False: the
plain OpenCV blend and the light's own pass, as before."""
CROSSFADE_S = 0.3
BACKGROUND_WAIT_S = 30.0
"""How long a frame that is not live waits for the background file asked for (a 4K video's
first frame on a loaded machine is well within it; a file that never loads is refused by its
loader first, and the frames go on with the colour)."""
# Light wrap takes its colour from the replacement background blurred by this fraction of the
# frame's short side.
WRAP_BLUR_FRACTION = 0.03

ReplaceMode = Literal["color", "image", "video"]
WithoutMask = Literal["pass", "hide"]
"""What a background effect does with a frame that has no person mask (the segmentation not
started yet, failing on the frame, or stuck): pass it through, or hide all of it as room."""
REPLACE_MODES: tuple[str, ...] = get_args(ReplaceMode)
HEX_COLOR_PATTERN = r"^\s*#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\s*$"
_HEX_COLOR = re.compile(HEX_COLOR_PATTERN)


def parse_color(text: str) -> tuple[int, int, int]:
    """ "#RRGGBB" or "#RGB" (as in CSS) → (B, G, R)."""
    m = _HEX_COLOR.fullmatch(text.strip())
    if m is None:
        raise SettingsError(f"colour {text!r} is not a #RRGGBB hex colour (e.g. #2d6a4f)")
    digits = m.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    r, g, b = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    return b, g, r


class Eased:
    """A value that follows its target with an exponential glide over ``tau`` seconds."""

    def __init__(self, tau: float = EASE_S) -> None:
        self.tau = tau
        self.value: float | None = None
        self.time: float | None = None

    def __call__(self, target: float, now: float) -> float:
        if self.value is None or self.time is None or not (0.0 <= now - self.time <= 1.0):
            self.value = target
        else:
            k = 1.0 - float(np.exp(-(now - self.time) / self.tau))
            self.value += (target - self.value) * k
            if abs(self.value - target) < 1e-3:
                self.value = target
        self.time = now
        return self.value


_warned_no_mask: set[str] = set()


def frame_mask(
    stage_name: str, image: np.ndarray, ctx: FrameContext, without: WithoutMask = "pass"
) -> np.ndarray | None:
    """``ctx.mask`` at the image's size, or, when there is none, None (logged once per stage)
    or with ``without="hide"`` a mask of nobody: the whole frame is room."""
    mask = ctx.mask
    if mask is None and without == "hide":
        return np.zeros(image.shape[:2], np.float32)
    if mask is None:
        if stage_name not in _warned_no_mask:
            log.warning(
                "%s has no person mask to work with (no segmentation stage runs before it, or"
                " it has not started yet): the frame passes through",
                stage_name,
            )
            _warned_no_mask.add(stage_name)
        return None
    h, w = image.shape[:2]
    if mask.shape != (h, w):
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
    return mask


def mask_pyramid(mask: np.ndarray, extras: dict[str, Any]) -> FramePyramid:
    """Reduced copies of ``mask``, shared between stages through ``extras`` (keyed on the mask
    object itself, so a stage that replaced ``ctx.mask`` gets a fresh one)."""
    pyramid = extras.get(MASK_PYRAMID_KEY)
    if isinstance(pyramid, FramePyramid) and pyramid.source is mask:
        return pyramid
    pyramid = extras[MASK_PYRAMID_KEY] = FramePyramid(mask)
    return pyramid


BACKGROUND_ERROR: CtxKey[str | None] = CtxKey("background_error")
"""Why the chosen background image or video could not be used (the stage shows the blur
instead), on every frame while it stands."""


@dataclasses.dataclass(frozen=True)
class BackgroundBlurSettings(StageSettings):
    strength: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.35
    """Blur radius, 1 = 8 % of the frame's short side."""
    lens: bool = True
    """Lens-like disk blur (bright spots become discs); off: Gaussian."""
    desaturate: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0
    """Take colour out of the background (1 = grey): with a strong blur, the "privacy" look."""
    light_wrap: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0
    """Let background light spill over the person's outline."""
    without_mask: WithoutMask = "pass"
    """A frame with no person mask (the segmentation failing or not started): passed through,
    or blurred whole ("hide")."""

    HIDES_THE_ROOM: ClassVar[bool] = True
    NEEDS_THE_MASK: ClassVar[bool] = True
    HIDING_THE_ROOM: ClassVar = MappingProxyType({"enabled": True, "without_mask": "hide"})
    """In a preset that hides the room it runs, whatever its file says, and a frame its
    segmentation failed on is blurred whole (it went out sharp: qa64)."""


@register_stage
class BackgroundBlur(Stage[BackgroundBlurSettings]):
    compiled_kernels = True
    name = "background_blur"
    settings_type = BackgroundBlurSettings
    rehearsed = True
    """The first composite took 60-130 ms (OpenCV's first calls, the compiled kernels' first
    call) against 8-15 ms: run before the swap; its eased values are then forgotten."""

    def __init__(self, settings: BackgroundBlurSettings | None = None) -> None:
        super().__init__(settings)
        self.scratch = Scratch()
        self.overlap = Overlap(self.name)
        self._strength = Eased()
        self._desaturate = Eased()
        self._wrap = Eased()
        self._following: tuple[tuple[Stage[Any], fused.TableStage | None], ...] = ()
        self._device: DeviceBlur | None = None
        self._backend_chosen = False
        self.backend_name = "cpu"
        """Where the pixel work runs (:mod:`pipelines.segmentation.device_blur`): "cpu",
        "<backend>:<provider>" for a device backend ("onnx:CUDA", "onnx-room:CPU": the
        composite graph's session's provider), or "cpu (<backend> failed: <why>)" after an
        automatically chosen device backend failed."""

    def open(self) -> None:
        # Compile (or load from Numba's cache) the one-pass composite in the background; until
        # it is there, and for good without Numba, the OpenCV path runs.
        fused.prepare()
        # The segmentation opens first and has its session by now; without one (a mask put
        # in by a test) the backend is chosen on the first frame.
        if segmentation_provider() is not None:
            self._choose_backend()
        super().open()

    def _choose_backend(self) -> None:
        provider = segmentation_provider() or "CPUExecutionProvider"
        name = choose_backend(provider)
        self._backend_chosen = True
        try:
            self._device = BLUR_BACKENDS.get(name).open(provider)
        except Exception as exc:
            self._device_failed(name, exc)
            return
        device = self._device
        self.backend_name = name if device is None else f"{name}:{short_name(device.provider)}"

    def _device_failed(self, name: str, exc: Exception) -> None:
        """A device backend that cannot open or run: an error when it was asked for by name
        ($CAMFX_BLUR_BACKEND); chosen automatically, the CPU composite takes over for good,
        said once in the log and in :attr:`backend_name` (``camfx bench`` reports it)."""
        self._device = None
        if requested_backend() != "auto":
            raise exc
        log.warning("background blur: the %s backend failed (%s); the CPU composite takes over",
                    name, exc)  # fmt: skip
        self.backend_name = f"cpu ({name} failed: {str(exc).splitlines()[0][:200]})"

    def set_following(self, following: Sequence[Stage[Any]]) -> None:
        # Checked against the protocol once here, not on every frame (a runtime protocol
        # check looks up each of its members).
        self._following = tuple(
            (st, st if isinstance(st, fused.TableStage) else None) for st in following
        )

    def _table_stage(self) -> fused.TableStage | None:
        """The stage that runs next, when it is an open :class:`fused.TableStage` (the light)
        whose curves the composite can take on."""
        for st, table_stage in self._following:
            if st.settings.enabled:
                return table_stage if table_stage is not None and table_stage.is_open else None
        return None

    def models(self) -> tuple[OnnxModel, ...]:
        device = self._device
        return () if device is None else device.models()

    def warm_up(self) -> None:
        fused.available()

    def wait_warm(self, timeout: float) -> bool:
        return fused.wait_ready(timeout)

    def forget_frames(self) -> None:
        self._strength = Eased()
        self._desaturate = Eased()
        self._wrap = Eased()

    def close(self) -> None:
        self.overlap.close()
        self._device = None
        self._backend_chosen = False
        super().close()

    def _composite_without_numba(
        self, image: np.ndarray, refined: RefinedMask, small: np.ndarray, ctx: FrameContext
    ) -> np.ndarray | None:
        """:class:`tiled.SmallComposite`'s picture (through the next stage's curves when it
        is the light), or None where its sizes do not allow it."""
        sampled, tiles = refined.sampled(), refined.tiles
        if not tiled.SmallComposite.usable(image, sampled, small, tiles):
            return None
        pending = tiled.SmallComposite(image, sampled, small, tiles)
        light = self._table_stage()
        if light is None:
            out = pending.render()
        else:
            step = light.thumb_step(image.shape[1])
            out = pending.render(light.table_for(pending.thumbnail(step), step, ctx))
            ctx.put(fused.TABLE_FOLDED, out)
        ctx.put(FRESH_IMAGE, out)  # a new array, kept by nobody
        return out

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        refined = ctx.mask_source
        if not isinstance(refined, RefinedMask) or refined.size != image.shape[1::-1]:
            refined = None
        mask = frame_mask(self.name, image, ctx, s.without_mask) if refined is None else None
        if refined is None and mask is None:
            return image
        now = ctx.timestamp
        strength = self._strength(s.strength, now)
        desaturate = self._desaturate(s.desaturate, now)
        wrap = self._wrap(s.light_wrap, now)
        radius = strength * BLUR_MAX_FRACTION * min(image.shape[:2])
        if radius < 0.5 and desaturate <= 0.0:
            return image
        frames = FramePyramid.of(image, ctx.extras)
        if refined is not None:
            masks: FramePyramid = refined
        else:
            assert mask is not None
            masks = mask_pyramid(mask, ctx.extras)

        if not self._backend_chosen:
            self._choose_backend()
        if self._device is not None and wrap <= 0.0:
            # The device's composite (see pipelines.segmentation.device_blur): the frame and
            # the mask's detail level go there once, the composited frame comes back.
            weight = refined.sampled() if refined is not None else mask
            assert weight is not None
            job = blur_job(
                image,
                weight,
                frames,
                masks,
                radius,
                lens=s.lens,
                desaturate=desaturate,
            )
            if job is not None:
                device = self._device
                room_small = (
                    None
                    if device.room_on_device
                    else blurred_background_small(
                        frames, masks, radius, lens=s.lens, desaturate=desaturate
                    )
                )
                light = self._table_stage()
                try:
                    if light is None:
                        out = device.render(job, room=room_small)
                    else:
                        # The light's curves in the composite graph, decided from the
                        # thumbnail of the composite worked out on the host: the light's own
                        # pass is saved.
                        table_for = light.table_for
                        out = device.render(
                            job,
                            lambda thumb, step: table_for(thumb, step, ctx),
                            light.thumb_step(image.shape[1]),
                            room=room_small,
                        )
                except Exception as exc:
                    self._device_failed(self.backend_name, exc)
                    return self.process(image, ctx)
                if light is not None:
                    ctx.put(fused.TABLE_FOLDED, out)
                ctx.put(FRESH_IMAGE, out)  # a new array, kept by nobody
                return out

        if not fused.ready():
            room_small = blurred_background_small(
                frames, masks, radius, lens=s.lens, desaturate=desaturate
            )
            if refined is not None and wrap <= 0.0 and FOLD_WITHOUT_NUMBA:
                # Without Numba: the composite on the tile map's runs, the light's curves in
                # it (see FOLD_WITHOUT_NUMBA), where the sizes allow.
                folded = self._composite_without_numba(image, refined, room_small, ctx)
                if folded is not None:
                    return folded
            # Without Numba otherwise (light wrap, a mask not refined, sizes SmallComposite
            # does not sample) the blur's plain OpenCV path (blend the outline's runs of tiles
            # straight into the upsampled room) is the faster one: against the tiled one-pass
            # composite, 8.4 vs 12.6 ms for the stage (`camfx bench --preset background-blur`,
            # 720p, 2026-12-02, load 6, alternated), and as fast as the compiled one.
            if mask is None:
                mask = ctx.mask
                assert mask is not None
            h, w = image.shape[:2]
            background = cv2.resize(room_small, (w, h), interpolation=cv2.INTER_LINEAR)
            # The blurred background is this frame's own: blend into it.
            return composite(
                image,
                background,
                masks,
                light_wrap=wrap,
                scratch=self.scratch,
                into_background=True,
                tiles=tiles_for(mask, ctx.extras),
            )

        # One pass over the frame (see pipelines.segmentation.fused): the refined mask is
        # sampled at its own size, the blurred background at its reduced size.
        def room() -> np.ndarray:
            return blurred_background_small(
                frames, masks, radius, lens=s.lens, desaturate=desaturate
            )

        tiles: TileMap | None
        if refined is not None and ctx.get(UNHURRIED):
            # The engine has time to spare: no hand-off (see UNHURRIED).
            sampled, tiles, small = refined.sampled(), refined.tiles, room()
        elif refined is not None:
            # The room's blur needs only the mask's small levels; the outline needs its
            # detail level and tile map (made on first use): both at once, on two cores.
            (sampled, tiles), small = self.overlap.run(
                lambda: (refined.sampled(), refined.tiles), room
            )
        else:
            assert mask is not None
            sampled, tiles, small = mask, tiles_for(mask, ctx.extras), room()
        if wrap <= 0.0:
            light = self._table_stage()
            if light is None:
                out = fused.composite_over_small(image, sampled, small, tiles)
            else:
                # The light's curves in the same pass, decided from the composite's thumbnail
                # worked out first (its pixels only): the light's own pass is saved.
                pending = fused.SmallComposite(image, sampled, small, tiles)
                step = light.thumb_step(image.shape[1])
                out = pending.render(light.table_for(pending.thumbnail(step), step, ctx))
                ctx.put(fused.TABLE_FOLDED, out)
        else:
            # Light wrap: the person's weight times its keep factor, over the full-size blur.
            h, w = image.shape[:2]
            background = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
            keep = wrap_keep(masks, wrap)
            out = fused.composite_replacement(image, sampled, background, tiles, keep=keep)
        ctx.put(FRESH_IMAGE, out)  # the composites write a new array, kept by nobody
        return out


@dataclasses.dataclass(frozen=True)
class BackgroundReplaceSettings(StageSettings):
    mode: ReplaceMode = "color"
    """"color", "image" or "video"."""
    color: Annotated[str, Meta(pattern=HEX_COLOR_PATTERN)] = "#2d6a4f"
    """The solid colour (and the bars of a "fit" image), #RRGGBB."""
    path: Annotated[str, FileField((FileKind.IMAGE, FileKind.VIDEO))] = ""
    """Picture (PNG, JPEG, WebP, BMP, TIFF, GIF) or video file for the "image"/"video" modes
    (the window's Browse… lists pictures first, then videos)."""
    fit: FitMode = "fill"
    """"fill": cover the frame, cropping; "fit": show all of it, with bars."""
    light_wrap: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.3
    """Let the new background's light spill over the person's outline so they look lit by
    it rather than cut out."""
    remove_halo: bool = True
    """Take the old room's colour out of the person's soft outline (hair in front of a bright
    wall otherwise keeps a bright fringe), and lower the mask where the outline's pixels have
    the room's own colour (see :mod:`pipelines.segmentation.colour_matte`)."""

    without_mask: WithoutMask = "pass"
    """A frame with no person mask (the segmentation failing or not started): passed through,
    or replaced whole ("hide")."""

    HIDES_THE_ROOM: ClassVar[bool] = True
    NEEDS_THE_MASK: ClassVar[bool] = True
    HIDING_THE_ROOM: ClassVar = MappingProxyType({"enabled": True, "without_mask": "hide"})
    """In a preset that hides the room it runs, whatever its file says, and a frame its
    segmentation failed on is replaced whole."""


Key = tuple[str, str]


@register_stage
class BackgroundReplace(Stage[BackgroundReplaceSettings]):
    compiled_kernels = True
    name = "background_replace"
    settings_type = BackgroundReplaceSettings

    def __init__(self, settings: BackgroundReplaceSettings | None = None) -> None:
        super().__init__(settings)
        self.loader = BackgroundLoader()
        self.scratch = Scratch()
        self._wrap = Eased()
        self._source: np.ndarray | LoopingVideo | None = None
        self._source_key: Key | None = None
        self._pending: Future[Any] | None = None
        self._pending_key: Key | None = None
        self._failed_key: Key | None = None
        self.last_error: str | None = None
        self._fitted_key: tuple[Any, ...] | None = None
        self._fitted: np.ndarray | None = None
        self._soft_small_map: np.ndarray | None = None
        self._soft_small_of: np.ndarray | None = None
        self.overlap = Overlap(self.name)
        self._fade_from: np.ndarray | None = None
        self._fade_start: float | None = None
        self._last_bg: np.ndarray | None = None

    def open(self) -> None:
        # As the blur: the compiled composite is made in the background, OpenCV until then.
        fused.prepare()
        # The picture or video starts loading now, for wait_warm: the first frames of a
        # recording showed the plain colour, then the picture faded in (qa64).
        self._request(self.settings)
        super().open()

    def warm_up(self) -> None:
        fused.available()
        self.wait_for_background()

    def wait_warm(self, timeout: float) -> bool:
        """The compiled composite, and the background file asked for: loaded (or refused)
        before the list is handed over, so the first frame shows it (the opener waits on a
        stage that is not running yet)."""
        deadline = time.monotonic() + timeout
        if not fused.wait_ready(timeout):
            return False
        pending = self._pending
        if pending is None:
            return True
        try:
            pending.exception(max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return False
        self._collect()
        return True

    def check_files(self) -> None:
        """The background file, read once now: on the command line a file that cannot be used
        stops the run in one line. Loaded on the worker instead, it was logged twice and the
        run recorded the solid colour, exit code 0 (QA qa6: a missing path, a TIFF, a fake
        HEIC, an audio-only MP4)."""
        s = self.settings
        if s.mode != "color":
            check_background(s.mode, s.path)

    # ----------------------------------------------------------------- loading
    def _request(self, s: BackgroundReplaceSettings) -> None:
        if s.mode == "color":
            return
        key: Key = (s.mode, s.path)
        if key in (self._source_key, self._pending_key, self._failed_key):
            return
        if self._pending is not None:
            # Chosen again before it finished: whatever it brings is not wanted any more.
            self._pending.add_done_callback(_close_unwanted)
        self._pending_key = key
        self._pending = self.loader.submit(s.mode, s.path)

    def _collect(self) -> None:
        fut = self._pending
        if fut is None or not fut.done():
            return
        key = self._pending_key
        self._pending = self._pending_key = None
        try:
            source = fut.result()
        except BackgroundError as exc:
            self._fail(key, str(exc))
            return
        except Exception as exc:  # a decoder crash must not take the stage down
            self._fail(key, f"background {key[1] if key else ''} could not be loaded: {exc}")
            return
        self._set_source(key, source)

    def settings_in_use(self) -> BackgroundReplaceSettings:
        """A background refused and said so (a file that is no picture) is not what runs: the
        one kept is, or the colour (the refused path was saved as the edit, and the next
        start lost the background that worked: qa64)."""
        s = self.settings
        failed, kept = self._failed_key, self._source_key
        if s.mode == "color" or not s.path or failed != (s.mode, s.path) or failed == kept:
            return s  # (no file chosen yet: the bar asks for one, the choice stays)
        if kept is None:
            return s.replace(mode="color")
        return s.replace(mode=kept[0], path=kept[1])

    def _fail(self, key: Key | None, message: str) -> None:
        self._failed_key = key
        self.last_error = message
        log.error("%s (keeping the previous background)", message)
        # To the user too (the window's banner): the picture they asked for does not come.
        self.report(f"{message} (keeping the previous background)")

    def _set_source(self, key: Key | None, source: np.ndarray | LoopingVideo) -> None:
        old = self._source
        if isinstance(old, LoopingVideo) and old is not source:
            old.close()
        self._source, self._source_key = source, key
        self._failed_key = None
        self.last_error = None
        self._start_fade()

    def _clear_source(self) -> None:
        """Back to the colour: fade to it, and let a file be read afresh if chosen again."""
        if isinstance(self._source, LoopingVideo):
            self._source.close()
        self._source = self._source_key = None
        self._failed_key = None
        self.last_error = None
        self._start_fade()

    def _start_fade(self) -> None:
        self._fade_from = self._last_bg
        self._fade_start = None  # set on the next frame's timestamp

    def wait_for_background(self, timeout: float = 10.0) -> None:
        """Block until a requested background has loaded or failed (tests, CLI one-shots)."""
        if self._pending is not None:
            with contextlib.suppress(Exception):
                self._pending.exception(timeout)
            self._collect()

    # --------------------------------------------------------------- rendering
    def _render_background(
        self, size: tuple[int, int], s: BackgroundReplaceSettings
    ) -> tuple[np.ndarray, Any]:
        """Full-size background and a key that changes whenever its pixels do."""
        color = parse_color(s.color)
        use_source = self._source is not None and self._source_key is not None
        if s.mode == "color" or not use_source:
            key: tuple[Any, ...] = ("color", color, size)
            if key != self._fitted_key:
                self._fitted = np.empty((size[1], size[0], 3), np.uint8)
                self._fitted[:] = color
            return self._fitted_or(key), key
        source = self._source
        if isinstance(source, LoopingVideo):
            serial, frame = source.latest()
            if source.error and self._failed_key is None:
                self._fail(self._source_key, source.error)
            key = ("video", id(source), serial, size, s.fit, color)
            if key != self._fitted_key:
                self._fitted = fit_to_frame(frame, size, s.fit, color)
            return self._fitted_or(key), key
        assert isinstance(source, np.ndarray)
        key = ("image", id(source), size, s.fit, color)
        if key != self._fitted_key:
            self._fitted = fit_to_frame(source, size, s.fit, color)
        return self._fitted_or(key), key

    def _fitted_or(self, key: tuple[Any, ...]) -> np.ndarray:
        self._fitted_key = key
        assert self._fitted is not None
        return self._fitted

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        self._request(s)
        if self._pending is not None and not ctx.get(LIVE_CAPTURE):
            # A file's, the demo's or a picture's frame waits for the background asked for (the
            # opener's wait_warm may have given up on a busy machine: the plain colour came
            # first, then the picture faded in, qa64); a live frame does not wait.
            self.wait_for_background(BACKGROUND_WAIT_S)
        self._collect()
        if s.mode != "color" and self._failed_key == (s.mode, s.path):
            ctx.put(BACKGROUND_ERROR, self.last_error)
        if s.mode == "color" and self._source_key is not None:
            self._clear_source()
        h, w = image.shape[:2]
        background, _key = self._render_background((w, h), s)
        if self._fade_from is not None and self._fade_from.shape == background.shape:
            if self._fade_start is None:
                self._fade_start = ctx.timestamp
            t = (ctx.timestamp - self._fade_start) / CROSSFADE_S
            if 0.0 <= t < 1.0:
                background = cv2.addWeighted(self._fade_from, 1.0 - t, background, t, 0.0)
            else:
                self._fade_from = None
        elif self._fade_from is not None:
            self._fade_from = None
        self._last_bg = background
        wrap = self._wrap(s.light_wrap, ctx.timestamp)
        refined = ctx.mask_source
        if isinstance(refined, RefinedMask) and refined.size == image.shape[1::-1]:
            return self._compiled(image, ctx, background, refined, refined, wrap)
        mask = frame_mask(self.name, image, ctx, s.without_mask)
        if mask is None:
            return image
        return self._compiled(image, ctx, background, mask, mask_pyramid(mask, ctx.extras), wrap)

    def _compiled(
        self,
        image: np.ndarray,
        ctx: FrameContext,
        background: np.ndarray,
        mask: RefinedMask | np.ndarray,
        masks: FramePyramid,
        wrap: float,
    ) -> np.ndarray:
        """The composite and its outline corrections in one pass
        (:func:`pipelines.segmentation.fused.composite_replacement`: compiled with Numba, else
        OpenCV on the outline's tiles), with the corrections at full resolution."""
        s = self.settings
        h, w = image.shape[:2]
        frames = FramePyramid.of(image, ctx.extras)

        def small_maps() -> tuple[Any, Any, Any, Any]:
            keep = wrap_keep(masks, wrap) if wrap > 0.0 else None
            room = matte = None
            if s.remove_halo:
                radius = DECONTAMINATE_RADIUS_FRACTION * min(h, w)
                room, _ = background_estimate(frames, masks, radius, lens=False)
                matte = _room_colour_keep(frames, masks, ctx.get(SEGMENTATION_RAW))
            soft = self._soft_small(background) if wrap > 0.0 else None
            return keep, room, soft, matte

        def outline() -> tuple[np.ndarray, TileMap | None]:
            if isinstance(mask, RefinedMask):
                return mask.sampled(), mask.tiles
            return mask, tiles_for(mask, ctx.extras)

        if ctx.get(UNHURRIED):
            # The engine has time to spare: no hand-off (see UNHURRIED).
            (sampled, tiles), (keep, room, soft, matte) = outline(), small_maps()
        else:
            # The small maps need only the mask's small levels; the outline its detail level
            # and tile map (made on first use): both at once, on two cores.
            (sampled, tiles), (keep, room, soft, matte) = self.overlap.run(outline, small_maps)
        # Lowered only where the outline is (its tiles are blended); a tile the map calls
        # room stays room, one it calls person is copied whole, as before.
        sampled = apply_keep(sampled, matte)
        return fused.composite_replacement(
            image, sampled, background, tiles, keep=keep, room=room, soft=soft,
            edge_ramp=EDGE_RAMP,
        )  # fmt: skip

    def _soft_small(self, background: np.ndarray) -> np.ndarray:
        """Light wrap's blurred copy of ``background`` at the reduced size it is blurred at;
        cached while the background stays the same array (a still image or colour)."""
        if background is not self._soft_small_of or self._soft_small_map is None:
            h, w = background.shape[:2]
            self._soft_small_map = soft_background_small(background, WRAP_BLUR_FRACTION * min(h, w))
            self._soft_small_of = background
        return self._soft_small_map

    def close(self) -> None:
        if isinstance(self._source, LoopingVideo):
            self._source.close()
        self._source = self._source_key = None
        if self._pending is not None:
            self._pending.add_done_callback(_close_unwanted)
        self._pending = self._pending_key = None
        self.loader.close()
        self.overlap.close()
        super().close()


def _room_colour_keep(
    frames: FramePyramid, masks: FramePyramid, network: np.ndarray | None
) -> np.ndarray | None:
    """:func:`~pipelines.segmentation.colour_matte.room_colour_keep` at the level of
    :data:`~pipelines.segmentation.colour_matte.MATTE_LONG_SIDE` (a refined mask makes it
    from its guide level), with the network's mask (``network``) saying what is sure."""
    factor = masks.factor_for(MATTE_LONG_SIDE)
    small, mask = frames.level(factor), masks.level(factor)
    if mask.shape != small.shape[:2]:
        mask = cv2.resize(mask, small.shape[1::-1], interpolation=cv2.INTER_AREA)
    return room_colour_keep(small, mask, network)


def _close_unwanted(fut: Future[Any]) -> None:
    """Done-callback for a load nobody waits for any more: stop a video's decoder thread."""
    if not fut.cancelled() and fut.exception() is None:
        result = fut.result()
        if isinstance(result, LoopingVideo):
            result.close()
