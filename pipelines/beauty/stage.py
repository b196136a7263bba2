"""The ``"beauty"`` stage: natural face retouching on the tracker's faces.

Reads ``ctx.primary_face`` (or every face in ``ctx.faces`` with ``all_faces``), works only on
each face's region of interest, and fades every effect with the face's ``visibility`` so it
eases out when tracking is lost. With every strength at 0 it returns the input untouched.
Writes :data:`BEAUTY_INFO` (faces retouched, whether any was reshaped) for the GUI and tests.

Per face id the stage keeps a :class:`~pipelines.beauty.retouch.FaceCache` (temporal state):
while the face's landmarks stay within :data:`~pipelines.beauty.retouch.MASK_REUSE_PX` of
where they were, its ROI and mask geometry are reused instead of rebuilt.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, TypedDict

import numpy as np
from msgspec import Meta

from pipelines.beauty import retouch, warp
from pipelines.beauty.geometry import MIN_FACE_SIZE, Rect, face_size, landmarks_xy, points_of
from pipelines.beauty.masks import SKIN_FEATHER
from pipelines.errors import SettingsError
from pipelines.frame import WRITABLE_IMAGE, CtxKey, FrameContext
from pipelines.segmentation import fused
from pipelines.stage import Stage, StageSettings, register_stage
from pipelines.tracking.types import Face

HEX_RGB_PATTERN = r"^\s*#?([0-9a-fA-F]{6})\s*$"
_HEX_COLOR = re.compile(HEX_RGB_PATTERN)
MIN_VISIBILITY = 0.01
ROI_REGIONS = ("face_oval", "left_eye", "right_eye", "lips_outer")
"""In a profile view the far eye and the lips stick out of the face oval."""
ROI_MARGIN = 4.0 * SKIN_FEATHER + 0.02
"""Colour effects reach at most this far (face sizes) outside those regions."""


class BeautyInfo(TypedDict):
    """What the beauty stage did on a frame (:data:`BEAUTY_INFO`)."""

    faces: int
    """Faces retouched."""
    warped: bool
    """Whether any face's shape was changed (eyes, face slimming)."""


BEAUTY_INFO: CtxKey[BeautyInfo] = CtxKey("beauty")


@dataclasses.dataclass(frozen=True)
class BeautySettings(StageSettings):
    smoothing: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.4
    """Skin smoothing strength (edge-preserving; pores kept at low strength)."""
    under_eye: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.3
    """Lighten dark circles under the eyes."""
    eye_brightening: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.2
    teeth_whitening: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.3
    """Only while the mouth is open."""
    lip_tint: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0
    lip_color: Annotated[str, Meta(pattern=HEX_RGB_PATTERN)] = "#c44860"
    """Lip tint colour, "#RRGGBB" (as in CSS)."""
    eye_enlarge: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0
    """Up to +15 % at the eye centre."""
    face_slim: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0
    """Jaw landmarks move inward by up to 4.5 % of the face size."""
    all_faces: bool = False
    """Retouch every tracked face, not only the primary one."""

    @property
    def lip_rgb(self) -> tuple[int, int, int]:
        return parse_rgb(self.lip_color)

    def strength(self, setting: str) -> float:
        return float(getattr(self, setting))

    @property
    def any_active(self) -> bool:
        shape = self.eye_enlarge > 0 or self.face_slim > 0
        return shape or any(self.strength(e.setting) > 0 for _, e in retouch.EFFECTS.items())


@register_stage
class BeautyStage(Stage[BeautySettings]):
    compiled_kernels = True
    name = "beauty"
    settings_type = BeautySettings
    rehearsed = True
    """Its first retouched face took 50-70 ms (OpenCV's and the skin kernels' first calls)
    against 5-15 ms: run before the swap; the faces' state is then forgotten."""

    def __init__(self, settings: BeautySettings | None = None) -> None:
        super().__init__(settings)
        self._caches: dict[int, _FaceState] = {}
        self._scratch = retouch.Workspace()

    def open(self) -> None:
        # OpenCV builds its Lab tables on first use (~80 ms): do it here, not on a live frame.
        retouch.warm_up()
        # Skin smoothing's full-resolution pass is compiled (with Numba) in the background;
        # until it is there, and for good without Numba, its OpenCV version runs.
        fused.prepare()
        self._caches = {}
        super().open()

    def warm_up(self) -> None:
        fused.available()

    def wait_warm(self, timeout: float) -> bool:
        return fused.wait_ready(timeout)

    def forget_frames(self) -> None:
        # Each face's retouching state (masks, skin model) by track id; the scratch arrays
        # are only memory and are kept.
        self._caches = {}

    def close(self) -> None:
        # The scratch arrays are a few MB at 720p, far more for a big face at 4K.
        self._caches = {}
        self._scratch = retouch.Workspace()
        super().close()

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        if not s.enabled or not s.any_active:
            return image
        faces = list(ctx.faces) if s.all_faces else [ctx.primary_face]
        faces = [f for f in faces if f is not None and _visibility(f) > MIN_VISIBILITY]
        if not faces:
            return image
        # One face in a frame nobody else holds (the stage before made it: the light's lookup,
        # the blur's composite): retouched in place instead of a copy of the whole frame
        # (0.32-0.41 ms of CPU at 720p, caches cold; with the light's lookup into the blur's
        # composite, Studio 0.36-0.90 ms less a frame, paired in-process A/B at load 11-12).
        # No effect reads the ROI's untouched pixels once one has written (FaceWork.original),
        # so none are kept. With more faces one ROI may overlap another's retouched pixels:
        # the frame is copied.
        in_place = len(faces) == 1 and ctx.get(WRITABLE_IMAGE) is image
        out = image if in_place else image.copy()
        source = None if in_place else image
        done = 0
        warped = False
        caches: dict[int, _FaceState] = {}
        for face in faces:
            lm = landmarks_xy(face)
            size = face_size(lm)
            if size < MIN_FACE_SIZE:
                continue
            fade = _visibility(face)
            state = caches[face.id] = self._caches.get(face.id) or _FaceState()
            retouch_face(out, source, lm, size, s, fade, state, self._scratch)
            warped |= warp_face(out, lm, size, s, fade)
            done += 1
        self._caches = caches  # faces not retouched this frame start afresh when they return
        ctx.put(BEAUTY_INFO, BeautyInfo(faces=done, warped=warped))
        return out


def parse_rgb(text: str) -> tuple[int, int, int]:
    """ "#RRGGBB" → (R, G, B)."""
    m = _HEX_COLOR.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise SettingsError(f"colour {text!r} is not a #RRGGBB hex colour (e.g. #c44860)")
    d = m.group(1)
    return int(d[0:2], 16), int(d[2:4], 16), int(d[4:6], 16)


def _visibility(face: Face) -> float:
    return float(np.clip(face.visibility, 0.0, 1.0))


class _FaceState(retouch.FaceCache):
    """A face's cache plus the ROI it was built for (reused with the masks)."""

    def __init__(self) -> None:
        super().__init__()
        self.rect: Rect | None = None
        self.rect_lm: np.ndarray | None = None
        self.frame_dims: tuple[int, int] | None = None

    def kept_rect(self, lm: np.ndarray, dims: tuple[int, int]) -> Rect | None:
        """The ROI chosen earlier, if no landmark has moved ``MASK_REUSE_PX`` since."""
        if self.rect is None or self.rect_lm is None or self.frame_dims != dims:
            return None
        if lm.shape != self.rect_lm.shape:
            return None
        moved = float(np.abs(lm - self.rect_lm).max())
        return self.rect if moved < retouch.MASK_REUSE_PX else None


def face_rect(
    lm: np.ndarray, size: float, dims: tuple[int, int], state: _FaceState | None = None
) -> Rect:
    """The face's ROI in a frame of ``dims`` (w, h). With ``state``, the ROI of an earlier frame
    is kept while no landmark moved :data:`~pipelines.beauty.retouch.MASK_REUSE_PX` since it
    was chosen (a ROI that followed sub-pixel jitter would invalidate the cached masks)."""
    kept = state.kept_rect(lm, dims) if state is not None else None
    if kept is not None:
        return kept
    rect = Rect.around(points_of(lm, ROI_REGIONS), ROI_MARGIN * size + 2, dims)
    if state is not None:
        state.rect, state.rect_lm, state.frame_dims = rect, lm.copy(), dims
    return rect


def retouch_face(
    out: np.ndarray,
    source: np.ndarray | None,
    lm: np.ndarray,
    size: float,
    settings: BeautySettings,
    fade: float,
    state: _FaceState | None = None,
    scratch: retouch.Workspace | None = None,
) -> None:
    """Run the colour effects on one face's ROI of ``out`` in place (``source`` is the untouched
    frame; None: ``out`` is, and no effect needs its pixels once written); ``state`` carries
    the face's caches from frame to frame, ``scratch`` the scratch arrays."""
    active = [
        (e, settings.strength(e.setting) * fade)
        for _, e in retouch.EFFECTS.items()
        if settings.strength(e.setting) > 0
    ]
    if not active:
        return
    h, w = out.shape[:2]
    rect = face_rect(lm, size, (w, h), state)
    if rect.empty:
        return
    work = retouch.FaceWork(
        lm=(lm - rect.offset).astype(np.float32),
        size=size,
        rect=rect,
        original=None if source is None else source[rect.slices],
        image=out[rect.slices],
        cache=state,
        scratch=scratch or retouch.Workspace(),
    )
    for effect, strength in active:
        effect.apply(work, strength, settings)


def warp_face(
    out: np.ndarray, lm: np.ndarray, size: float, settings: BeautySettings, fade: float
) -> bool:
    field = warp.inverse_field(
        lm, size, (out.shape[1], out.shape[0]), settings.eye_enlarge * fade,
        settings.face_slim * fade,
    )  # fmt: skip
    if field is None:
        return False
    warp.apply_warp(out, field)
    return True
