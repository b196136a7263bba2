"""Portraits: load a picture, find its face once, crop it to the avatar's square canvas.

The landmarks come from the project's face tracker, run on the still picture a few times (the
first pass detects, the next ones refine the mesh on its own region). "Use my face" takes a
camera frame and the landmarks the live tracker already has for it, so capturing costs no
extra inference.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

import cv2
import numpy as np

from pipelines.errors import CamfxError
from pipelines.tracking import regions

if TYPE_CHECKING:
    from pipelines.tracking.detector import Detection
    from pipelines.tracking.picture import PictureFace
    from pipelines.tracking.types import Face

log = logging.getLogger(__name__)

AVATAR_SIZE = 512
FACE_HEIGHT_FRACTION = 0.42
"""Chin-to-forehead-landmark height as a fraction of the canvas."""
FACE_CENTER_Y = 0.47
"""Where the face's centre sits, as a fraction of the canvas height (a little above middle:
hair above, neck and shoulders below)."""
MIN_FACE_PX = 32.0
"""Fewest pixels from the forehead's landmark to the chin's that a portrait's face may have.
The tracker still finds a face of 13 (the astronaut shrunk to a 64-pixel photo), but scaled up
to the avatar's canvas one of 20 is a blur with no readable eyes, under a sharp drawn mouth;
32 reads soft, 41 and up as a photo (2026-12-05, astronaut shrunk, rest, mid-word and shut eyes
looked at). The smallest tuning portrait's face is 55 (astronaut_grey_small)."""
SMALL_PHOTO_PX = 128
"""A photo whose shorter side is under this, where no face is found in it, is named as too
small (the tracker found no face in the astronaut shrunk to 48 pixels)."""
DEFAULT_PORTRAIT = "astronaut.png"
"""Shipped in ``pipelines/assets`` (NASA, public domain)."""


class AvatarError(CamfxError):
    """A portrait could not be loaded or has no usable face."""


@dataclass
class Portrait:
    image: np.ndarray
    """S×S BGR uint8."""
    landmarks: np.ndarray
    """478×3 float32 in ``image`` pixels."""
    source: str = ""
    coverage: np.ndarray | None = None
    """S×S float32: how much of each canvas pixel the photo covers (1 inside, 0 past its
    edge); ``None`` when the photo covers the whole crop. Past the photo the canvas holds
    :func:`fill_past_the_photo`'s soft fill, which a stand-in must not cut out as the person."""

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    path = str(path)
    if os.path.isdir(path):
        raise AvatarError(f"portrait {path!r} is a folder; give the path of a photo")
    if not os.path.isfile(path):
        raise AvatarError(f"portrait {path!r} does not exist; check the path")
    from pipelines.sources.files import read_picture

    raw, problem = read_picture(path)
    if problem:
        raise AvatarError(f"portrait {path!r} cannot be used: {problem}")
    if raw is None:
        from pipelines.sources.files import VIDEO_SUFFIXES

        if Path(path).suffix.lower() in VIDEO_SUFFIXES:
            # A video is not broken for being one: say how a portrait is taken from it.
            raise AvatarError(
                f"portrait {path!r} is a video; take a portrait from it with `camfx "
                f"talking-head capture --source {path} --output portrait.png`, or use a photo"
            )
        raise AvatarError(f"portrait {path!r} could not be decoded; use a PNG or JPEG photo")
    alpha = picture_alpha(path, raw)
    if alpha is not None:
        raw = fill_under_transparency(raw, alpha)
    return raw


ALPHA_FORMATS = ("PNG", "WebP", "TIFF")
"""Picture formats that can hold an alpha channel (a cut-out portrait, as remove.bg exports)."""

FILL_WORK_SIDE = 1024
"""Longest side at which :func:`fill_under_transparency` works out its fill: the fill is a
smooth extension (its finest detail is a few pixels of the portrait's 512-pixel canvas), and a
12-megapixel cut-out worked at full size took float copies of 140 MB each."""


def picture_alpha(path: str, upright: np.ndarray) -> np.ndarray | None:
    """The alpha channel (H×W uint8, the orientation of ``upright``: the picture as
    :func:`~pipelines.sources.files.read_picture` read it) of a picture file that has one and
    is not opaque throughout, else None.

    ``read_picture`` drops an alpha channel: the colour under a cut-out's transparency (black,
    as remove.bg and most editors leave it) then showed as a black arc over the hair and a black
    smear in the stand-in (QA qa6). ``IMREAD_UNCHANGED``, which keeps the alpha, skips the EXIF
    orientation that ``read_picture`` applies, so the alpha is turned the way that brings its
    colour onto ``upright``'s."""
    from pipelines.sources.files import picture_format, to_bgr

    try:
        with open(path, "rb") as f:
            if picture_format(f.read(16)) not in ALPHA_FORMATS:
                return None
        data = np.fromfile(path, np.uint8)
        unchanged = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except (OSError, cv2.error):
        return None
    if unchanged is None or unchanged.ndim != 3 or unchanged.shape[2] != 4:
        return None
    alpha: np.ndarray = unchanged[:, :, 3]
    if alpha.dtype == np.uint16:
        alpha = (alpha.astype(np.uint16) >> 8).astype(np.uint8)
    elif alpha.dtype.kind == "f":
        alpha = (np.clip(np.nan_to_num(alpha), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif alpha.dtype != np.uint8:
        return None
    if int(alpha.min()) == 255:
        return None
    try:
        colour = to_bgr(unchanged[:, :, :3])
    except ValueError:  # a pixel type no reader here takes (int16, float64 TIFFs)
        return None
    for turn in _TURNS:
        turned = turn(colour)
        if turned.shape == upright.shape and np.array_equal(turned, upright):
            return np.ascontiguousarray(turn(alpha))
    return None  # its colour is not the picture read: leave the picture as it was


_TURNS = (
    lambda a: a,
    lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    lambda a: cv2.rotate(a, cv2.ROTATE_180),
    lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
    lambda a: cv2.flip(a, 1),
    lambda a: cv2.flip(a, 0),
    cv2.transpose,
    lambda a: cv2.rotate(cv2.transpose(a), cv2.ROTATE_180),
)
"""The eight ways an EXIF orientation turns or mirrors a picture."""


def fill_under_transparency(bgr: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``bgr`` over a backdrop made of its own colours where ``alpha`` (uint8) is under 255:
    the person's colours carried out smoothly past their outline (push-pull: each coarser
    level the alpha-weighted mean of the finer one, filled back down where the finer one is
    transparent). The colour under the transparency is never used, so no black edge is
    left; the hair's edge meets a backdrop of its own tones, which the stand-in's soft cut
    and the overlay show as a plain blurred background."""
    h, w = alpha.shape
    scale = min(1.0, FILL_WORK_SIDE / max(h, w))
    small = (max(1, round(w * scale)), max(1, round(h * scale)))
    # Premultiplied before it is shrunk: a mean over the edge must not take in the black.
    weight3 = cv2.merge([alpha, alpha, alpha])
    premultiplied = cv2.multiply(bgr, weight3, scale=1.0 / 255.0)
    colour = cv2.resize(premultiplied, small, interpolation=cv2.INTER_AREA).astype(np.float32)
    cover = cv2.resize(alpha, small, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    levels: list[tuple[np.ndarray, np.ndarray]] = [(colour, cover)]
    while max(levels[-1][1].shape) > 1:
        c, a = levels[-1]
        half = (max(1, (a.shape[1] + 1) // 2), max(1, (a.shape[0] + 1) // 2))
        levels.append(
            (
                cv2.resize(c, half, interpolation=cv2.INTER_AREA).reshape(half[1], half[0], 3),
                cv2.resize(a, half, interpolation=cv2.INTER_AREA).reshape(half[1], half[0]),
            )
        )
    top_colour, top_cover = levels[-1]
    filled = top_colour / max(float(top_cover.mean()), 1e-6)
    for c, a in reversed(levels[:-1]):
        up = cv2.resize(filled, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_LINEAR)
        filled = c + (1.0 - a)[..., None] * up.reshape(c.shape)
    backdrop = cv2.resize(
        np.clip(filled + 0.5, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR
    )
    inverse = cv2.merge([255 - alpha] * 3)
    return cv2.add(premultiplied, cv2.multiply(backdrop, inverse, scale=1.0 / 255.0))


def load_asset(name: str) -> np.ndarray:
    from pipelines.sources.demo import load_asset_image

    return load_asset_image(name)


@dataclass(frozen=True)
class FoundFace:
    """A still picture's face, as :func:`find_face` found it."""

    landmarks: np.ndarray
    """478×3 float32 in the picture's pixels."""
    searched_faces: tuple[PictureFace, ...] | None = None
    """Where the search ran (the whole picture showed the tracker no face): the picture's
    faces as :func:`~pipelines.tracking.picture.faces_in_picture` finds them (the search's
    first level with any, largest first), which a caller naming the face it took need not
    look for again (a detector run a view and a mesh run a face). None where it did not run."""


def find_landmarks(image: np.ndarray, passes: int = 3, search: bool = False) -> np.ndarray:
    """The largest face's 478 landmarks (pixels) in a still picture (:func:`find_face`)."""
    return find_face(image, passes, search).landmarks


def find_face(image: np.ndarray, passes: int = 3, search: bool = False) -> FoundFace:
    """The largest face in a still picture, via the face tracker.

    ``search``: where the whole picture shows no face, search it at smaller scales (a phone
    photo of a person, whose face is a fifth of its width) and track the face found there."""
    landmarks = _tracked_landmarks(image, passes)
    if landmarks is not None:
        return FoundFace(landmarks)
    if search:
        landmarks, searched = _searched_landmarks(image, passes)
        if landmarks is not None:
            return FoundFace(landmarks, searched)
    height, width = image.shape[:2]
    if min(height, width) < SMALL_PHOTO_PX:
        raise AvatarError(
            f"no face found in the {width}x{height}-pixel picture; use a larger photo "
            "with one clearly visible, frontal face"
        )
    raise AvatarError(
        "no face found in the portrait; use a photo with one clearly visible, frontal face"
    )


def _tracked_landmarks(image: np.ndarray, passes: int) -> np.ndarray | None:
    from pipelines.avatar.halt import checkpoint
    from pipelines.frame import FrameContext
    from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings

    # The reference mesh: the rig built from these landmarks is not smooth in them (a change
    # of 0.01 px flipped tear and fold tests), so it keeps the graph it was tuned on.
    tracker = FaceTracker(
        FaceTrackerSettings(max_faces=1, smoothing=0.0, primary="largest", mesh_graph="reference")
    )
    tracker.open()
    face = None
    try:
        for i in range(passes):
            checkpoint()
            ctx = FrameContext(timestamp=i / 30.0, index=i)
            tracker.process(image, ctx)
            face = ctx.primary_face or face
    finally:
        tracker.close()
    return None if face is None else np.asarray(face.landmarks, np.float32)


SEARCH_CROP = 3.0
"""A face found by the search is tracked in a square crop this many detection widths wide,
around it: the face then fills about a third of the crop, as in a headshot."""
SEARCH_TRIES = 4
"""Faces of a search level (each confirmed by the face mesh), largest first, that are tracked
in their crop before the next level is tried: the tracker runs its own detector on the crop
and may not take a face there."""


def _searched_landmarks(
    image: np.ndarray, passes: int
) -> tuple[np.ndarray | None, tuple[PictureFace, ...]]:
    """The landmarks of the face the search found and could track (None: none), and the
    first level's faces (:attr:`FoundFace.searched_faces`)."""
    from pipelines.tracking.picture import confirmed_levels

    # The picture's faces as the image source's crop and the capture's "which face" line
    # find them (a detection the mesh rejects, e.g. a face-like pattern, is no face), level
    # by level while no face of a level can be tracked in its crop.
    first: tuple[PictureFace, ...] | None = None
    for faces in confirmed_levels(image):
        if first is None:
            first = tuple(faces)
        for face in faces[:SEARCH_TRIES]:
            landmarks = _tracked_in_crop(image, face.detection, passes)
            if landmarks is not None:
                return landmarks, first
    return None, first or ()


def _tracked_in_crop(image: np.ndarray, det: Detection, passes: int) -> np.ndarray | None:
    """The tracker's landmarks (the picture's pixels) of the face of ``det`` in a square crop
    :data:`SEARCH_CROP` detection widths wide around it, or None where it finds none there.

    Tracked, not taken from the search's mesh: the rig is built from these landmarks (the
    reference mesh, a few passes), as for a face found whole."""
    height, width = image.shape[:2]
    cx, cy = (det.box[:2] + det.box[2:]) / 2.0
    half = SEARCH_CROP * det.width / 2.0
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(width, int(np.ceil(cx + half))), min(height, int(np.ceil(cy + half)))
    landmarks = _tracked_landmarks(np.ascontiguousarray(image[y0:y1, x0:x1]), passes)
    if landmarks is None:
        return None
    landmarks[:, 0] += x0
    landmarks[:, 1] += y0
    log.info(
        "portrait: no face in the whole %dx%d picture; using the one found at (%.0f, %.0f), "
        "%.0f pixels wide",
        width,
        height,
        cx,
        cy,
        det.width,
    )
    return landmarks


def crop_transform(landmarks: np.ndarray, size: int = AVATAR_SIZE) -> np.ndarray:
    """2×3 similarity that puts the face upright, at a fixed scale and place on the canvas."""
    lm = np.asarray(landmarks, np.float64)[:, :2]
    top, chin = lm[regions.FOREHEAD_TOP], lm[regions.CHIN]
    center = (top + chin) / 2.0
    axis = chin - top
    height = float(np.linalg.norm(axis))
    if height < MIN_FACE_PX:
        raise AvatarError(
            f"the face is {height:.0f} pixels from forehead to chin, too small to animate (at "
            f"least {MIN_FACE_PX:.0f}); use a larger photo, or come closer to the camera"
        )
    angle = np.degrees(np.arctan2(axis[0], axis[1]))  # 0 when the chin is straight below
    scale = FACE_HEIGHT_FRACTION * size / height
    m = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), -angle, scale)
    m[0, 2] += size / 2.0 - center[0]
    m[1, 2] += FACE_CENTER_Y * size - center[1]
    return m


FILL_FADE = 0.06
"""Canvas widths over which the mirror past the photo's edge fades into the soft fill: a mirror
reads as the photo going on for a few pixels; further out it repeats what is at the edge (a
headshot cut under the chin got a second, upside-down chin, and a tight crop's sides a
kaleidoscope)."""
FILL_BLUR = 0.05
"""The soft fill's blur sigma, in canvas widths: the edge's colours and light carried outwards,
no shapes."""


FACE_CUT_WARN = 0.1
"""The share of a portrait's face outline past the photo's edge from which the build says so:
every tuning and held-out portrait has none; a photo cut through the face (a user's, the
astronaut's left 60 %) 0.31, which the stand-in can only fade out there."""


def face_cut_share(portrait: Portrait) -> float:
    """The share of the face outline's landmarks (:data:`~pipelines.tracking.regions.FACE_OVAL`)
    that lie past the photo's edge on the portrait's canvas (where its coverage is under half)."""
    if portrait.coverage is None:
        return 0.0
    outline = np.asarray(portrait.landmarks, np.float64)[list(regions.FACE_OVAL), :2]
    h, w = portrait.coverage.shape
    xs = np.clip(np.round(outline[:, 0]).astype(int), 0, w - 1)
    ys = np.clip(np.round(outline[:, 1]).astype(int), 0, h - 1)
    outside = (
        (outline[:, 0] < 0)
        | (outline[:, 0] >= w)
        | (outline[:, 1] < 0)
        | (outline[:, 1] >= h)
        | (portrait.coverage[ys, xs] < 0.5)
    )
    return float(outside.mean())


def fill_past_the_photo(
    canvas: np.ndarray, inside: np.ndarray, stretched: np.ndarray
) -> np.ndarray:
    """``canvas`` (the crop, mirrored past the photo) with what lies past the photo (``inside``
    < 0.5: the photo's coverage of each canvas pixel) faded, with the distance from the photo's
    edge, into a heavy blur of ``stretched`` (the crop with the photo's edge rows and columns
    repeated outwards). The photo's own pixels are untouched."""
    past = inside < 0.5
    if not past.any():
        return canvas
    size = canvas.shape[1]
    # Distance of each pixel past the edge to the nearest photo pixel (0 on the photo).
    dist = cv2.distanceTransform(past.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    weight = np.clip(dist / (FILL_FADE * size), 0.0, 1.0)[..., None]
    soft = cv2.GaussianBlur(stretched, (0, 0), sigmaX=FILL_BLUR * size)
    out = canvas.astype(np.float32) * (1.0 - weight) + soft.astype(np.float32) * weight
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def make_portrait(
    image: np.ndarray, landmarks: np.ndarray, size: int = AVATAR_SIZE, source: str = ""
) -> Portrait:
    """Crop ``image`` around the face given by ``landmarks`` (its own pixels) to size×size."""
    m = crop_transform(landmarks, size)
    # Where the crop reaches past the photo, mirror it (repeating the edge row would smear
    # stripes into the hair), further out fade into the edge's colours (fill_past_the_photo).
    canvas = cv2.warpAffine(
        image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    inside = cv2.warpAffine(
        np.ones(image.shape[:2], np.float32),
        m,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    coverage = None
    if (inside < 0.5).any():
        coverage = np.ascontiguousarray(inside, np.float32)
        stretched = cv2.warpAffine(
            image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        canvas = fill_past_the_photo(canvas, inside, stretched)
    lm = np.asarray(landmarks, np.float64)
    scale = float(np.hypot(m[0, 0], m[0, 1]))
    xy = lm[:, :2] @ m[:, :2].T + m[:, 2]
    out = np.column_stack([xy, lm[:, 2] * scale]).astype(np.float32)
    return Portrait(np.ascontiguousarray(canvas), out, source, coverage)


def load_portrait(spec: str | os.PathLike[str] | None = None, size: int = AVATAR_SIZE) -> Portrait:
    """A portrait from a file path, or the shipped default when ``spec`` is empty."""
    return portrait_from(*read_portrait_image(spec), size)


def read_portrait_image(spec: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, str]:
    """The photo of a portrait file (or the shipped default's when ``spec`` is empty) and the
    name it goes by: the quick half of :func:`load_portrait` (no face is looked for yet)."""
    if not spec:
        return load_asset(DEFAULT_PORTRAIT), f"assets/{DEFAULT_PORTRAIT}"
    return read_image(spec), str(spec)


def portrait_from(image: np.ndarray, source: str, size: int = AVATAR_SIZE) -> Portrait:
    """The portrait of the face found in a photo read by :func:`read_portrait_image`."""
    return picture_portrait(image, source, size).portrait


@dataclass(frozen=True)
class PicturePortrait:
    """A portrait and the face in the picture it was cropped around."""

    portrait: Portrait
    face: FoundFace
    """In the picture's own pixels: a capture from a picture of several faces says which one
    it took."""


NoFace = Literal["raise", "none"]
"""What :func:`picture_portrait` does where it finds no face: raise the photo's message, or
answer None (a video's frame where the tracker's face was a passing false detection: the
capture tries the next frame)."""


@overload
def picture_portrait(
    image: np.ndarray, source: str, size: int = ..., *, no_face: Literal["raise"] = ...
) -> PicturePortrait: ...
@overload
def picture_portrait(
    image: np.ndarray, source: str, size: int = ..., *, no_face: NoFace
) -> PicturePortrait | None: ...


def picture_portrait(
    image: np.ndarray, source: str, size: int = AVATAR_SIZE, *, no_face: NoFace = "raise"
) -> PicturePortrait | None:
    """The portrait of the face found in a whole picture (a photo, or a video's frame read as
    one), the search included, and that face. Every error names ``source``: the message may
    reach a command line."""
    try:
        face = find_face(image, search=True)
    except AvatarError as exc:
        if no_face == "none":
            return None
        raise AvatarError(f"portrait {source!r}: {exc}") from None
    try:
        return PicturePortrait(make_portrait(image, face.landmarks, size, source), face)
    except AvatarError as exc:  # too small a face
        raise AvatarError(f"portrait {source!r}: {exc}") from None


def capture_portrait(frame: np.ndarray, face: Face | None, size: int = AVATAR_SIZE) -> Portrait:
    """ "Use my face": the avatar from a camera frame and the tracker's face in it."""
    if face is None:
        raise AvatarError("no face to capture; look at the camera and try again")
    return make_portrait(frame, np.asarray(face.landmarks), size, "camera")


def check_portrait_path(path: str | os.PathLike[str]) -> Path:
    """Refuse a name OpenCV cannot write (``x.txt``) or a missing folder. Callers check before
    a camera opens: found only after the face, ``x.txt`` was a ``cv2.error`` traceback."""
    out = Path(path)
    if not cv2.haveImageWriter(str(out)):
        raise AvatarError(
            f"cannot save the portrait as {str(out)!r}: not an image type; use a .png or .jpg name"
        )
    if not out.parent.is_dir():
        raise AvatarError(f"cannot save the portrait: folder {str(out.parent)!r} does not exist")
    return out


def save_portrait(portrait: Portrait, path: str | os.PathLike[str]) -> Path:
    """Write the cropped portrait as an image (PNG keeps it lossless), whole or not at all: a
    full disk leaves the picture already there (``-y``) as it was."""
    from pipelines.outputs.picture import write_picture

    return write_picture(check_portrait_path(path), portrait.image)
