"""How well a talking head holds up, measured the way a viewer sees it.

The avatar is driven by a voice clip (the project's own audio → mouth analysis) and its
animator, every rendered frame goes through the project's face tracker, and the figures come
from the tracked landmarks, not from the weights the renderer was given:

* mouth opening = inner-lip gap (landmarks 13-14) over the face height (10-152);
* closed in silence: the share of silent frames whose opening is under
  :data:`CLOSED_OPENING`;
* speech opening at the 95th percentile of the speaking frames;
* blinks: every scheduled blink (the animator's lids fully down) must show as an eye opening
  under half the median opening;
* folds: triangles of the composed mesh that turn over;
* tears: where the render's backward map jumps (or a strong edge appears that the portrait
  has nowhere near where the frame samples it) across brows, lids, glasses or lips, lids
  and lips closing over the eye and mouth openings excepted (see :func:`tear_edges`,
  calibrated by :func:`cut_calibration`).

Used by ``tests/test_avatar_quality.py`` and ``tools/avatar_report.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipelines.audio.mouth import NEUTRAL, MouthAnalyzer, MouthParams
from pipelines.audio.resample import ANALYSIS_RATE, resample
from pipelines.avatar.motion import Animator, MotionSettings
from pipelines.avatar.render import AvatarRenderer
from pipelines.avatar.rig import SIGNED_AXES, mouth_weights
from pipelines.avatar.stage import Avatar
from pipelines.avatar.tracked import eye_opening, measuring_tracker, opening
from pipelines.tracking import regions

CLOSED_OPENING = 0.02
"""Face heights: an inner-lip gap under this is a shut mouth (lips meeting leave a line)."""
SILENCE_MARGIN_S = 0.12
"""A frame counts as silent when no speech is within this much time of it."""
TEAR_LEVEL = 40.0
"""Grey levels per pixel: an edge this strong in the frame counts..."""
TEAR_SOURCE_SHARE = 0.35
"""...when the portrait, where the frame samples it, has under this share of it..."""
TEAR_MIN_LENGTH = 0.05
"""...along a connected run at least this long (face heights)."""
JUMP_PX = 1.0
"""Output pixels: a backward map that jumps by more than this between neighbouring output
pixels (beyond what its neighbours' stretch says) cuts the picture (see :func:`map_jumps`)."""
MIN_SCALE = 0.25
"""Portrait pixels per output pixel below which a stretch is not trusted to scale a jump."""
FPS = 30.0


@dataclass
class HeadFigures:
    name: str
    frames: int = 0
    tracked: int = 0
    silent_frames: int = 0
    silent_closed: float = float("nan")
    speech_p95_opening: float = float("nan")
    rest_opening: float = float("nan")
    blinks: int = 0
    blinks_seen: int = 0
    blink_ratios: list[float] = field(default_factory=list)
    """Per scheduled blink, the least eye opening the tracker read while the lids were down
    over the median opening of the clip (NaN where it lost the face throughout): seen under
    0.5. A missed blink's figure says how it missed (a shut eye read open, or barely)."""
    folded_triangles: int = 0
    tear_frames: int = 0
    eye_tear_frames: int = 0
    """Of ``tear_frames``, those with a tear across the brows, lids or rims."""
    loudness_r: float = float("nan")
    best_lag_ms: float = float("nan")
    openings: list[float] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.name:<22} silent closed {self.silent_closed:6.1%}  "
            f"speech p95 {self.speech_p95_opening:.3f}  blinks {self.blinks_seen}/{self.blinks}  "
            f"folds {self.folded_triangles}  "
            f"tear frames {self.tear_frames} (eyes {self.eye_tear_frames})  "
            f"r {self.loudness_r:.2f} @ {self.best_lag_ms:+.0f} ms  "
            f"tracked {self.tracked}/{self.frames}"
        )


def mouth_track(samples: np.ndarray, rate: int, fps: float = FPS, vad: object | None = None):
    """(MouthParams per video frame, loudness dB per frame, speech flag per frame) for a
    clip, as the ``audio_mouth`` stage would give them frame by frame."""
    x = resample(np.asarray(samples, np.float32), rate, ANALYSIS_RATE)
    analyzer = MouthAnalyzer(vad=vad)
    hops = analyzer.push(x)
    n = int(len(x) / ANALYSIS_RATE * fps)
    params: list[MouthParams] = []
    hop_s = 0.01
    for i in range(n):
        k = int((i / fps) / hop_s) - 1
        params.append(hops[k] if 0 <= k < len(hops) else NEUTRAL)
    per = ANALYSIS_RATE / fps
    loud = np.array(
        [
            10
            * np.log10(np.mean(x[max(0, int((i - 0.5) * per)) : int((i + 0.5) * per)] ** 2) + 1e-9)
            for i in range(n)
        ]
    )
    voiced = loud > loud.max() - 35.0
    margin = round(SILENCE_MARGIN_S * fps)
    near = np.convolve(voiced.astype(float), np.ones(2 * margin + 1), mode="same") > 0
    return params, loud, near


def _gradient(gray: np.ndarray) -> np.ndarray:
    g = gray.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    return cv2.magnitude(gx, gy)


def feature_mask(
    landmarks: np.ndarray, size: tuple[int, int], eyes: bool = True, lips: bool = True
) -> np.ndarray:
    """Brows, lids and the ring a pair of glasses would sit on (``eyes``), and the lips
    (``lips``) (bool)."""
    w, h = size
    lm = landmarks[:, :2]
    mask = np.zeros((h, w), np.uint8)
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE) if eyes else ():
        pts = lm[list(ring)]
        c = pts.mean(axis=0)
        ew = float(np.ptp(pts[:, 0]))
        cv2.ellipse(
            mask, (int(c[0]), int(c[1])), (int(0.95 * ew), int(0.75 * ew)), 0, 0, 360, 1, -1
        )
    for brow in (regions.RIGHT_BROW, regions.LEFT_BROW) if eyes else ():
        cv2.fillPoly(
            mask, [np.round(cv2.convexHull(lm[list(brow)].astype(np.float32))).astype(np.int32)], 1
        )
    if lips:
        cv2.fillPoly(mask, [np.round(lm[list(regions.LIPS_OUTER)]).astype(np.int32)], 1)
    face_h = float(np.linalg.norm(lm[regions.CHIN] - lm[regions.FOREHEAD_TOP]))
    k = max(3, int(0.02 * face_h) | 1)
    return cv2.dilate(mask, np.ones((k, k), np.uint8)).astype(bool)


def tear_edges(
    frame: np.ndarray,
    portrait: np.ndarray,
    backward: tuple[tuple[int, int, int, int], np.ndarray] | None,
    where: np.ndarray,
    exclude: np.ndarray,
    face_h: float,
    holes: np.ndarray | None = None,
) -> np.ndarray:
    """Pixels of tears, in long connected runs inside ``where`` and outside ``exclude``:

    * a jump of the render's backward map (``backward``: its box and map; see
      :func:`map_jumps`, ``holes`` the portrait's eye and mouth openings). This is what sees
      a cut on a real photo: 990/990 synthetic cuts of 2-6 px through the brows, lids, rims
      and lips of the 11 portraits of tests/data/faces at rest, mid-word and mid-blink;
    * a strong edge in ``frame`` where the portrait, around the place the frame samples it,
      has none as strong. Alone (``backward`` None) it sees only drawn black lines such as
      astronaut_glasses' rims: 0 of 45 such cuts on hopper_glasses, einstein_midword or
      biden (a real brow or rim is soft, and the cut runs along its own edge).

    Only the box around ``where`` and not ``exclude`` is read (the brows to the lips): every
    test above is pointwise or looks at most 3 pixels along a row or column, so the box with
    that margin gives the whole frame's answer, bit for bit, at a third of the cost."""
    out = np.zeros(frame.shape[:2], bool)
    live = where & ~exclude
    rows, cols = np.flatnonzero(live.any(axis=1)), np.flatnonzero(live.any(axis=0))
    if not rows.size:
        return out
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    live = live[y0:y1, x0:x1]
    # The frame's gradient with the Sobel's one-pixel margin (or the frame's own border).
    fy0, fx0 = max(0, y0 - 1), max(0, x0 - 1)
    fy1, fx1 = min(frame.shape[0], y1 + 1), min(frame.shape[1], x1 + 1)
    g_out = _gradient(cv2.cvtColor(frame[fy0:fy1, fx0:fx1], cv2.COLOR_BGR2GRAY))
    g_out = g_out[y0 - fy0 : y1 - fy0, x0 - fx0 : x1 - fx0]
    g_full = source_gradient(portrait)
    g_src = g_full[y0:y1, x0:x1].copy()
    if backward is not None:
        (bx0, by0, bx1, by1), amap = backward
        # The backward map's part inside the box: there the portrait is read where the map
        # says (remap is pointwise).
        iy0, iy1, ix0, ix1 = max(by0, y0), min(by1, y1), max(bx0, x0), min(bx1, x1)
        if iy0 < iy1 and ix0 < ix1:
            g_src[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = cv2.remap(  # type: ignore[call-overload]
                g_full,
                np.ascontiguousarray(amap[iy0 - by0 : iy1 - by0, ix0 - bx0 : ix1 - bx0]),
                None,
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
    new = (g_out > TEAR_LEVEL) & (g_src < TEAR_SOURCE_SHARE * g_out) & live
    if backward is not None:
        new |= (
            map_jumps(backward, frame.shape[:2], holes, within=(y0, y1, x0, x1))[y0:y1, x0:x1]
            & live
        )
    out[y0:y1, x0:x1] = _long_runs(new, TEAR_MIN_LENGTH * face_h)
    return out


_source_gradient_cache: list[tuple[np.ndarray, np.ndarray]] = []
"""The last portrait :func:`source_gradient` read, held (so its id cannot be reused), and its
gradient: a measure or a build reads one portrait for hundreds of frames."""


def source_gradient(portrait: np.ndarray) -> np.ndarray:
    """The portrait's gradient magnitude, dilated over 5×5 pixels (the strongest edge around
    each place a frame samples it). Portrait images are not changed once loaded (a rest face
    is drawn on a copy)."""
    if _source_gradient_cache and _source_gradient_cache[0][0] is portrait:
        return _source_gradient_cache[0][1]
    g = cv2.dilate(_gradient(cv2.cvtColor(portrait, cv2.COLOR_BGR2GRAY)), np.ones((5, 5), np.uint8))
    _source_gradient_cache[:] = [(portrait, g)]
    return g


def _long_runs(mask: np.ndarray, min_len: float) -> np.ndarray:
    """The connected runs of ``mask`` at least ``min_len`` pixels wide or high."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    long = np.zeros(count, bool)
    long[1:] = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]) >= min_len
    return long[labels]


JUMP_REACH = 3
"""How far along a row or column :func:`map_jumps` reads the map around a pixel (its spans'
centres 2 either side, each 1 pixel wide)."""


def _lengths(v: np.ndarray) -> np.ndarray:
    """``np.linalg.norm(v, axis=-1)`` of 2-vectors, bit for bit (it squares, sums the two
    squares in ``v``'s dtype and takes the root, as this does), without its reduce over a
    last axis of two, which took two thirds of :func:`measure`'s time (25 of 37 s a speech
    run, 2026-12-05)."""
    x, y = v[..., 0], v[..., 1]
    return np.sqrt(x * x + y * y)


def map_jumps(
    backward: tuple[tuple[int, int, int, int], np.ndarray],
    shape: tuple[int, ...],
    holes: np.ndarray | None = None,
    within: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Output pixels where the backward map JUMPS: two pixels apart sample the portrait
    farther apart, by over :data:`JUMP_PX`, than their neighbours' spans say a smooth map
    would (the second difference over 2-pixel spans, so a jump the render's bilinear read of
    a field spread over two pixels counts in full). A cut shows up as such a jump whatever
    the picture holds there, which an edge test cannot say on a soft real brow or rim.

    ``holes`` (portrait pixels, bool): the eye and mouth apertures. A jump whose skipped
    stretch of portrait is centred in one is a lid or a lip closing over it (the lids' seam
    when shut), not a tear.

    ``within`` (rows ``y0:y1``, columns ``x0:x1`` of the output): only the jumps there are
    wanted. A pixel's jump reads the map 3 pixels either side along each axis, so the map is
    cut to that box with a 3-pixel margin: the same answer there, bit for bit."""
    (x0, y0, x1, y1), amap = backward
    if within is not None:
        wy0, wy1, wx0, wx1 = within
        cy0, cy1 = max(y0, wy0 - JUMP_REACH), min(y1, wy1 + JUMP_REACH)
        cx0, cx1 = max(x0, wx0 - JUMP_REACH), min(x1, wx1 + JUMP_REACH)
        if cy0 >= cy1 or cx0 >= cx1:
            return np.zeros(shape[:2], bool)
        amap = amap[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        x0, y0, x1, y1 = cx0, cy0, cx1, cy1
    jump = np.zeros(amap.shape[:2], np.float32)
    # Which axis's span gave each pixel its jump (-1: none). The skipped stretch's centre is
    # read at the found pixels only, from that axis: filling it in for every pixel the way
    # the jumps are took over half of this function's time.
    along = np.full(amap.shape[:2], -1, np.int8)
    for axis in (0, 1):
        m = np.moveaxis(amap, axis, 0)
        if m.shape[0] < 7:
            continue
        # span[i] = m[i + 1] - m[i - 1] at the centre i, against the spans 2 before and 2
        # after: how far it lies from the nearer of them (a jump 2 pixels off is in one of
        # them, not in both), less half their own difference (at a kink of the piecewise
        # affine mesh field, the stretch changes but the picture stays whole: the span there
        # lies between its neighbours').
        span = m[2:] - m[:-2]  # centres 1 .. n-2
        here, before, after = span[2:-2], span[:-4], span[4:]  # centres 3 .. n-4
        nb, na = _lengths(before), _lengths(after)
        excess = np.minimum(_lengths(here - before), _lengths(here - after)) - 0.5 * _lengths(
            after - before
        )
        # In output pixels (what the viewer sees missing or doubled): over the portrait
        # pixels per output pixel around it (a jaw stretching the lower lip twice halves a
        # cut's jump in the portrait).
        excess /= np.maximum(0.5 * np.minimum(nb, na), MIN_SCALE)
        j = np.moveaxis(jump, axis, 0)[3:-3]
        bigger = excess > j
        np.copyto(j, excess, where=bigger)
        np.copyto(np.moveaxis(along, axis, 0)[3:-3], axis, where=bigger)
    found = jump > JUMP_PX
    if holes is not None and found.any():
        ys, xs = np.nonzero(found)
        # The centre of the span: 0.5 (m[i + 1] + m[i - 1]) along the axis that gave the jump.
        mid = np.empty((len(ys), 2), np.float32)
        for axis, (dy, dx) in enumerate(((1, 0), (0, 1))):
            k = along[ys, xs] == axis
            mid[k] = 0.5 * (amap[ys[k] + dy, xs[k] + dx] + amap[ys[k] - dy, xs[k] - dx])
        hx = np.clip(np.round(mid[:, 0]).astype(np.int64), 0, holes.shape[1] - 1)
        hy = np.clip(np.round(mid[:, 1]).astype(np.int64), 0, holes.shape[0] - 1)
        closing = holes[hy, hx]
        found[ys[closing], xs[closing]] = False
    out = np.zeros(shape[:2], bool)
    out[y0:y1, x0:x1] = found
    return out


def aperture_mask(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The eye openings and the mouth's inner outline (bool, portrait pixels): what lids and
    lips close over."""
    w, h = size
    lm = landmarks[:, :2]
    mask = np.zeros((h, w), np.uint8)
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE, regions.LIPS_INNER):
        cv2.fillPoly(mask, [np.round(lm[list(ring)]).astype(np.int32)], 1)
    return mask.astype(bool)


def last_backward(renderer: AvatarRenderer) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The backward map of the renderer's last frame (None: nothing moved, the identity)."""
    if renderer.last_box is None or renderer.last_map is None:
        return None
    return renderer.last_box, renderer.last_map


def tears_in(
    avatar: Avatar,
    weights: dict[str, float],
    frame: np.ndarray,
    backward: tuple[tuple[int, int, int, int], np.ndarray] | None,
    moved: np.ndarray | None = None,
    holes: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`tear_edges` of a frame the avatar rendered at ``weights`` (``backward``: its
    map): across the brows, lids, rims and lips where the motions put them, outside the
    painted mouth, the eye and mouth openings closing over being no tear. ``moved`` and
    ``holes``: :meth:`Rig.vertices` at ``weights`` and :func:`aperture_mask` of the rest
    landmarks, when the caller has them."""
    rig = avatar.rig
    n = regions.NUM_LANDMARKS
    if moved is None:
        moved = rig.vertices(weights)
    if holes is None:
        holes = aperture_mask(rig.points[:n], rig.size)
    where = feature_mask(moved[:n], rig.size)
    exclude = np.zeros(frame.shape[:2], np.uint8)
    outline = avatar.renderer.mouth_outline(weights)
    cv2.fillPoly(exclude, [np.round(outline).astype(np.int32)], 1)
    exclude = cv2.dilate(exclude, np.ones((5, 5), np.uint8)).astype(bool)
    return tear_edges(
        frame, avatar.portrait.image, backward, where, exclude, rig.geometry.face_h, holes
    )


def render_frames(
    avatar: Avatar,
    params: list[MouthParams],
    seed: int = 1,
    fps: float = FPS,
    user_pose: tuple[float, float, float] | None = None,
) -> Iterator[tuple[dict[str, float], np.ndarray]]:
    anim = Animator(MotionSettings(seed=seed))
    for i, p in enumerate(params):
        weights = anim.update(i / fps, p, user_pose)
        yield weights, avatar.renderer.render(weights)


def measure(
    avatar: Avatar,
    name: str,
    samples: np.ndarray,
    rate: int,
    *,
    vad: object | None = None,
    seed: int = 1,
    fps: float = FPS,
    user_pose: tuple[float, float, float] | None = None,
) -> HeadFigures:
    from pipelines.frame import FrameContext

    params, loud, near_speech = mouth_track(samples, rate, fps, vad)
    figs = HeadFigures(name, frames=len(params))
    tracker = measuring_tracker()
    tracker.open()
    rig, renderer = avatar.rig, avatar.renderer
    holes = aperture_mask(rig.points[: regions.NUM_LANDMARKS], rig.size)
    openings = np.full(len(params), np.nan)
    eyes = np.full(len(params), np.nan)
    blink_w = np.zeros(len(params))
    try:
        for i, (weights, frame) in enumerate(render_frames(avatar, params, seed, fps, user_pose)):
            blink_w[i] = weights.get("blink_left", 0.0)
            moved = rig.vertices(weights)
            figs.folded_triangles = max(
                figs.folded_triangles, len(rig.folds(moved - rig.points, 0.5))
            )
            tears = tears_in(avatar, weights, frame, last_backward(renderer), moved, holes)
            if tears.any():
                figs.tear_frames += 1
                eyes_at = feature_mask(moved[: regions.NUM_LANDMARKS], rig.size, lips=False)
                figs.eye_tear_frames += bool((tears & eyes_at).any())
            ctx = FrameContext(timestamp=i / fps, index=i)
            tracker.process(frame, ctx)
            face = ctx.primary_face
            if face is None:
                continue
            figs.tracked += 1
            lm = np.asarray(face.landmarks, np.float64)
            openings[i] = opening(lm)
            eyes[i] = eye_opening(lm)
    finally:
        tracker.close()
    ok = ~np.isnan(openings)
    silent = ~near_speech & ok
    figs.silent_frames = int(silent.sum())
    if silent.any():
        figs.silent_closed = float((openings[silent] < CLOSED_OPENING).mean())
        figs.rest_opening = float(np.median(openings[silent]))
    speaking = np.array([p.speaking for p in params]) & ok
    if speaking.any():
        figs.speech_p95_opening = float(np.percentile(openings[speaking], 95))
    # Blinks: runs of frames with the lids fully down.
    down = blink_w > 0.95
    starts = np.where(down & ~np.r_[False, down[:-1]])[0]
    median_eye = float(np.nanmedian(eyes))
    for s in starts:
        e = s
        while e + 1 < len(down) and down[e + 1]:
            e += 1
        figs.blinks += 1
        window = eyes[s : e + 1]
        read = window[~np.isnan(window)]
        figs.blink_ratios.append(float(read.min()) / median_eye if read.size else float("nan"))
        if np.any(read < 0.5 * median_eye):
            figs.blinks_seen += 1
    # Loudness against opening, best lag within ±5 frames.
    if ok.sum() > 10:
        best = (-2.0, 0)
        for lag in range(-5, 6):
            a = openings[max(0, lag) : len(openings) + min(0, lag)]
            b = loud[max(0, -lag) : len(loud) - max(0, lag)]
            m = ~np.isnan(a)
            if m.sum() > 10:
                r = float(np.corrcoef(a[m], b[m])[0, 1])
                if r > best[0]:
                    best = (r, lag)
        figs.loudness_r, figs.best_lag_ms = best[0], best[1] * 1000.0 / fps
    figs.openings = [float(v) for v in openings]
    return figs


def blinks_under_poses(avatar: Avatar, count: int = 8, seed: int = 7) -> tuple[int, int]:
    """(blinks the tracker saw, blinks rendered): ``count`` full blinks, each under a random
    head pose within the limits (turned, tilted, rolled) and a random gaze, each shown as the
    animator shows one (open, closing, shut for two frames, opening) to the tracker."""
    ratios = blink_ratios_under_poses(avatar, count, seed)
    return sum(r < 0.5 for r in ratios), count


def blink_ratios_under_poses(avatar: Avatar, count: int = 8, seed: int = 7) -> list[float]:
    """The shut eye's tracked opening over the open eye's (the least of the shut frames over
    the median of the open ones) for each blink of :func:`blinks_under_poses`; NaN where the
    tracker lost the face. A blink is seen under 0.5."""
    from pipelines.frame import FrameContext

    rng = np.random.default_rng(seed)
    tracker = measuring_tracker()
    tracker.open()
    ratios: list[float] = []
    index = 0
    try:
        for _ in range(count):
            pose = {
                rng.choice(["yaw_right", "yaw_left"]): float(rng.uniform(0.3, 1.0)),
                rng.choice(["pitch_up", "pitch_down"]): float(rng.uniform(0.3, 1.0)),
                rng.choice(["roll_cw", "roll_ccw"]): float(rng.uniform(0.0, 1.0)),
                rng.choice(["gaze_right", "gaze_left"]): float(rng.uniform(0.0, 1.0)),
            }
            opens, shut = [], []
            for amount in (0.0, 0.0, 0.6, 1.0, 1.0, 0.5, 0.0):
                frame = avatar.renderer.render(
                    {**pose, "blink_left": amount, "blink_right": amount}
                )
                ctx = FrameContext(timestamp=index / FPS, index=index)
                index += 1
                tracker.process(frame, ctx)
                if ctx.primary_face is None:
                    continue
                e = eye_opening(np.asarray(ctx.primary_face.landmarks, np.float64))
                if amount == 1.0:
                    shut.append(e)
                elif amount == 0.0:
                    opens.append(e)
            seen = opens and shut
            ratios.append(min(shut) / float(np.median(opens)) if seen else float("nan"))
    finally:
        tracker.close()
    return ratios


WIDE_JAW_POSES = 30
"""Random poses :func:`wide_jaw_lip_tears` renders by default."""


def wide_jaw_weights(rng: np.random.Generator) -> dict[str, float]:
    """The jaw at full strength (no closure) with every other motion at a random strength
    within its limits, as the animator combines them: the lips' width (-1 round … 1 spread,
    through :func:`~pipelines.avatar.rig.mouth_weights`), a smile, the head turned, tilted
    and rolled, the gaze, both lids."""
    weights = mouth_weights(1.0, 0.0, float(rng.uniform(-1.0, 1.0)))
    weights["smile"] = float(rng.uniform(0.0, 1.0))
    for pos, neg in SIGNED_AXES.values():
        weights[pos if rng.random() < 0.5 else neg] = float(rng.uniform(0.0, 1.0))
    blink = float(rng.uniform(0.0, 1.0))
    weights["blink_left"] = weights["blink_right"] = blink
    return weights


def wide_jaw_lip_tears(
    avatar: Avatar, count: int = WIDE_JAW_POSES, seed: int = 11
) -> list[tuple[dict[str, float], int]]:
    """(weights, tear pixels across the lips) of ``count`` random wide-open poses
    (:func:`wide_jaw_weights`): where a tear shows when the jaw opens as far as it goes,
    whatever else moves (a speech clip opens it fully only now and then)."""
    rng = np.random.default_rng(seed)
    rig, renderer = avatar.rig, avatar.renderer
    n = regions.NUM_LANDMARKS
    holes = aperture_mask(rig.points[:n], rig.size)
    out = []
    for _ in range(count):
        weights = wide_jaw_weights(rng)
        frame = renderer.render(weights)
        moved = rig.vertices(weights)
        tears = tears_in(avatar, weights, frame, last_backward(renderer), moved, holes)
        lips = feature_mask(moved[:n], rig.size, eyes=False)
        out.append((weights, int((tears & lips).sum())))
    return out


WIDE_OPEN_SEEDS = (11, 5)
"""The seeds of :func:`wide_open_figures`: 60 wide-open poses a portrait, about 1–2 s."""


@dataclass
class WideOpenFigures:
    """Issue 13's tear check where speech seldom goes: the jaw fully open under random other
    motions (:func:`wide_jaw_lip_tears`). Landmark noise of 0.3 px tore the open mouth of
    three tuning photos while the speech clips' tear frames stayed 0 (the sweep,
    2026-12-05): a clip opens the jaw fully only now and then."""

    poses: int = 0
    torn: int = 0
    """Poses with any tear pixel across the lips."""
    worst_px: int = 0
    """The most tear pixels in one pose."""

    def line(self) -> str:
        return f"wide open: torn {self.torn}/{self.poses} (worst {self.worst_px} px)"


def wide_open_figures(avatar: Avatar, seeds: tuple[int, ...] = WIDE_OPEN_SEEDS) -> WideOpenFigures:
    """:class:`WideOpenFigures` over :data:`WIDE_JAW_POSES` poses for each of ``seeds``."""
    torn = [px for seed in seeds for _, px in wide_jaw_lip_tears(avatar, seed=seed)]
    return WideOpenFigures(len(torn), sum(px > 0 for px in torn), max(torn, default=0))


_INNER = list(regions.LIPS_INNER)
UPPER_INNER_ROW = tuple(_INNER[: _INNER.index(308) + 1])
"""The inner upper lip from corner (78) to corner (308), right to left on the image."""
LOWER_INNER_ROW = (78, *_INNER[_INNER.index(308) + 1 :][::-1], 308)
"""The inner lower lip from corner to corner, in the same order: its k-th and its k-th from
the end are mirror columns."""
INNER_LOWER_MIDDLE = 14


def jaw_lip_drag(avatar: Avatar) -> float:
    """How far the jaw basis takes the inner upper lip between its corners down, at most, as
    a share of how far it takes the middle of the inner lower lip (14). The jaw opens the
    mouth with the lower lip and the upper lip stays. Where the build's fold repairs pull a
    column of the upper lip along, it hangs into the opening: a dark notch cut off from the
    opening at the mouth's corner, the upper lip's inner line slanting (issue 13's printed
    proxy). The corners themselves are left out: a turned face's jaw moves its near corner
    by design (riga_turned 0.13 of the opening)."""
    g = avatar.rig.geometry
    jaw = avatar.rig.bases["jaw"].vertex_disp
    opening = float(jaw[INNER_LOWER_MIDDLE] @ g.down)
    if opening <= 0.0:
        return 0.0
    return max(0.0, max(float(jaw[i] @ g.down) for i in UPPER_INNER_ROW[1:-1])) / opening


def jaw_lower_lip_balance(avatar: Avatar) -> float:
    """The least, over the inner lower lip's mirror columns between the corners, of the
    smaller of the two's jaw motion over the larger's (1: both sides of the lower lip open
    alike; issue 13's printed proxy opened one half about half as far, a lopsided mouth)."""
    g = avatar.rig.geometry
    jaw = avatar.rig.bases["jaw"].vertex_disp
    down = [float(jaw[i] @ g.down) for i in LOWER_INNER_ROW[1:-1]]
    ratios = [
        min(a, b) / max(a, b)
        for a, b in zip(down[: len(down) // 2], down[::-1][: len(down) // 2], strict=True)
        if max(a, b) > 0.0
    ]
    return min(ratios, default=1.0)


CUT_LINES: dict[str, tuple[int, ...]] = {
    "brows": (105, 334),
    "upper lids": (159, 386),
    "lower lids": (145, 374),
    "upper lip": (0,),
    "lower lip": (17,),
}
"""Landmarks through whose mean height a synthetic cut runs (a rim sits on the lids' lines)."""


def synthetic_cut(
    frame: np.ndarray,
    backward: tuple[tuple[int, int, int, int], np.ndarray] | None,
    y: int,
    shift: int,
) -> tuple[np.ndarray, tuple[tuple[int, int, int, int], np.ndarray]]:
    """A tear as a rig field's edge makes one: the rows from ``y`` down show what lay
    ``shift`` rows above (below, for a negative shift). Returns the cut frame and its
    backward map over the whole frame (the render's own map cut the same way)."""
    h, w = frame.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    full = np.dstack([gx, gy])
    if backward is not None:
        (x0, y0, x1, y1), amap = backward
        full[y0:y1, x0:x1] = amap
    rows = np.arange(h)
    rows[y:] = np.clip(rows[y:] - shift, 0, h - 1)
    return frame[rows].copy(), ((0, 0, w, h), full[rows].copy())


CALIBRATION_POSES: dict[str, dict[str, float]] = {
    "rest": {},
    "mid-word": {"jaw": 0.55, "spread": 0.3},
    "mid-blink": {"blink_left": 1.0, "blink_right": 1.0},
}
"""The frames the synthetic cuts are made on (as the contact sheets show them)."""
CUT_SHIFTS = (2, 4, 6, -2, -4, -6)
"""Pixels: the synthetic cuts, rows below the line showing what lay above (+) or below (−)."""


@dataclass(frozen=True)
class CutResult:
    pose: str
    line: str
    shift: int
    y: int
    seen: bool


def cut_calibration(
    avatar: Avatar,
    poses: dict[str, dict[str, float]] | None = None,
    shifts: tuple[int, ...] = CUT_SHIFTS,
) -> tuple[dict[str, int], list[CutResult]]:
    """(tear pixels on each untouched pose, every synthetic cut and whether it was seen): a
    cut through each of :data:`CUT_LINES` (where the pose put the landmarks) at each shift,
    seen when a tear lies within the shift's reach of its line."""
    poses = CALIBRATION_POSES if poses is None else poses
    rig, renderer = avatar.rig, avatar.renderer
    n = regions.NUM_LANDMARKS
    holes = aperture_mask(rig.points[:n], rig.size)
    clean: dict[str, int] = {}
    cuts: list[CutResult] = []
    for pose, weights in poses.items():
        frame = renderer.render(weights).copy()
        backward = last_backward(renderer)
        moved = rig.vertices(weights)
        clean[pose] = int(tears_in(avatar, weights, frame, backward, moved, holes).sum())
        for line, marks in CUT_LINES.items():
            y = round(float(moved[list(marks), 1].mean()))
            for shift in shifts:
                cut, cut_map = synthetic_cut(frame, backward, y, shift)
                found = tears_in(avatar, weights, cut, cut_map, moved, holes)
                rows = np.nonzero(found.any(axis=1))[0]
                seen = bool(np.any(np.abs(rows - y) <= abs(shift) + 2))
                cuts.append(CutResult(pose, line, shift, y, seen))
    return clean, cuts
