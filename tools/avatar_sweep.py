"""Issue 13's sweep: the TUNING photos varied the way users' photos vary, each variant built
into an avatar, judged, posed to blink and drawn, to find where the talking head breaks.

    PYTHONPATH=. .venv/bin/python tools/avatar_sweep.py [--only PHOTO ...]
        [--variants NAME ...] [--out DIR] [--quick] [--no-speech] [--list]

Each variant (:data:`VARIANTS`) is made in memory from a tuning photo of tests/data/faces/
(never written there): the face scaled to about 40 / 60 / 150 pixels forehead to chin, JPEG
quality 25, Gaussian blur, dim, dusky or too dark (gamma 1.5, 1.8, 2.2) or overexposed, light
from one side (a horizontal brightness ramp 0.4 → 1.2), a colour cast, sensor noise, rolled
±25°, mirrored, grey (and grey with the face 100 / 110 / 120 pixels forehead to chin, as a small
black-and-white print: ``grey_face120``), cut at the eyebrows or under the chin, or placed
small in a 1920×1080 or a 3024×4032 photo. The portrait is found as the loader finds it
(``find_landmarks(search=True)``, then ``make_portrait``) and built as the stage builds it
(:meth:`Avatar.build`), its warnings and build time noted. Then, per variant:

* issue 13's judge (:func:`pipelines.avatar.judge.judge`) on clips made as
  tools/avatar_real_tuning.py makes them, with TUNING voices only (one continuous clip and
  one with pauses; ``--quick``: the clip with pauses only);
* the posed blinks (:func:`pipelines.avatar.measure.blink_ratios_under_poses`) over a few
  seeds (:data:`BLINK_SEEDS`; ``--quick``: the first);
* ``DIR/PHOTO_VARIANT_sheet.png``: a contact row of tools/avatar_report.py's ``SHEET_POSES``
  and the stand-in (``Avatar`` stand-in mode on a 640×360 frame, rest pose), and
  ``DIR/PHOTO_VARIANT_standin.png`` that frame at full size (the cut-out's edge);
* ``DIR/PHOTO_VARIANT_crops.png``: 4× crops (cubic) of the mouth at rest and jaw 0.3 / 0.8 /
  1.0, and of the eyes open, shut, and shut with the head turned (:data:`CROP_POSES`).

One line per variant sums the figures: r (least over the clips), lag, silent shut, p95
opening, speech blinks seen, tear frames (of them across the eyes), folds, posed blinks seen.
A variant whose photo gives no face, or no avatar, gets a line saying why.

``--jitter PX --jitter-seeds N ...``: the landmarks found are moved by Gaussian noise of PX
pixels (:func:`jittered`) before the build, once per seed: whether the rig and the lids' build
give the same avatar for landmarks that differ by the tracker's own noise (the JPEG variant
moves them 0.3 px; a build that creases, tears or loses its blinks under that is unstable).

Held-out portraits (tests/test_avatar_heldout.py, tools/avatar_heldout.py, and the derived
ones of tools/avatar_report.py) are refused: the sweep is a tuning tool.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from avatar_real_tuning import HELD_OUT  # noqa: E402
from avatar_report import SHEET_POSES, TILE, tile  # noqa: E402

from pipelines.avatar.portrait import (  # noqa: E402
    AvatarError,
    Portrait,
    find_landmarks,
    make_portrait,
    read_image,
)
from pipelines.avatar.stage import Avatar  # noqa: E402
from pipelines.tracking import regions  # noqa: E402

FACES = ROOT / "tests" / "data" / "faces"
PHOTOS = (
    "astronaut",
    "photographer_turned",
    "canonman_glasses",
    "brothers_sepia",
    "cameraman",
    "astronaut_turned",
)
"""Tuning photos swept by default (tests/data/faces/README.md)."""
BLINK_SEEDS = (7, 11, 23)
"""Seeds of the posed blinks (8 blinks each; ``--quick``: the first only)."""
STANDIN_FRAME = (640, 360)
"""The frame the stand-in tile is composed on."""
CROP_SCALE = 4
MOUTH_POSES: tuple[tuple[str, dict[str, float]], ...] = (
    ("rest", {}),
    ("jaw 0.3", {"jaw": 0.3}),
    ("jaw 0.8", {"jaw": 0.8}),
    ("jaw 1.0", {"jaw": 1.0}),
)
EYE_POSES: tuple[tuple[str, dict[str, float]], ...] = (
    ("eyes open", {}),
    ("blink", {"blink_left": 1.0, "blink_right": 1.0}),
    (
        "blink, yaw",
        {"blink_left": 1.0, "blink_right": 1.0, "yaw_left": 0.8, "pitch_down": 0.8},
    ),
)
CROP_POSES = MOUTH_POSES + EYE_POSES


# ---------------------------------------------------------------------------------------
# Variants: (photo BGR, its landmarks in it) -> a new photo BGR.

Variant = Callable[[np.ndarray, np.ndarray], np.ndarray]


def face_height(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[regions.CHIN, :2] - lm[regions.FOREHEAD_TOP, :2]))


def scaled_face(target_px: float) -> Variant:
    """The whole photo resized so the face is ``target_px`` from forehead to chin."""

    def make(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        s = target_px / face_height(lm)
        size = (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s)))
        return cv2.resize(img, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)

    return make


def jpeg(quality: int) -> Variant:
    def make(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        assert ok and out is not None
        return out

    return make


def blurred(sigma: float) -> Variant:
    return lambda img, lm: cv2.GaussianBlur(img, (0, 0), sigma)


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def gamma(g: float, gain: float = 1.0) -> Variant:
    """Pixel values to the power ``g`` (2.2: a dark, underexposed photo), times ``gain``."""
    return lambda img, lm: _u8(255.0 * gain * (img / 255.0) ** g)


def ramp(left: float, right: float) -> Variant:
    """Light from one side: brightness times a horizontal ramp from ``left`` to ``right``."""

    def make(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        r = np.linspace(left, right, img.shape[1], dtype=np.float32)[None, :, None]
        return _u8(img.astype(np.float32) * r)

    return make


def cast(bgr_gain: tuple[float, float, float]) -> Variant:
    return lambda img, lm: _u8(img.astype(np.float32) * np.array(bgr_gain, np.float32))


def noisy(sigma: float, seed: int = 5) -> Variant:
    def make(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return _u8(img.astype(np.float32) + rng.normal(0.0, sigma, img.shape))

    return make


def rolled(degrees: float) -> Variant:
    """Rotated about the face's centre (positive: counter-clockwise), the canvas grown to keep
    every pixel, the corners mirrored (a real photo has picture there)."""

    def make(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        c = (lm[regions.CHIN, :2] + lm[regions.FOREHEAD_TOP, :2]) / 2.0
        pad = int(0.25 * max(img.shape[:2]))
        big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
        m = cv2.getRotationMatrix2D((float(c[0]) + pad, float(c[1]) + pad), degrees, 1.0)
        out = cv2.warpAffine(
            big, m, big.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )
        return out[pad // 2 : -pad // 2, pad // 2 : -pad // 2]

    return make


def mirrored(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img[:, ::-1])


def grey(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def grey_scaled(target_px: float) -> Variant:
    """Grey, then resized so the face is ``target_px`` from forehead to chin as found on the
    grey photo (a small black-and-white print, scanned)."""

    def make(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        grey_img = grey(img, lm)
        return scaled_face(target_px)(grey_img, find_landmarks(grey_img, search=True))

    return make


def cut_at_brows(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """The photo's top cut a few pixels above the eyebrows (a tight crop, no forehead)."""
    brows = lm[list(regions.RIGHT_BROW + regions.LEFT_BROW), 1]
    y = max(0, int(brows.min() - 0.04 * face_height(lm)))
    return np.ascontiguousarray(img[y:])


def cut_under_chin(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """The photo's bottom cut just under the chin (no neck, no shoulders)."""
    y = int(np.ceil(lm[regions.CHIN, 1] + 0.03 * face_height(lm)))
    return np.ascontiguousarray(img[: min(img.shape[0], y)])


def placed(width: int, height: int, face_px: float, where: tuple[float, float]) -> Variant:
    """The photo resized so the face is ``face_px`` high, pasted (feathered) with its face at
    ``where`` (fractions of the frame) into a ``width``×``height`` picture whose backdrop is
    the photo's border colour with a soft vertical gradient and a little noise."""

    def make(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        s = face_px / face_height(lm)
        small = cv2.resize(
            img,
            (round(img.shape[1] * s), round(img.shape[0] * s)),
            interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC,
        )
        edge = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).astype(np.float32)
        base = edge.mean(axis=0)
        shade = np.linspace(1.15, 0.75, height, dtype=np.float32)[:, None, None]
        rng = np.random.default_rng(3)
        canvas = base[None, None, :] * shade + rng.normal(0.0, 3.0, (height, width, 3))
        canvas = canvas.astype(np.float32)
        c = (lm[regions.CHIN, :2] + lm[regions.FOREHEAD_TOP, :2]) / 2.0 * s
        x0 = int(where[0] * width - c[0])
        y0 = int(where[1] * height - c[1])
        h, w = small.shape[:2]
        # A feathered paste: no hard rectangle for the detector to fix on.
        alpha = np.ones((h, w), np.float32)
        f = max(2, int(0.06 * min(h, w)))
        ramp_y = np.minimum(np.arange(h), np.arange(h)[::-1]) / f
        ramp_x = np.minimum(np.arange(w), np.arange(w)[::-1]) / f
        alpha = np.clip(np.minimum(ramp_y[:, None], ramp_x[None, :]), 0.0, 1.0)[..., None]
        ys, xs = slice(max(0, y0), min(height, y0 + h)), slice(max(0, x0), min(width, x0 + w))
        sy = slice(ys.start - y0, ys.stop - y0)
        sx = slice(xs.start - x0, xs.stop - x0)
        a = alpha[sy, sx]
        canvas[ys, xs] = canvas[ys, xs] * (1 - a) + small[sy, sx].astype(np.float32) * a
        return _u8(canvas)

    return make


VARIANTS: dict[str, Variant] = {
    "original": lambda img, lm: img,
    "face40": scaled_face(40.0),
    "face60": scaled_face(60.0),
    "face150": scaled_face(150.0),
    "jpeg25": jpeg(25),
    "blur1.5": blurred(1.5),
    "blur3": blurred(3.0),
    "dim": gamma(1.5),
    "dark": gamma(2.2),
    "dusk": gamma(1.8),
    "overexposed": gamma(0.6, 1.35),
    "side_light": ramp(0.4, 1.2),
    "warm_cast": cast((0.7, 1.0, 1.25)),
    "green_cast": cast((0.85, 1.2, 0.8)),
    "noise8": noisy(8.0),
    "roll+25": rolled(25.0),
    "roll-25": rolled(-25.0),
    "mirror": mirrored,
    "grey": grey,
    "grey_face100": grey_scaled(100.0),
    "grey_face110": grey_scaled(110.0),
    "grey_face120": grey_scaled(120.0),
    "cut_brows": cut_at_brows,
    "cut_chin": cut_under_chin,
    "in1920x1080": placed(1920, 1080, 1080 / 8.0, (0.62, 0.42)),
    "in3024x4032": placed(3024, 4032, 3024 / 5.0, (0.45, 0.35)),
}
"""Every variant, by name, in the order swept."""


# ---------------------------------------------------------------------------------------
# Building, judging, drawing.


class _Collect(logging.Handler):
    """Warnings and info lines of the avatar's build (pipelines.avatar.*)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname.lower()}: {record.getMessage()}")


@dataclass
class Built:
    photo: str
    variant: str
    image: np.ndarray
    portrait: Portrait | None = None
    avatar: Avatar | None = None
    error: str = ""
    build_s: float = 0.0
    face_px: float = float("nan")
    """Forehead to chin in the variant's photo, as the loader found it."""
    log: list[str] = field(default_factory=list)


def jittered(landmarks: np.ndarray, sigma_px: float, seed: int) -> np.ndarray:
    """``landmarks`` with Gaussian noise of ``sigma_px`` pixels added to x and y (``sigma_px``
    0: unchanged): the tracker's own noise from one photo to a near copy of it is of this
    order (JPEG 25 moved canonman_glasses' landmarks by 0.34 px median, 1.8 px at most)."""
    if sigma_px <= 0.0:
        return landmarks
    out = np.array(landmarks, np.float32, copy=True)
    noise = np.random.default_rng(seed).normal(0.0, sigma_px, out[:, :2].shape)
    out[:, :2] += noise.astype(np.float32)
    return out


def build_variant(
    photo: str,
    variant: str,
    source: np.ndarray,
    lm: np.ndarray,
    jitter_px: float = 0.0,
    jitter_seed: int = 1,
) -> Built:
    """The variant's photo, found as load_portrait finds it (its landmarks then
    :func:`jittered` by ``jitter_px``), built as the stage builds it."""
    image = VARIANTS[variant](source, lm)
    out = Built(photo, variant, image)
    handler = _Collect()
    avatar_log = logging.getLogger("pipelines.avatar")
    level = avatar_log.level
    avatar_log.addHandler(handler)
    avatar_log.setLevel(logging.INFO)
    t0 = time.perf_counter()
    try:
        found = jittered(find_landmarks(image, search=True), jitter_px, jitter_seed)
        out.face_px = face_height(found)
        out.portrait = make_portrait(image, found, source=f"{photo}:{variant}")
        out.avatar = Avatar.build(out.portrait)
    except AvatarError as exc:
        out.error = str(exc)
    finally:
        out.build_s = time.perf_counter() - t0
        avatar_log.removeHandler(handler)
        avatar_log.setLevel(level)
    out.log = handler.lines
    return out


def tuning_clips(quick: bool) -> list:
    """tools/avatar_real_tuning.py's clips (TUNING voices); ``quick``: the first voice's clip
    with pauses (silent frames and speech in one)."""
    from avatar_real_tuning import TUNING_VOICES
    from avatar_real_tuning import tuning_clips as all_clips

    if not quick:
        return all_clips()
    from avatar_figures import spoken
    from train_mouth import TRAIN_TEXTS

    from pipelines.avatar.judge import with_pauses

    for spec, parts in spoken(TUNING_VOICES[:1], TRAIN_TEXTS[4:6]):
        return [with_pauses(f"{spec} pauses", parts, gap_s=0.8, lead_s=0.8, tail_s=0.6)]
    return []


def standin_frame(avatar: Avatar) -> np.ndarray:
    """The stand-in (rest pose) on a mid-grey STANDIN_FRAME, as the stage composes it."""
    from pipelines.avatar.stage import TalkingHead, TalkingHeadSettings
    from pipelines.frame import FrameContext

    stage = TalkingHead(
        TalkingHeadSettings(mode="stand-in", idle=False, blinks=False), avatar=avatar
    )
    stage.open()
    frame = np.full((STANDIN_FRAME[1], STANDIN_FRAME[0], 3), 128, np.uint8)
    return stage.process(frame, FrameContext(timestamp=0.0, index=0)).copy()


def standin_tile(standin: np.ndarray) -> np.ndarray:
    """A stand-in frame at TILE pixels high, labelled."""
    w = round(TILE * standin.shape[1] / standin.shape[0])
    small = cv2.resize(standin, (w, TILE), interpolation=cv2.INTER_AREA)
    cv2.putText(small, "stand-in", (5, TILE - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3)
    cv2.putText(small, "stand-in", (5, TILE - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255,) * 3, 1)
    return small


def sheet(built: Built, standin: np.ndarray) -> np.ndarray:
    """The contact row: the variant's photo, the avatar at each SHEET_POSE, the stand-in."""
    assert built.portrait is not None and built.avatar is not None
    avatar = built.avatar
    label = f"{built.variant}"
    tiles = [tile(built.portrait.image, built.portrait.landmarks, label)]
    for name, weights in SHEET_POSES[1:]:
        frame = avatar.renderer.render(weights).copy()
        tiles.append(tile(frame, avatar.portrait.landmarks, name))
    tiles.append(standin_tile(standin))
    return np.hstack(tiles)


def _box(points: np.ndarray, pad: tuple[float, float, float, float], fh: float, size: int):
    x0 = int(max(0, points[:, 0].min() - pad[0] * fh))
    y0 = int(max(0, points[:, 1].min() - pad[1] * fh))
    x1 = int(min(size, points[:, 0].max() + pad[2] * fh))
    y1 = int(min(size, points[:, 1].max() + pad[3] * fh))
    return x0, y0, x1, y1


def crops(built: Built) -> np.ndarray:
    """4× cubic crops: the mouth under MOUTH_POSES (one row), the eyes under EYE_POSES (the
    next), each labelled; the boxes are the rest face's, grown for the open jaw."""
    assert built.avatar is not None
    avatar = built.avatar
    lm = avatar.portrait.landmarks[:, :2]
    fh = face_height(avatar.portrait.landmarks)
    size = avatar.portrait.image.shape[0]
    mouth = _box(lm[list(regions.LIPS_OUTER)], (0.08, 0.06, 0.08, 0.3), fh, size)
    eyes = _box(
        lm[list(regions.LEFT_BROW + regions.RIGHT_BROW + regions.LEFT_EYE + regions.RIGHT_EYE)],
        (0.05, 0.04, 0.05, 0.06),
        fh,
        size,
    )
    rows = []
    for poses, (x0, y0, x1, y1) in ((MOUTH_POSES, mouth), (EYE_POSES, eyes)):
        tiles = []
        for name, weights in poses:
            frame = avatar.renderer.render(weights)[y0:y1, x0:x1]
            big = cv2.resize(
                frame,
                ((x1 - x0) * CROP_SCALE, (y1 - y0) * CROP_SCALE),
                interpolation=cv2.INTER_CUBIC,
            )
            cv2.putText(big, name, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4)
            cv2.putText(big, name, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255,) * 3, 1)
            tiles.append(big)
        rows.append(np.hstack(tiles))
    width = max(r.shape[1] for r in rows)
    return np.vstack(
        [cv2.copyMakeBorder(r, 0, 4, 0, width - r.shape[1], cv2.BORDER_CONSTANT) for r in rows]
    )


@dataclass
class Swept:
    """One variant's figures (NaN / -1 where not measured)."""

    photo: str
    variant: str
    face_px: float = float("nan")
    build_s: float = float("nan")
    error: str = ""
    warnings: int = 0
    r: float = float("nan")
    lag_ms: float = float("nan")
    silent_shut: float = float("nan")
    p95: float = float("nan")
    blinks_seen: int = 0
    blinks: int = 0
    tears: int = 0
    eye_tears: int = 0
    folds: int = 0
    posed_seen: int = 0
    posed: int = 0
    wide_torn: int = 0
    wide: int = 0
    tracked: int = 0
    frames: int = 0

    def line(self) -> str:
        head = f"{self.photo}:{self.variant}"
        if self.error:
            return f"{head:<34} FAILED ({self.build_s:.0f} s): {self.error}"
        shut = "     -" if np.isnan(self.silent_shut) else f"{self.silent_shut:6.1%}"
        return (
            f"{head:<34} face {self.face_px:4.0f} px  build {self.build_s:3.0f} s "
            f"({self.warnings} warn)  r {self.r:5.2f} @ {self.lag_ms:+4.0f} ms  "
            f"silent shut {shut}  p95 {self.p95:.3f}  blinks {self.blinks_seen}/{self.blinks}  "
            f"tears {self.tears} (eyes {self.eye_tears})  folds {self.folds}  "
            f"posed blinks {self.posed_seen}/{self.posed}  "
            f"wide open torn {self.wide_torn}/{self.wide}  tracked {self.tracked}/{self.frames}"
        )


def sweep_one(
    photo: str,
    variant: str,
    source: np.ndarray,
    lm: np.ndarray,
    clips: list,
    seeds: tuple[int, ...],
    out: Path | None,
    jitter_px: float = 0.0,
    jitter_seed: int = 1,
) -> Swept:
    """Build, judge, pose and draw one variant of one photo."""
    from pipelines.audio.vad import StreamingVad
    from pipelines.avatar.judge import judge
    from pipelines.avatar.measure import blink_ratios_under_poses, wide_open_figures

    built = build_variant(photo, variant, source, lm, jitter_px, jitter_seed)
    res = Swept(photo, variant, built.face_px, built.build_s, built.error)
    warned = [w for w in built.log if w.startswith("warning")]
    res.warnings = len(warned)
    for w in warned:
        print(f"  {photo}:{variant} build {w}", flush=True)
    if built.avatar is None:
        return res
    avatar = built.avatar
    assert built.portrait is not None
    res.face_px = built.face_px
    rs: list[tuple[float, float]] = []
    shut: list[float] = []
    p95: list[float] = []
    for c in clips:
        figs = judge(avatar, f"{photo}:{variant}", c, StreamingVad)
        print("  " + figs.line(), flush=True)
        rs.append((figs.loudness_r, figs.best_lag_ms))
        if figs.silent_frames:
            shut.append(figs.silent_closed)
        p95.append(figs.speech_p95_opening)
        res.blinks += figs.blinks
        res.blinks_seen += figs.blinks_seen
        res.tears += figs.tear_frames
        res.eye_tears += figs.eye_tear_frames
        res.folds = max(res.folds, figs.folded_triangles)
        res.tracked += figs.tracked
        res.frames += figs.frames
    if rs:
        res.r, res.lag_ms = min(rs, key=lambda v: (np.nan_to_num(v[0], nan=-9.0), v[1]))
        res.silent_shut = min(shut) if shut else float("nan")
        res.p95 = float(np.nanmax(p95))
    for seed in seeds:
        ratios = blink_ratios_under_poses(avatar, seed=seed)
        res.posed += len(ratios)
        res.posed_seen += sum(r < 0.5 for r in ratios)
    wide = wide_open_figures(avatar)
    res.wide, res.wide_torn = wide.poses, wide.torn
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        jitter = f"_jitter{jitter_px:g}px_{jitter_seed}" if jitter_px > 0.0 else ""
        stem = out / f"{photo}_{variant}{jitter}"
        standin = standin_frame(built.avatar)
        cv2.imwrite(f"{stem}_sheet.png", sheet(built, standin))
        cv2.imwrite(f"{stem}_standin.png", standin)
        cv2.imwrite(f"{stem}_crops.png", crops(built))
    return res


def source_photo(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A tuning photo (BGR) and its landmarks, as the loader finds them."""
    if name in HELD_OUT:
        raise ValueError(f"{name} is held out: never tuned on, never opened by the sweep")
    image = read_image(FACES / f"{name}.jpg")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image, find_landmarks(image, search=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="these tuning photos only")
    parser.add_argument("--variants", nargs="*", default=None, help="these variants only")
    parser.add_argument("--out", type=Path, default=None, help="write the sheets here")
    parser.add_argument("--quick", action="store_true", help="one clip, one blink seed")
    parser.add_argument("--no-speech", action="store_true", help="no judge: blinks, sheets")
    parser.add_argument("--list", action="store_true", help="list the variants and stop")
    parser.add_argument(
        "--jitter", type=float, default=0.0, help="landmark noise, px (the rig's stability)"
    )
    parser.add_argument("--jitter-seeds", type=int, nargs="*", default=[1], help="its seeds")
    args = parser.parse_args()
    if args.list:
        print(" ".join(VARIANTS))
        return
    photos = list(args.only or PHOTOS)
    held = sorted(set(photos) & set(HELD_OUT))
    if held:
        parser.error(f"held-out portraits are never tuned on: {', '.join(held)}")
    missing = [p for p in photos if not (FACES / f"{p}.jpg").exists()]
    if missing:
        parser.error(f"no such tuning photo: {', '.join(missing)}")
    variants = list(args.variants or VARIANTS)
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {' '.join(VARIANTS)}")
    clips = [] if args.no_speech else tuning_clips(args.quick)
    for c in clips:
        print(f"clip {c.name}: {c.seconds:.1f} s", flush=True)
    seeds = BLINK_SEEDS[:1] if args.quick else BLINK_SEEDS
    for photo in photos:
        source, lm = source_photo(photo)
        for variant in variants:
            for jitter_seed in args.jitter_seeds if args.jitter > 0.0 else [1]:
                t0 = time.perf_counter()
                res = sweep_one(
                    photo, variant, source, lm, clips, seeds, args.out, args.jitter, jitter_seed
                )
                if args.jitter > 0.0:
                    res.variant += f"~{args.jitter:g}px#{jitter_seed}"
                print(f"{res.line()}  ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
