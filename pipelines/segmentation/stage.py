"""The ``segmentation`` stage: person mask at frame resolution into ``ctx.mask``.

Per frame: stretch the frame to the model's input (as MediaPipe does), run the network (or,
on a frame that the last network frame explains, take its mask: ``cadence``),
stabilise the mask over time (at model resolution: cheap), let the face tracker's result help
when there is one, then upsample edge-aware with a fast guided filter (on a frame that took
the last network frame's mask moved, that frame's fit moved alike: see
:data:`FIT_WARP_MAX_DIFF`). The full-size mask is
left lazy (:meth:`FrameContext.set_lazy_mask`): it is one resize of the refined mask's detail
level, made when a later stage first reads ``ctx.mask``; the background blur samples the
detail level itself and never needs it. Also leaves the raw model output in
``ctx.extras["segmentation_raw"]`` and the model's name in ``ctx.extras["segmentation_model"]``.
"""

from __future__ import annotations

import dataclasses
import logging
from functools import cache
from types import MappingProxyType
from typing import Annotated, Any, ClassVar

import cv2
import numpy as np
from msgspec import Meta

from pipelines.frame import UNHURRIED, CtxKey, FrameContext
from pipelines.inference import OnnxModel, SessionFactory, default_factory, load_model
from pipelines.segmentation.models import (
    MODEL_NAMES,
    ModelChoice,
    Resample,
    SelfieSegmentationModel,
    choose_model,
    resize_for_model,
)
from pipelines.segmentation.onlyme import Anchor, OnlyMe, only_me_faces
from pipelines.segmentation.overlap import Overlap
from pipelines.segmentation.refine import (
    GUIDE_LONG_SIDE,
    MASK_PYRAMID_KEY,
    PYRAMID_KEY,
    FramePyramid,
    Guide,
    GuidedUpsampler,
    RefinedMask,
)
from pipelines.segmentation.temporal import MaskReuse, MaskStabilizer
from pipelines.segmentation.tiles import MASK_TILES_KEY
from pipelines.stage import Stage, StageSettings, register_stage
from pipelines.tracking.boxes import FACE_BOXES, FaceBox
from pipelines.tracking.types import Face

_PREPARED_KEY: CtxKey[_Inference] = CtxKey("_segmentation_inference")
SEGMENTATION_RAW: CtxKey[np.ndarray] = CtxKey("segmentation_raw")
"""The network's mask at model size, before smoothing and refinement."""
SEGMENTATION_MODEL: CtxKey[str] = CtxKey("segmentation_model")
"""Which segmentation model made this frame's mask."""
ONLY_ME_ANCHOR: CtxKey[Anchor | None] = CtxKey("only_me")
"""With "only me": where the user was last locked on (None: nobody yet)."""


@dataclasses.dataclass
class _Inference:
    """What :meth:`Segmentation.prepare` leaves for :meth:`Segmentation.process`."""

    settings: Any
    model_name: str
    raw: np.ndarray
    gray: np.ndarray | None
    alpha: np.ndarray | None
    guide: Any
    small: np.ndarray
    """The frame at the model's size (BGR), for only-me's split between touching people."""
    reused: bool = False
    """The mask is the last network frame's as it is (:class:`MaskReuse`'s still reuse): the
    frame is that one up to noise and a sub-pixel motion."""
    keyed: bool = False
    """The network ran on this frame: it is :class:`MaskReuse`'s new key."""
    warp: tuple[np.ndarray, np.ndarray] | None = None
    """The mask is the last network frame's moved by the person's rigid motion since: that
    motion (2×3) in the guide's pixels and in the mask's."""


@dataclasses.dataclass(frozen=True)
class _Fit:
    """The guided filter's coefficients of the last refined frame, and the mask they fit."""

    mask: np.ndarray
    a: np.ndarray
    b: np.ndarray
    radius: int
    guide_shape: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class _KeyFit:
    """A network frame's fit, with what a warped frame checks before moving it."""

    fit: _Fit
    plain: np.ndarray
    """The mask before the face help (the fit's own mask without a face)."""
    face_at: np.ndarray | None
    """The face helped with (:func:`_face_points`), or None."""


log = logging.getLogger(__name__)

# Guided-filter window radius in model pixels: about the width of the model's own soft edge.
# Larger follows more of the frame's edges but drifts from the model's outline (IoU with the
# plain upsampled mask drops below 0.97 on small people at 3).
REFINE_RADIUS_MODEL_PX = 2.0
REFINE_EPS = 1e-3
# Frames with more pixels than this get their fine outline at half size, then resized: the
# outline is 2 px wide instead of 1, invisible at 1080p and above, and it saves the memory
# traffic of three full-size float images.
FULL_DETAIL_MAX_PIXELS = 1280 * 720 - 1
# On a frame whose network mask was reused (the picture is the key frame's up to noise and a
# sub-pixel motion), the last frame's guided-filter coefficients are kept (the fit: 0.6-0.7 ms
# of CPU at 720p, load 5-6) when the mask they fit differs from this frame's by at most this
# anywhere (mask units). They are applied to this frame's own grey picture, so the outline
# follows this frame's edges; what lags by a frame is the stabiliser's pull of the running mask
# towards the reused one. Measured on the cadence tests' still and swaying sequences (640×360):
# 0.02 and 0.05 kept the fit on 1 of 7 reused frames, 0.1 on 2 of 7 (still) and 0 of 7 (sway),
# 0.2 on all 7: the full-size mask then within 0.093 of a refit (mean 0.0008, IoU 0.9986), the
# Studio output at least 55 dB from a refit's and 49.8 dB from the network on every frame.
FIT_REUSE_MAX_DIFF = 0.2
# On a frame whose network mask is the key's warped by the person's rigid motion (MaskReuse),
# the key frame's coefficients moved by the same motion (two warps at the guide's size, ~0.15
# ms) replace a new fit, and the face help and the guide's statistics, which only feed the
# fit, are skipped: 0.7 + 0.7 + 0.17 ms of CPU a warped 720p frame (about every other frame
# of the demo), when the key's mask before the face help, moved, differs from this frame's by
# at most FIT_WARP_MAX_DIFF anywhere and the face helped with is the key's moved within
# FIT_WARP_FACE_MAX_PX model px (landmarks; visibility 0.05 counts as a px). On the demo the
# masks differ by 0.16-0.46 at the outline (a sub-pixel move of a steep edge; the stabiliser
# pulls still pixels) and the faces by 0.04 median, 0.31 at most: neither refused a frame.
# Against a new fit on every frame: Studio's output on the 720p demo at worst 47.0 dB, and
# 41.6 dB from the network on every frame (a new fit: 40.9); on the cadence tests' pan
# (640×360) the mask within 0.123 (IoU 0.998), against cadence 1 IoU 0.9958 (0.9961), its
# flicker 0.00438 (0.00441), Studio 42.6 dB from cadence 1 (42.9).
FIT_WARP_MAX_DIFF = 0.5
FIT_WARP_FACE_MAX_PX = 0.5


def detail_factor(width: int, height: int) -> int:
    return 1 if width * height <= FULL_DETAIL_MAX_PIXELS else 2


def _face_points(face: Face, size: tuple[int, int], shape: tuple[int, ...]) -> np.ndarray:
    """The face's landmarks in the mask's pixels, with its visibility as a third column (no
    rows for a face without landmarks: its help is a no-op, and it is compared as such)."""
    w, h = size
    lm = np.asarray(face.landmarks, np.float64)
    if lm.ndim != 2 or lm.shape[1] < 2:
        lm = np.zeros((0, 2))
    pts = np.empty((len(lm), 3), np.float64)
    pts[:, :2] = lm[:, :2]
    pts[:, 0] *= shape[1] / w
    pts[:, 1] *= shape[0] / h
    pts[:, 2] = face.visibility
    return pts


REQUIRE_FACE_HOLD_S = 1.0
"""With ``require_face``, the longest your place is kept after your face was last seen: a turn of
the head the tracker loses for a moment keeps you; a room you left is blurred within a second
(it stayed sharp for the 10 s of ``hold_s``)."""


@dataclasses.dataclass(frozen=True)
class SegmentationSettings(StageSettings):
    model: ModelChoice = "auto"
    """"auto" (landscape model for frames at least 1.5× wider than high), "general" (256×256)
    or "landscape" (256×144)."""
    resample: Resample = "mediapipe"
    """How the frame is shrunk for the model: "mediapipe" (bilinear sampling, as MediaPipe
    does: masks match its reference) or "area" (pixel averaging)."""
    refine: bool = True
    """Edge-aware upsampling; off: plain bilinear (what MediaPipe returns)."""
    smoothing: Annotated[float, Meta(ge=0.0, le=0.95)] = 0.6
    """Share of the previous mask a still pixel keeps per frame (at 30 fps); 0 = off."""
    keep_face: bool = True
    """With a tracked face (a face_tracker stage before this one), the face and hair are
    always kept."""
    primary_only: bool = False
    """With a tracked face, drop people who are not touching the primary face's person."""
    only_me: bool = False
    """Keep only you: the largest, most central face at start (or the one picked with
    :meth:`Segmentation.pick_person`), locked on; everyone else is removed from the mask,
    including people beside and behind you (see :mod:`pipelines.segmentation.onlyme`). Your
    face also becomes ``ctx.primary_face`` for the stages after this one (None while you are
    away). The background presets turn it on, with the ``face_boxes`` stage (where the faces
    are, from the detector alone); with a face tracker its faces are used too."""
    require_face: bool = False
    """Only me, failing closed: a person is kept only where a face found them (the face
    tracker's, or a ``face_boxes`` box the face mesh confirmed); with no face found yet
    (nobody there, or an object the network takes for a person: a cup filling the frame) the
    mask is empty and the whole frame is background. A face lost for a moment (you turn away)
    keeps its place for ``hold_s`` as with only-me. Implies ``only_me``. privacy-blur turns it
    on (it promises that nothing behind you can be recognised); the other background presets
    keep the person the network is sure of, with or without a face."""
    hold_s: Annotated[float, Meta(ge=0.0, le=120.0)] = 10.0
    """Only me: seconds your place is kept while your face is not seen before the lock lets
    go and chooses afresh (at most :data:`REQUIRE_FACE_HOLD_S` with ``require_face``)."""

    MAKES_THE_MASK: ClassVar[bool] = True
    HIDING_THE_ROOM: ClassVar = MappingProxyType({"require_face": True, "enabled": True})
    """A preset that hides the room fails closed, whatever its file says (switched off, the
    stage put no mask out and the background stages passed the frame through)."""
    cadence: Annotated[int, Meta(ge=1, le=4)] = 2
    """The network runs at least once in this many frames (1: on every frame). In between, a
    frame that the last network frame explains up to sensor noise and a sub-pixel motion (you
    sitting still) takes its mask, and one where the person moved rigidly by a little (you
    swaying, a slow pan) takes it moved by that motion; one that it does not explain (a hand,
    a turned head, a step aside, a fast pan) runs the network (see
    :class:`~pipelines.segmentation.temporal.MaskReuse`)."""


@cache
def segmentation_factory() -> SessionFactory:
    """Sessions with one intra-op thread, as the face tracker's.

    The network is small (~2 ms): at a camera's pace on a 2-core machine one thread measured
    2.3-2.7 ms a frame against 2.6-3.4 ms for two non-spinning threads, which wake up for
    every op, and the stage keeps the other core busy with the frame's share of the
    refinement meanwhile. The providers requested process-wide ($CAMFX_PROVIDERS) still apply.
    """
    return SessionFactory(default_factory().requested, intra_op_threads=1)


def refine_radius(frame_width: int, model_width: int, guide_factor: int) -> int:
    """Guided-filter radius in guide pixels for :data:`REFINE_RADIUS_MODEL_PX` model pixels."""
    guide_px_per_model_px = frame_width / model_width / guide_factor
    return max(1, round(REFINE_RADIUS_MODEL_PX * guide_px_per_model_px))


@register_stage
class Segmentation(Stage[SegmentationSettings]):
    analysis_only = True
    name = "segmentation"
    settings_type = SegmentationSettings
    rehearsed = True
    """The network's and the refinement's first frame take 25-45 ms more than the later
    ones: run before the swap, and forgotten (:meth:`forget_frames`)."""

    def __init__(self, settings: SegmentationSettings | None = None) -> None:
        super().__init__(settings)
        self.stabilizer = MaskStabilizer()
        self.reuse = MaskReuse()
        self.upsampler = GuidedUpsampler(1, REFINE_EPS)
        self._models: dict[str, SelfieSegmentationModel] = {}
        self.overlap = Overlap(self.name)
        self.only_me = OnlyMe()
        self._fit: _Fit | None = None
        self._key_fit: _KeyFit | None = None
        """The fit of the last network frame (the warp moves from it)."""

    def pick_person(self, x: float, y: float) -> None:
        """Only me: lock on to the person at (x, y), fractions of the frame's width and
        height (the window's "this is me"); any thread, takes effect on the next frame."""
        self.only_me.pick(x, y)

    def open(self) -> None:
        names = (
            list(MODEL_NAMES.values())
            if self.settings.model == "auto"
            else [MODEL_NAMES[self.settings.model]]
        )
        for name in names:
            self._model(name)
        self.forget_frames()
        super().open()

    def forget_frames(self) -> None:
        # The smoothed mask, the reused key frame and its fit, and who "me" is.
        self.stabilizer.reset()
        self.reuse.reset()
        self.only_me.reset()
        self._fit = self._key_fit = None

    def models(self) -> tuple[OnnxModel, ...]:
        # A copy first: the processing thread adds a model for a frame size that needs
        # another one (_model), and iterating the dict itself would then raise.
        return tuple(self._models.copy().values())

    def close(self) -> None:
        self.stabilizer.reset()
        self.reuse.reset()
        self._fit = self._key_fit = None
        self.overlap.close()
        super().close()

    def _model(self, name: str) -> SelfieSegmentationModel:
        model = self._models.get(name)
        if model is None:
            loaded = load_model(name, segmentation_factory())
            assert isinstance(loaded, SelfieSegmentationModel)
            model = self._models[name] = loaded
        return model

    def prepare(self, image: np.ndarray, ctx: FrameContext) -> None:
        # The network and the frame-only refinement work need nothing from the face tracker:
        # the engine runs this beside it, and process() adds what does need the face.
        ctx.put(_PREPARED_KEY, self._infer(image, ctx))

    def _infer(self, image: np.ndarray, ctx: FrameContext) -> _Inference:
        s = self.settings
        h, w = image.shape[:2]
        model = self._model(choose_model(w, h, s.model))
        small = resize_for_model(image, model.size, s.resample)
        small_gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        gray = small_gray if s.smoothing > 0.0 else None
        stabilizer = self.stabilizer
        reuse = self.reuse
        cadence = int(s.cadence)
        pyramid: FramePyramid | None = None
        factor = 1
        fine: np.ndarray | None = None
        if s.refine:
            pyramid = FramePyramid.of(image, ctx.extras)
            ctx.put(PYRAMID_KEY, pyramid)
            factor = pyramid.factor_for(GUIDE_LONG_SIDE)
            if cadence > 1:
                # The guide's grey picture (box-filtered, unlike the model's input): the mask
                # reuse's warp follows the person on it. Made here, it is not made again by the
                # guide's preparation.
                fine = cv2.cvtColor(pyramid.level(factor), cv2.COLOR_BGR2GRAY)
        # The last network frame's mask if this frame is that one up to noise and a sub-pixel
        # motion (a still picture), or moved by the person's small rigid motion since: the
        # network is skipped (2.0-2.5 ms of CPU at 256×144; a try costs about three quarters
        # of that, so the tries back off while they fail: MaskReuse).
        predicted = reuse.predict(small_gray, ctx.timestamp, cadence, fine)

        def network() -> np.ndarray:
            if predicted is not None:
                return predicted
            out = model.run_rgb(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
            reuse.key(small_gray, out, ctx.timestamp, fine)
            return out

        def motion() -> np.ndarray | None:
            if gray is None:
                return None
            return stabilizer.weights(gray, ctx.timestamp, s.smoothing)

        guide: Guide | None = None
        if pyramid is not None:
            up = self.upsampler
            up.radius = refine_radius(w, model.size[0], factor)
            up.detail_factor = detail_factor(w, h)
            frame_pyramid = pyramid

            def frame_work() -> tuple[Guide, np.ndarray | None]:
                # The guide's statistics serve a new fit only: a frame that skips the network
                # may keep (or move) an earlier one, and makes them when it does not.
                stats = predicted is None
                return up.prepare(frame_pyramid, factor, fine, stats), motion()

            # What needs no mask (the frame's share of the refinement, the motion between
            # frames) is done on the worker thread while the network runs, unless the engine
            # has time to spare (UNHURRIED): then both on this thread, as the background
            # stages do. The hand-off cost about 0.05 ms of process CPU a frame more than
            # inline (in-process A/Bs of this stage's prepare on 96 captured 720p frames,
            # 2026-12-05, load 3-7: -0.19, -0.086, -0.043, paced -0.061, still frames -0.056
            # ms, inline cheaper in 10/12, 17/20, 17/30, 11/16, 15/20 rounds; one of 30
            # rounds at load 4 showed none). The same bytes (tests/test_engine_serial.py).
            if predicted is not None:
                raw, (guide, alpha) = predicted, frame_work()
            elif ctx.get(UNHURRIED):
                raw = network()
                guide, alpha = frame_work()
            else:
                raw, (guide, alpha) = self.overlap.run(network, frame_work)
        else:
            raw, alpha = network(), motion()
        # A still reuse may keep the last fit as it is; a warped one the key frame's, moved.
        still = predicted is not None and reuse.still
        warp = None
        if (
            predicted is not None
            and not still
            and fine is not None
            and reuse.last_warp is not None
            and reuse.last_warp_mask is not None
        ):
            warp = (reuse.last_warp, reuse.last_warp_mask)
        return _Inference(
            s, model.model_name, raw, gray, alpha, guide, small, reused=still,
            keyed=predicted is None, warp=warp,
        )  # fmt: skip

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        inference = ctx.pop(_PREPARED_KEY)
        if not isinstance(inference, _Inference) or inference.settings is not self.settings:
            inference = self._infer(image, ctx)  # called directly, or settings just changed
        s = inference.settings
        h, w = image.shape[:2]
        raw, gray, alpha, guide = inference.raw, inference.gray, inference.alpha, inference.guide
        stabilizer = self.stabilizer
        ctx.put(SEGMENTATION_RAW, raw)
        ctx.put(SEGMENTATION_MODEL, inference.model_name)

        if gray is not None:
            mask = stabilizer.apply(raw, gray, ctx.timestamp, alpha).copy()
        else:
            stabilizer.reset()
            mask = raw

        face = ctx.primary_face
        if s.only_me or s.require_face:
            # Your face, not the tracker's primary one: while you are away it is None, and
            # the face of whoever else is there must not be kept as yours. The faces are the
            # tracker's and the face_boxes stage's (a box where the tracker has no face).
            people = only_me_faces(ctx.faces, ctx.get(FACE_BOXES))
            # Failing closed, your place outlives your face only briefly: with the hold's 10 s
            # a room left empty stayed sharp and in colour for 10 s (what the network took
            # for a person where you sat).
            hold_s = min(s.hold_s, REQUIRE_FACE_HOLD_S) if s.require_face else s.hold_s
            me = self.only_me.choose(people, (w, h), ctx.timestamp, hold_s)
            mask = self.only_me.apply(
                mask,
                people,
                me,
                (w, h),
                inference.small,
                t=ctx.timestamp,
                hold_s=hold_s,
                require_face=s.require_face,
            )
            ctx.put(ONLY_ME_ANCHOR, self.only_me.anchor)
            # The effects after this one (retouching, light, eye contact) follow you too, and
            # nobody while you are away: not whoever the tracker would pick instead. A box is
            # no face for them (they need the mesh).
            face = None if isinstance(me, FaceBox) else me
            ctx.primary_face = face
        assisted = face if face is not None and (s.keep_face or s.primary_only) else None
        plain = mask
        face_at = None if assisted is None else _face_points(assisted, (w, h), mask.shape)
        # On a warped frame the key frame's fit moved may serve, and then the face help,
        # which only feeds the fit, is not needed either.
        moved = None
        if guide is not None and inference.warp is not None:
            moved = self._moved_key_fit(guide, plain, face_at, inference.warp)
        if assisted is not None and moved is None:
            mask = self._face_assist(mask, assisted, (w, h), s)

        if guide is not None:
            # The refined mask's larger levels are made when a later stage first asks: the
            # full-size one when ctx.mask is read, the detail level and the tile map when the
            # background composite wants them (it samples the detail level itself and never
            # needs the full one, and works out the room's blur meanwhile).
            if moved is not None:
                refined = GuidedUpsampler.assemble(guide, *moved)
            else:
                refined = self._refine(guide, mask, plain, face_at, inference)
            ctx.set_lazy_mask(refined)
            ctx.put(MASK_TILES_KEY, lambda: refined.tiles)
            # The mask's pyramid, for the background stages' reduced copies (the guide's level
            # is there already: nothing is shrunk from full size).
            ctx.put(MASK_PYRAMID_KEY, refined)
            if face is not None and s.keep_face:
                # On the detail level, which the full-size mask is one resize of: making the
                # full-size mask here for the oval cost about 1.3 ms of CPU a 720p frame (the
                # resize, and the blur then sampling 4 times the pixels; serial stage loop,
                # load 10). The face is the same to 82 dB in Studio's output (README, Speed).
                touched = self._keep_face_full(refined.detail, face, 1.0 / refined.detail_factor)
                if touched is not None:
                    refined.changed(touched)
        else:
            ctx.mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
            if face is not None and s.keep_face:
                self._keep_face_full(ctx.mask, face)
        return image

    def _refine(
        self,
        guide: Guide,
        mask: np.ndarray,
        plain: np.ndarray,
        face_at: np.ndarray | None,
        inference: _Inference,
    ) -> RefinedMask:
        """The refined mask, with the last frame's coefficients where they still fit
        (:data:`FIT_REUSE_MAX_DIFF`), else a new fit. ``plain``: the mask before the face
        help, ``face_at``: the face it helped with (:func:`_face_points`), both kept with a
        network frame's fit for :meth:`_moved_key_fit`."""
        fit = self._fit
        if (
            inference.reused
            and fit is not None
            and fit.radius == guide.radius
            and fit.guide_shape == guide.gray.shape
            and fit.mask.shape == mask.shape
            and float(cv2.norm(mask, fit.mask, cv2.NORM_INF)) <= FIT_REUSE_MAX_DIFF
        ):
            return GuidedUpsampler.assemble(guide, fit.a, fit.b)
        a, b = self.upsampler.coefficients(guide, mask)
        # Read-only from here: a later frame's refined mask may share them.
        a.flags.writeable = b.flags.writeable = False
        self._fit = _Fit(mask.copy(), a, b, guide.radius, guide.gray.shape)
        if inference.keyed:
            keep = plain.copy() if plain is not mask else self._fit.mask
            self._key_fit = _KeyFit(self._fit, keep, face_at)
        return GuidedUpsampler.assemble(guide, a, b)

    def _moved_key_fit(
        self,
        guide: Guide,
        plain: np.ndarray,
        face_at: np.ndarray | None,
        warp: tuple[np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The key frame's coefficients moved by the person's motion since (``warp``: in the
        guide's pixels and in the mask's), or None where they may not fit this frame: the
        key's mask before the face help, so moved, differs from this frame's (``plain``) by
        more than :data:`FIT_WARP_MAX_DIFF`, or the face helped with on one frame is not
        the other's moved, within :data:`FIT_WARP_FACE_MAX_PX`."""
        key = self._key_fit
        if key is None:
            return None
        fit = key.fit
        if (
            fit.radius != guide.radius
            or fit.guide_shape != guide.gray.shape
            or key.plain.shape != plain.shape
            or (face_at is None) != (key.face_at is None)
        ):
            return None
        warp_guide, warp_mask = warp
        if face_at is not None and key.face_at is not None:
            if face_at.shape != key.face_at.shape:
                return None
            # Visibility (the third column) in mask pixels' units: 0.05 counts as 1 px.
            moved_face = key.face_at.copy()
            moved_face[:, :2] = key.face_at[:, :2] @ warp_mask[:, :2].T + warp_mask[:, 2]
            off = np.abs(face_at - moved_face)
            off[:, 2] *= 20.0
            if off.size and float(off.max()) > FIT_WARP_FACE_MAX_PX:
                return None
        mh, mw = plain.shape
        moved_plain = cv2.warpAffine(
            key.plain, warp_mask, (mw, mh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        if float(cv2.norm(plain, moved_plain, cv2.NORM_INF)) > FIT_WARP_MAX_DIFF:
            return None
        gh, gw = guide.gray.shape[:2]
        a, b = (
            cv2.warpAffine(
                c, warp_guide, (gw, gh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            for c in (fit.a, fit.b)
        )
        a.flags.writeable = b.flags.writeable = False
        return a, b

    @staticmethod
    def _keep_face_full(
        mask: np.ndarray, face: Any, scale: float = 1.0
    ) -> tuple[int, int, int, int] | None:
        from pipelines.segmentation import faceassist

        try:
            return faceassist.keep_face_full(mask, face, scale)
        except (ValueError, IndexError) as exc:
            log.debug("face assist skipped: %s", exc)
            return None

    @staticmethod
    def _face_assist(
        mask: np.ndarray, face: Any, size: tuple[int, int], s: SegmentationSettings
    ) -> np.ndarray:
        from pipelines.segmentation import faceassist

        try:
            if s.primary_only and not s.only_me:
                mask = faceassist.primary_person_only(mask, face, size)
            if s.keep_face:
                mask = faceassist.keep_face(mask, face, size)
        except (ValueError, IndexError) as exc:
            # A face without a full mesh (a detector-only result) cannot help; not an error.
            log.debug("face assist skipped: %s", exc)
        return mask
