"""Still-image and video-file sources."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import cv2
import numpy as np

from pipelines.errors import SourceError
from pipelines.frame import Frame
from pipelines.sources.base import MEDIA_PLACE, SOURCES, MediaPlace, Source, SourceConfig

log = logging.getLogger(__name__)

# A read that fails more than this many frames (and 1 %) before the frame count the container
# states is a damaged or cut-short file, not its end. The margin is for decoders that drop a
# frame or two (edit lists, B-frame delay); good MP4s measured (MPEG-4, H.264 with B-frames, a
# remux cut at a key frame) ended 0 frames short.
END_MARGIN_FRAMES = 2

IMAGE_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".webp", ".tif", ".tiff", ".avif",
)  # fmt: skip
# Past the common six: phones (3GP), camcorders and TV recordings (MTS, M2TS, TS), DVDs
# (MPG), older Windows and Flash video (WMV, FLV) and Ogg; OpenCV's FFmpeg reads them all.
# An animated GIF plays as a video (QA's 20 frames at 10 fps); the picture readers (analyze, a
# portrait) take its first frame.
VIDEO_SUFFIXES = (
    ".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v",
    ".3gp", ".mts", ".m2ts", ".ts", ".mpg", ".mpeg", ".wmv", ".flv", ".ogv", ".gif",
)  # fmt: skip
HEIC_SUFFIXES = (".heic", ".heif")


class FileKind(StrEnum):
    """What a file holds, for every reader of files (``--source``, a portrait, ``analyze``)."""

    PICTURE = "picture"
    VIDEO = "video"
    HEIC = "HEIC photo"
    """An iPhone's photo: OpenCV has no decoder for it (nor has this machine an encoder)."""


SUFFIX_KINDS: dict[str, FileKind] = {
    **dict.fromkeys(IMAGE_SUFFIXES, FileKind.PICTURE),
    **dict.fromkeys(VIDEO_SUFFIXES, FileKind.VIDEO),
    **dict.fromkeys(HEIC_SUFFIXES, FileKind.HEIC),
}
"""The one list of file types camfx's file readers take, by name (content decides first where
it can be told: :func:`file_kind`)."""

HEIC_PROBLEM = (
    "HEIC photos (an iPhone's) cannot be read; export it as JPEG (on the iPhone: Settings > "
    "Camera > Formats > Most Compatible)"
)

# ISO base media (MP4, MOV, 3GP, HEIC, AVIF) names its kind in the brand after "ftyp".
_FTYP_PICTURE_BRANDS = frozenset((b"avif", b"avis"))
_FTYP_HEIC_BRANDS = frozenset(
    (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
)
_VIDEO_SIGNATURES = (
    (b"\x1a\x45\xdf\xa3", "Matroska or WebM"),
    (b"GIF8", "GIF"),
    (b"FLV", "FLV"),
    (b"OggS", "Ogg"),
    (b"\x30\x26\xb2\x75", "WMV"),
    (b"\x00\x00\x01\xba", "MPEG"),
)
MPEG_TS_PACKET = 188
CONTENT_HEAD_BYTES = 2 * MPEG_TS_PACKET + 1
"""How much of a file's start :func:`content_kind` reads (an MPEG-TS sync byte repeats every
188 bytes)."""


def content_kind(head: bytes) -> tuple[FileKind, str] | None:
    """What a file's first bytes show it holds, with the format's name; None when they do not
    say (a damaged file, text, a format only a decoder tells)."""
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _FTYP_PICTURE_BRANDS:
            return FileKind.PICTURE, "AVIF"
        if brand in _FTYP_HEIC_BRANDS:
            return FileKind.HEIC, "HEIC"
        return FileKind.VIDEO, "MP4 or MOV"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return FileKind.VIDEO, "AVI"
    for magic, name in _VIDEO_SIGNATURES:
        if head.startswith(magic):
            return FileKind.VIDEO, name
    if (
        len(head) > 2 * MPEG_TS_PACKET
        and head[0] == head[MPEG_TS_PACKET] == head[2 * MPEG_TS_PACKET] == 0x47
    ):
        return FileKind.VIDEO, "MPEG-TS"
    picture = picture_format(head)
    return (FileKind.PICTURE, picture) if picture else None


def file_kind(path: str) -> FileKind | None:
    """What the file at ``path`` holds: by its content where that tells (a JPEG named .mp4 is
    a picture, an MP4 named .jpg a video), else by its name (:data:`SUFFIX_KINDS`); None
    when neither tells."""
    try:
        with open(path, "rb") as f:
            found = content_kind(f.read(CONTENT_HEAD_BYTES))
    except OSError:
        found = None
    if found is not None:
        return found[0]
    return SUFFIX_KINDS.get(os.path.splitext(path)[1].lower())


MIN_PICTURE_SIDE = 16
"""Smaller pictures hold no face or background worth filtering (``--size`` starts there too)."""
MAX_PICTURE_ASPECT = 8.0
"""Longest side over shortest side. Wider than any camera (32:9 is 3.6) or usable panorama
crop; the face detector runs one square tile per short side along the long one, so an 8000×1
picture took 32 s to analyse and 81 s as a portrait."""
MAX_PICTURE_PIXELS = 120_000_000
"""A 108-megapixel phone photo fits; larger ones (and corrupt headers) are refused before the
stages' float copies of them fill the memory."""


def picture_size_problem(width: int, height: int) -> str | None:
    """Why a picture or video frame of ``width``×``height`` is refused, or None when it is
    fine. Callers put it in their own error with the file's name."""
    short, long = sorted((int(width), int(height)))
    if short < MIN_PICTURE_SIDE:
        return (
            f"it is {width}×{height} pixels; pictures need at least {MIN_PICTURE_SIDE} "
            "pixels on each side"
        )
    if long / short > MAX_PICTURE_ASPECT:
        return (
            f"it is {width}×{height} pixels, {long / short:.0f} times wider than high (or "
            f"higher than wide); crop it to at most {MAX_PICTURE_ASPECT:g}:1"
        )
    if width * height > MAX_PICTURE_PIXELS:
        return (
            # One decimal: 12000×10001 read "(120 megapixels) … at most 120" (qa64).
            f"it is {width}×{height} pixels ({width * height / 1e6:.1f} megapixels); scale it "
            f"down to at most {MAX_PICTURE_PIXELS // 1_000_000} megapixels"
        )
    return None


DECODER_LINE = re.compile(r"libpng (error|warning)|TIFF|imdecode|grfmt_|^\s*$")
"""What a picture decoder writes to stderr of a damaged file (camfx says it in its own line)."""


def decode_picture(
    decode: Callable[[], np.ndarray | None],
) -> tuple[np.ndarray | None, str | None]:
    """Run an OpenCV decode (``cv2.imread``/``cv2.imdecode``) so that it never raises: returns
    (image, None), (None, why it is refused) for a picture outside the bounds above, or
    (None, None) for a file that is not a picture OpenCV can decode."""
    from pipelines.inference.session import captured_native_stderr
    from pipelines.sources.camera import quiet_opencv

    try:
        # A cut PNG, TIFF or BMP put the decoder's own lines ("libpng error: …", OpenCV's
        # TIFF_Error and imdecode_ lines) before camfx's one line (qa64).
        with quiet_opencv(), captured_native_stderr(DECODER_LINE):
            image = decode()
    except cv2.error as exc:
        # OpenCV raises (rather than returning None) when the header asks for more pixels
        # than OPENCV_IO_MAX_IMAGE_PIXELS (set to MAX_PICTURE_PIXELS in pipelines/__init__)
        # or rows/columns past its limits, and on some damaged headers.
        if "CV_IO_MAX_IMAGE" in str(exc):
            return None, (
                f"it is larger than {MAX_PICTURE_PIXELS // 1_000_000} megapixels; scale it down"
            )
        return None, None
    if image is None or image.size == 0:
        return None, None
    return image, picture_size_problem(image.shape[1], image.shape[0])


MAX_PICTURE_FILE_BYTES = 1 << 30
"""A picture file is read whole before it is decoded; a 120-megapixel 16-bit TIFF without
compression is 720 MB."""

_PICTURE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"GIF8", "GIF"),
)


def picture_format(head: bytes) -> str | None:
    """The picture format a file's first bytes announce (PNG, JPEG, ...), else None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for magic, name in _PICTURE_SIGNATURES if head.startswith(magic)), None)


def read_picture(path: str) -> tuple[np.ndarray | None, str | None]:
    """Read and decode a picture file the one way every camfx reader does: (BGR uint8 image,
    None), (None, why it is refused), or (None, None) for a file that is no picture OpenCV
    decodes. Never raises.

    ``cv2.imdecode`` on the file's bytes rather than ``cv2.imread``: ``imread`` fills a cut
    short JPEG with grey and goes on (a half-grey picture, with only a libjpeg line on
    stderr), ``imdecode`` refuses it. ANYDEPTH|ANYCOLOR rather than UNCHANGED: UNCHANGED skips
    the EXIF orientation, which showed a phone's portrait photo on its side; these flags
    apply it and still keep 16-bit, float and grey pictures for :func:`to_bgr` (an alpha
    channel is dropped, as it was)."""
    try:
        size = os.path.getsize(path)
        if size > MAX_PICTURE_FILE_BYTES:
            return None, (
                f"it is a {size / 2**30:.1f} GB file; pictures up to "
                f"{MAX_PICTURE_FILE_BYTES // 2**30} GB are read: scale it down or compress it"
            )
        data = np.fromfile(path, np.uint8)
    except OSError as exc:
        return None, f"it cannot be read ({exc.strerror or exc}); check its permissions"
    if data.size == 0:
        return None, "the file is empty (0 bytes); copy or export it again"
    image, problem = decode_picture(
        lambda: cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    )
    if problem:
        return None, problem
    if image is None:
        return None, undecoded_picture_problem(path, data[:CONTENT_HEAD_BYTES].tobytes())
    try:
        return to_bgr(image), None
    except ValueError as exc:
        return None, f"{exc}; save it as 8-bit RGB"


def undecoded_picture_problem(path: str, head: bytes) -> str | None:
    """Why a file OpenCV decoded no picture from is none, by what its first bytes show; None
    when they do not tell, or show a video named as one (each reader says what to do with a
    video its own way)."""
    kind = picture_format(head)
    if kind is not None:
        return (
            f"it is a damaged or incomplete {kind} file (it could not be decoded); copy or "
            "export it again"
        )
    found = content_kind(head)
    if found is None:
        return None
    what, name = found
    if what is FileKind.HEIC:
        return HEIC_PROBLEM
    suffix = os.path.splitext(path)[1].lower()
    if what is FileKind.VIDEO and SUFFIX_KINDS.get(suffix) is not FileKind.VIDEO:
        return (
            f"it is a video ({name}), not a picture, whatever its name {suffix or '(none)'} "
            "says; use a photo, or give the video where a video is taken"
        )
    return None


def check_readable(path: str, what: str) -> None:
    if not path:
        raise SourceError(f"{what} source needs a file path, e.g. {what}:/path/to/file")
    if not os.path.exists(path):
        raise SourceError(f"{what} file {path!r} does not exist; check the path")
    if not os.path.isfile(path):
        raise SourceError(f"{what} file {path!r} is a folder, not a file; give the path of a file")
    if not os.access(path, os.R_OK):
        raise SourceError(f"{what} file {path!r} is not readable; check its permissions")


PORTRAIT_CROP_TOP = 0.25
"""Where a picture taller than wide is cut to a landscape frame: this share of what is cut
comes off the top (the rest off the bottom). A phone held upright frames a face in the
upper third: the centre crop of a 720×1280 video to 16:9 showed a neck and chest."""


FACE_KEEP_ABOVE = 0.6
"""How far above a picture's face box its crop keeps, where the frame has room, in box
heights. The detector's box starts at the brows; this keeps the forehead and the hair (the
astronaut's 512-pixel photo: box top at 81, eyes at 104, top of the hair at about 30)."""
FACE_KEEP_BRIEF = 0.25
"""The headroom kept above the face box, in box heights, where the frame is too short for
:data:`FACE_KEEP_ABOVE` and the chin: the forehead, without the hair."""
FACE_KEEP_AROUND = 0.25
"""How far past the face box's sides and bottom the crop keeps, where the frame has room, in
box heights: the ears and the chin."""

Span = tuple[float, float]
"""An interval (lo, hi) of pixels on one axis."""


def fill_scaled(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` scaled, keeping its aspect ratio, to cover width×height (the first half of
    :func:`fit_to`; the image itself when it already is that size)."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, (nw, nh), interpolation=interp)


def _crop_start(start: int, length: int, keep: list[Span], room: int) -> int:
    """Where a crop ``length`` long starts on an axis with ``room`` to move in (0..room): at
    ``start`` when that holds the first span of ``keep`` (most wanted first) that fits in
    ``length``, else moved as little as it takes to hold it; centred on the last span when
    none fits; at ``start`` with nothing to keep."""
    for lo, hi in keep:
        if hi - lo <= length:
            if lo < start:
                start = int(np.floor(lo))
            elif hi > start + length:
                start = int(np.ceil(hi)) - length
            break
    else:
        if keep:
            lo, hi = keep[-1]
            start = round((lo + hi - length) / 2.0)
    return min(max(start, 0), room)


def fit_crop(
    scaled: np.ndarray,
    width: int,
    height: int,
    *,
    top: float = 0.5,
    keep: tuple[list[Span], list[Span]] | None = None,
) -> np.ndarray:
    """Crop a :func:`fill_scaled` image to exactly width×height: centred, except that ``top``
    of the rows cut away come off the top, and moved where that cuts into ``keep`` (the
    columns' and the rows' spans to keep, most wanted first, in ``scaled``'s pixels: a face,
    :func:`face_keep_spans`) as far as the image allows."""
    nh, nw = scaled.shape[:2]
    if (nw, nh) == (width, height):
        return scaled
    columns, rows = keep if keep is not None else ([], [])
    x0 = _crop_start((nw - width) // 2, width, columns, nw - width)
    y0 = _crop_start(int((nh - height) * top), height, rows, nh - height)
    return np.ascontiguousarray(scaled[y0 : y0 + height, x0 : x0 + width])


def fit_to(image: np.ndarray, width: int, height: int, *, top: float = 0.5) -> np.ndarray:
    """Scale and crop to exactly width×height (fill, keeping the aspect ratio): centred,
    except that ``top`` of the rows cut away come off the top."""
    return fit_crop(fill_scaled(image, width, height), width, height, top=top)


def face_keep_spans(scaled: np.ndarray) -> tuple[list[Span], list[Span]] | None:
    """What a crop of the still picture ``scaled`` should keep to show its largest face, for
    :func:`fit_crop`: the columns and the rows, each most wanted first: the face box with
    the hair above it (:data:`FACE_KEEP_ABOVE`) and a margin around (:data:`FACE_KEEP_AROUND`);
    for a face too large for that, the box with the forehead (:data:`FACE_KEEP_BRIEF`); at
    least the box itself. None with no face found.

    The picture is searched at the size it is shown (a 12-megapixel photo shrunk to the
    frame): quick, and a face too small to find there is too small to matter to the crop."""
    from pipelines.tracking.picture import faces_in_picture

    faces = faces_in_picture(scaled)
    if not faces:
        return None
    x0, y0, x1, y1 = (float(v) for v in faces[0].box)
    side = y1 - y0
    around = FACE_KEEP_AROUND * side
    columns = [(x0 - around, x1 + around), (x0, x1)]
    rows = [
        (y0 - FACE_KEEP_ABOVE * side, y1 + around),
        (y0 - FACE_KEEP_ABOVE * side, y1),
        (y0 - FACE_KEEP_BRIEF * side, y1),
        (y0, y1),
    ]
    return columns, rows


def file_crop_top(width: int, height: int) -> float:
    """``fit_to``'s ``top`` for a picture or video file of this size (see PORTRAIT_CROP_TOP)."""
    return PORTRAIT_CROP_TOP if height > width else 0.5


def to_bgr(image: np.ndarray) -> np.ndarray:
    """Grayscale, BGRA, 16-bit or float in; BGR uint8 (H×W×3, C-contiguous) out."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype.kind == "f":  # float images (TIFF, EXR) hold 0..1
        image = (np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"unsupported pixel type {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"unsupported image shape {image.shape}")
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)


@SOURCES.register("image")
class ImageSource(Source):
    """A still picture repeated at the requested fps (size: the requested one, filled)."""

    suffixes = IMAGE_SUFFIXES
    skips_for_nothing = True

    def __init__(self, arg: str, config: SourceConfig, **kwargs: Any) -> None:
        super().__init__(arg, config, **kwargs)
        self.image: np.ndarray | None = None

    def open(self) -> None:
        check_readable(self.arg, "image")
        bgr, problem = read_picture(self.arg)
        if problem:
            raise SourceError(f"image file {self.arg!r} cannot be used: {problem}")
        if bgr is None:
            raise SourceError(
                f"image file {self.arg!r} could not be decoded; use a PNG, JPEG, BMP or WebP"
            )
        width, height = self.config.width, self.config.height
        top = file_crop_top(bgr.shape[1], bgr.shape[0])
        scaled = fill_scaled(bgr, width, height)
        # A photo standing in for the camera is there for its face: the crop that fills the
        # frame moves to keep it (a square photo's centre crop cut the astronaut at the eyes).
        # A picture whose face the usual crop keeps is cropped as before, to the byte.
        keep = face_keep_spans(scaled) if scaled.shape[:2] != (height, width) else None
        self.image = fit_crop(scaled, width, height, top=top, keep=keep)
        self.actual_size = (self.config.width, self.config.height)

    def grab(self) -> np.ndarray | None:
        if self.image is None:
            raise SourceError("image source used before open()")
        # A copy, because stages may draw into the frame they are given.
        return self.image.copy()


FACE_SEARCH_FRAMES = 30
"""How many of a video's first frames are searched for the face its crop keeps (about a
second), when the first frame shows none: someone stepping into view."""
FACE_SEARCH_EVERY = 10
"""Every how many frames of those the face is searched: a search took 14-17 ms on a 1280×720
frame (2-core machine, 2026-12-06), decoding a frame between a few; a QA phone video (1080×1920
to 1280×720) opened in 0.06-0.13 s with its search."""


@SOURCES.register("video")
class VideoSource(Source):
    """A video file, paced at its own frame rate unless the config asks otherwise."""

    suffixes = VIDEO_SUFFIXES

    def __init__(self, arg: str, config: SourceConfig, **kwargs: Any) -> None:
        super().__init__(arg, config, **kwargs)
        self.capture: cv2.VideoCapture | None = None
        self.frame_count = 0
        self.native_size: tuple[int, int] = (0, 0)
        """The file's own frame size (frames are filled to the requested size)."""
        self.loops = 0
        """How many times the file started over."""
        self.stated_frames: int | None = None
        """The frame count the container states (MP4/MOV/AVI do), else None."""
        self.stated_seconds: float | None = None
        """When no frame count is stated (MKV, WebM): the video's duration as the container
        states it, else None. A file that states neither cannot be told cut short."""
        self._decoded = 0
        """Frames decoded since the file was (re)opened."""
        self._last_pts_s = 0.0
        """Presentation time of the last decoded frame (only kept when stated_seconds is)."""
        self._first: np.ndarray | None = None
        self._first_pts = 0.0
        """The first frame's timestamp (s): where the file's time starts."""
        self._ahead_pts: float | None = None
        """Timestamp (s) of the frame decoded ahead (``capture.grab``), not yet produced;
        None at the end. Read ahead so the pace knows when it is due (a variable rate)."""
        self._shown_pts: float | None = None
        """Timestamp (s) of the frame last produced or skipped."""
        self._loop_start_s = 0.0
        """Media time at which the file's current pass started (the passes before, summed)."""
        self._pass_first_index = 0
        """The frame index of the current pass's first frame (:class:`MediaPlace`)."""
        self._opened_stat: tuple[int, int] | None = None
        """(size, mtime in ns) of the file as the capture was opened."""
        self.written_while_read = False
        """The file grew while it was read: a recording still being written (said once)."""
        self.crop_keep: tuple[list[Span], list[Span]] | None = None
        """What every frame's crop keeps (:func:`face_keep_spans`): the face of the first
        frame that shows one, found once at open, so the crop stays where it was put for the
        whole run (a crop that followed the face per frame would jump). None: no face found
        in the first second, or no crop needed; :data:`PORTRAIT_CROP_TOP` places it then."""

    def _open_capture(self) -> tuple[cv2.VideoCapture, np.ndarray]:
        # Taken before OpenCV reads the file: a recording still being written that grows
        # after this is told from a cut-short file at its end (see _still_written).
        self._opened_stat = _file_stat(self.arg)
        cap = cv2.VideoCapture(self.arg)
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            why = why_no_video(self.arg)
            if why:
                raise SourceError(f"video file {self.arg!r} {why}")
            raise SourceError(
                f"video file {self.arg!r} could not be decoded; use MP4 (H.264/MPEG-4), MKV or AVI"
            )
        return cap, first

    def open(self) -> None:
        check_readable(self.arg, "video")
        self.close()
        cap, first = self._open_capture()
        problem = picture_size_problem(first.shape[1], first.shape[0])
        if problem:
            cap.release()
            raise SourceError(f"video file {self.arg!r} cannot be used: {problem}")
        # The first frame is kept rather than sought back to: seeking is unreliable in some
        # containers.
        self._first = first
        self.capture = cap
        self._first_pts = _position_s(cap)
        self._shown_pts = None
        self._loop_start_s = 0.0
        self._pass_first_index = self._index
        self._read_ahead()
        self.native_size = (int(first.shape[1]), int(first.shape[0]))
        self.frame_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.stated_frames, self.stated_seconds = _stated_length(self.arg)
        self._decoded = 0
        self._last_pts_s = 0.0
        native_fps = cap.get(cv2.CAP_PROP_FPS)
        self.actual_fps = native_fps if 1 <= native_fps <= 240 else self.config.fps
        whole = self.config.whole
        self.actual_size = self.native_size if whole else (self.config.width, self.config.height)
        self.crop_keep = None if whole else self._face_crop(first)

    @property
    def pace_fps(self) -> float:
        # Play at the file's own rate so a 25 fps clip does not run fast.
        return self.actual_fps

    def read(self) -> Frame | None:
        frame = super().read()
        if frame is not None:
            place = MediaPlace(self.arg, self.loops, self._pass_first_index / self.actual_fps)
            frame.ctx.put(MEDIA_PLACE, place)
        return frame

    def _read_ahead(self) -> None:
        """Decode the next frame, without converting it, to know its timestamp."""
        assert self.capture is not None
        self._ahead_pts = _position_s(self.capture) if self.capture.grab() else None

    def _next_pts(self) -> float | None:
        """Timestamp of the next frame to produce, None at the end."""
        return self._first_pts if self._first is not None else self._ahead_pts

    def _taken(self, pts: float) -> None:
        self._decoded += 1
        self._shown_pts = self._last_pts_s = pts

    def frame_span(self) -> float | None:
        following = self._next_pts()
        if following is None or self._shown_pts is None:
            return None
        return following - self._shown_pts

    def media_time_s(self) -> float | None:
        if self._shown_pts is None:
            return None
        return self._loop_start_s + self._shown_pts - self._first_pts

    def grab(self) -> np.ndarray | None:
        if self.capture is None:
            raise SourceError("video source used before open()")
        image: np.ndarray | None = None
        if self._first is not None:
            image, self._first = self._first, None
            pts = self._first_pts
        elif self._ahead_pts is not None:
            pts = self._ahead_pts
            ok, image = self.capture.retrieve()
            if not ok:
                image = None
            self._read_ahead()
        if image is None:
            self._check_whole()
            if not self.config.loop:
                raise EOFError(self.arg)
            # Start over by reopening: a seek to frame 0 is not reliable in every container.
            self.capture.release()
            self.capture = None
            try:
                self.capture, image = self._open_capture()
            except SourceError:
                raise SourceError(
                    f"video file {self.arg!r} stopped decoding; check the file"
                ) from None
            # The next pass starts a frame after this one's last (its length at the rate).
            last = self._shown_pts if self._shown_pts is not None else self._first_pts
            self._loop_start_s += last - self._first_pts + 1.0 / self.actual_fps
            self._decoded = 0
            self.loops += 1
            self._pass_first_index = self._index  # this frame's, given by read() next
            # A file still being written states more now: the check follows it.
            self.stated_frames, self.stated_seconds = _stated_length(self.arg)
            pts = self._first_pts = _position_s(self.capture)
            self._shown_pts = None
            self._read_ahead()
        self._taken(pts)
        if self.config.whole:
            return to_bgr(image)
        return self._fit(to_bgr(image))

    def _fit(self, image: np.ndarray) -> np.ndarray:
        """One frame filled and cropped to the requested size, the crop placed as at open."""
        width, height = self.config.width, self.config.height
        top = file_crop_top(*self.native_size)
        return fit_crop(
            fill_scaled(image, width, height), width, height, top=top, keep=self.crop_keep
        )

    def _face_crop(self, first: np.ndarray) -> tuple[list[Span], list[Span]] | None:
        """Where the crop goes to keep a face in frame, as a still's (:class:`ImageSource`):
        from the first frame that shows one among the first :data:`FACE_SEARCH_FRAMES` (read
        by a capture of its own, so the run still starts at frame 0). None when the frame is
        not cropped (its aspect is the output's) or no face is found."""
        width, height = self.config.width, self.config.height
        scaled = fill_scaled(to_bgr(first), width, height)
        if scaled.shape[:2] == (height, width):
            return None
        keep = face_keep_spans(scaled)
        if keep is not None:
            return keep
        probe = cv2.VideoCapture(self.arg)
        try:
            for index in range(1, FACE_SEARCH_FRAMES):
                ok, image = probe.read()
                if not ok or image is None:
                    return None
                if index % FACE_SEARCH_EVERY == 0:
                    keep = face_keep_spans(fill_scaled(to_bgr(image), width, height))
                    if keep is not None:
                        return keep
        finally:
            probe.release()
        return None

    def skip(self) -> bool:
        if self.capture is None:
            return False
        if self._first is not None:
            self._first = None
            self._taken(self._first_pts)
        elif self._ahead_pts is not None:  # decoded, never converted nor cropped
            self._taken(self._ahead_pts)
            self._read_ahead()
        else:
            return False  # the end: the next grab() ends, loops or says why
        return True

    def _check_whole(self) -> None:
        """Raise when decoding stopped well before the end the container states: the user
        asked for the whole video, and a damaged one must not pass for a short one. A file
        that grew while it was read is a recording still being written, not a damaged one
        (QA: OpenCV opened one at 4 s, PyAV read 6 s a moment later): what was there is
        played, said once, and it starts over with what is there then, or ends, as asked."""
        if not self._still_written():
            self._check_stated_end()
            return
        if not self.written_while_read:
            self.written_while_read = True
            then = "starting over with what is there now" if self.config.loop else "ending"
            log.warning(
                "video file %r is still being written (it grew while it was read): played "
                "the %d frames it had, %s",
                self.arg,
                self._decoded,
                then,
            )

    def _still_written(self) -> bool:
        """Whether the file changed (size or time) since the capture was opened."""
        now = _file_stat(self.arg)
        return now is not None and now != self._opened_stat

    def _check_stated_end(self) -> None:
        stated = self.stated_frames
        if stated is not None:
            if self._decoded + max(END_MARGIN_FRAMES, stated // 100) < stated:
                raise SourceError(
                    f"video file {self.arg!r} is damaged or cut short: decoding stopped after "
                    f"frame {self._decoded} of {stated}; check the file or export it again"
                )
            return
        seconds = self.stated_seconds
        if seconds is None:
            return
        frame_s = 1.0 / self.actual_fps
        # Where the decoded video ends: the last frame's time plus its own length. The frame
        # count at the file's rate is the fallback for a backend that reports no position;
        # either reaching the stated end is enough, so a good file is never refused.
        reached = max(self._last_pts_s + frame_s, self._decoded * frame_s)
        if reached + max(END_MARGIN_FRAMES * frame_s, seconds / 100) < seconds:
            raise SourceError(
                f"video file {self.arg!r} is damaged or cut short: decoding stopped after "
                f"frame {self._decoded} ({reached:.2f} s) of the {seconds:.2f} s its container "
                "states; check the file or export it again"
            )

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None
        self._first = None


def _position_s(capture: cv2.VideoCapture) -> float:
    """The timestamp of the frame a capture decoded last, in seconds."""
    return float(capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0


def _file_stat(path: str) -> tuple[int, int] | None:
    """(size, mtime in ns) of a file, None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def why_no_video(path: str) -> str | None:
    """What is wrong with a video file OpenCV gave no frame from, when it can be told (the
    rest of the message), else None."""
    try:
        if os.path.getsize(path) == 0:
            return "is empty (0 bytes); copy or export it again"
        import av

        with av.open(path) as container:
            if not container.streams.video:
                if container.streams.audio:
                    return "holds only sound, no picture; give a video with a picture"
                return "holds no video (no frames); give a video file"
    except Exception:  # no PyAV, or FFmpeg cannot open it either
        try:
            with open(path, "rb") as f:
                head = f.read(12)
        except OSError:
            return None
        if head[4:8] == b"ftyp":  # an MP4/MOV whose index (moov) FFmpeg cannot find
            return (
                "could not be decoded: it is an MP4 or MOV file that is damaged or cut short; "
                "copy or export it again"
            )
        return None
    return None


def _stated_length(path: str) -> tuple[int | None, float | None]:
    """(frame count, None) when the video stream's container states its count (MP4, MOV,
    AVI); else (None, seconds) when it states the video's duration (MKV and WebM write it
    per track); else (None, None): the file cannot be read this way, or says neither."""
    try:
        import av

        with av.open(path) as container:
            video = container.streams.video[0]
            frames = int(video.frames)
            if frames > 0:
                return frames, None
            seconds = _video_seconds(container, video)
    except Exception:  # no PyAV, or a file only OpenCV reads: no check, as before
        return None, None
    return None, seconds if seconds is not None and seconds > 0 else None


def _video_seconds(container: Any, video: Any) -> float | None:
    """The video stream's own duration as stated, in seconds, or None."""
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    tag = str(video.metadata.get("DURATION", ""))  # Matroska/WebM: "HH:MM:SS.fffffffff"
    parts = tag.split(":")
    if len(parts) == 3:
        try:
            return int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])
        except ValueError:
            pass
    # The whole container's duration is the video's only when nothing else (a longer audio
    # track) is in it.
    if len(container.streams) == 1 and container.duration:
        return float(container.duration) / 1_000_000  # av.time_base: microseconds
    return None
