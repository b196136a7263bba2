"""Temporal reuse in the face tracker (issue 15): the face mesh skips frames when the face moves
little, and the landmarks stay where full-rate tracking puts them.

The statistic: for each frame after the filters settle, the mean over the 478 landmarks of the
distance (x, y, pixels) between the smoothed landmarks of tracking with reuse and of tracking
with the mesh on every frame (``mesh_interval=1``), on the same frames. Over a sequence, its
median and 95th percentile must stay within the bounds below, on a still face and on moving
ones: the demo source (at 1× and 2× its motion), a fast sideways sweep, a hand passing in front
of the face, and fast head turns while talking and blinking (the avatar renderer's warp of the
portrait).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np
import pytest
from golden_data import face_photo, load_golden

from pipelines.frame import FrameContext
from pipelines.sources.base import SourceConfig
from pipelines.sources.demo import DemoSource
from pipelines.stage import make_stage
from pipelines.tracking import carry
from pipelines.tracking.tracker import CARRY_AFTER, FaceTracker, FaceTrackerSettings

pytestmark = pytest.mark.clock_free

FPS = 30.0
SIZE = (1280, 720)
BACKGROUND = (110, 110, 110)
NOISE_SIGMA = 4.0  # 8-bit levels: a webcam in room light
WARMUP = 15  # frames before comparing (the track and its filters settle)
LANDMARK_MEDIAN_PX = 0.25
LANDMARK_P95_PX = 0.5  # issue 15: landmarks within 0.5 px of full-rate processing
JITTER_ADDED_PX = 0.01  # issue 15: no added jitter on a still face (step RMS, px per frame)
HAND_FRAMES = range(30, 60)
HAND_SEQUENCE = 100
"""Frames in the hand sequence: the hand leaves the face's box on frame 53, and 26 frames after
the settle frames count."""
HAND_AXES = (90, 140)
HAND_HALF_WIDTH = 97  # px: the blob's half-extent in x (its axes turned by 20°)
SETTLE_FRAMES = 20
"""Frames after the hand has left the face that count as covered too: full-rate tracking
itself remembers the hand that long (its ROI and landmark filters). With its first detection
nudged by +-0.1 px (8 seeds), full-rate landmarks moved by p95 0.02-0.25 px (0.46 with the
detector's halved tile shrink) over the frames counted after 10 settle frames, 0.02-0.09
(0.17) after 15, 0.02-0.03 (0.05) after 20; after 10, one start in six put reuse 0.56-0.59 px
(p95) from the full-rate run of the same start, from the reference's own memory, not the
carry (reuse against the un-nudged reference stayed within 0.30-0.41)."""
REFERENCE_REPEAT_PX = 0.1
"""p95 of full-rate tracking against itself with its start nudged, on the counted frames: the
reference is repeatable there, so the 0.5 px bound measures the carry."""
NUDGE_PX = 0.1
NUDGE_SEEDS = (0, 1, 2)
COVERED_P95_PX = 1.5
"""While a hand covers the face, full-rate tracking is not repeatable to 0.5 px: with its crop
nudged by 0.25 (0.5) px on two frames before the hand, its own landmarks moved by p95 0.77
(0.98) px, max 1.19 (2.22) px on these frames. Reuse measured p95 0.9-1.05, max 1.1; a carry
without its doubt checks p95 4.1."""
STILL_MESH_SHARE = 0.5
"""On a still face the mesh runs on at most this share of the frames with the default interval
(3: measured 27 of 60, as the first CARRY_AFTER frames always run it)."""
DEMO_MESH_SHARE = 0.5
"""... and on the demo at its 1× motion (measured 32 of 75, the floor with interval 3 being
CARRY_AFTER + a third of the rest = 31.7: carries are refused on about one frame of 75; on
300 frames 107, 36 %). At 2× it was 34 of 75 (56 % of 300), at 3× 72 % of 300 frames."""

Frames = Callable[[], Iterator[np.ndarray]]


def noisy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(image.shape, dtype=np.float32) * NOISE_SIGMA
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def portrait_frame() -> np.ndarray:
    photo = cv2.resize(face_photo("astronaut"), (720, 720), interpolation=cv2.INTER_AREA)
    frame = np.full((SIZE[1], SIZE[0], 3), BACKGROUND, np.uint8)
    frame[:, 280:1000] = photo
    return frame


def still(n: int = 60) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(1)
    frame = portrait_frame()
    for _ in range(n):
        yield noisy(frame, rng)


def sweep(n: int = 60) -> Iterator[np.ndarray]:
    """Sideways at up to 12.6 px per frame (120 px amplitude at 0.5 Hz)."""
    rng = np.random.default_rng(2)
    frame = portrait_frame()
    for i in range(n):
        m = np.array([[1, 0, 120.0 * np.sin(np.pi * i / FPS)], [0, 1, 0]], np.float32)
        yield noisy(cv2.warpAffine(frame, m, SIZE, borderValue=BACKGROUND), rng)


def demo(n: int = 75, hand: bool = False, motion: float = 1.0) -> Iterator[np.ndarray]:
    """The bench's demo source (pan, zoom and roll; ``motion`` scales it); with ``hand``, a
    hand-sized skin-coloured blob sweeps across the face in one second."""
    source = DemoSource(str(motion), SourceConfig(paced=False))
    source.open()
    rng = np.random.default_rng(3)
    for i in range(n):
        frame = source.read()
        assert frame is not None
        image = frame.image.copy()
        if hand and i in HAND_FRAMES:
            cv2.ellipse(image, (hand_x(i), 330), HAND_AXES, 20, 0, 360, (120, 150, 200), -1)
        yield noisy(image, rng)


def hand_x(i: int) -> int:
    return 300 + (i - HAND_FRAMES[0]) * 25


def uncovered(landmarks: list[np.ndarray]) -> np.ndarray:
    """Per frame: False while the hand overlaps the face's landmark box and SETTLE_FRAMES after."""
    out = np.ones(len(landmarks), bool)
    for i in HAND_FRAMES:
        x0, x1 = landmarks[i][:, 0].min(), landmarks[i][:, 0].max()
        if hand_x(i) - HAND_HALF_WIDTH < x1 and hand_x(i) + HAND_HALF_WIDTH > x0:
            out[i : i + SETTLE_FRAMES + 1] = False
    return out


def turns(n: int = 60) -> Iterator[np.ndarray]:
    """The portrait turning its head fully left and right every 1.5 s while it talks (jaw at
    4 Hz) and blinks once, 512 px in a 720p frame."""
    from pipelines.avatar.portrait import make_portrait
    from pipelines.avatar.render import AvatarRenderer
    from pipelines.avatar.rig import Rig

    lm = load_golden("solution_face_mesh")["astronaut/landmarks"][0] * 512.0
    portrait = make_portrait(face_photo("astronaut"), lm)
    renderer = AvatarRenderer(
        portrait.image, Rig(portrait.landmarks, portrait.size, image=portrait.image)
    )
    rng = np.random.default_rng(4)
    frame = np.full((SIZE[1], SIZE[0], 3), BACKGROUND, np.uint8)
    for i in range(n):
        t = i / FPS
        yaw = float(np.sin(2 * np.pi * t / 1.5))
        weights = {
            "yaw_right" if yaw > 0 else "yaw_left": abs(yaw),
            "jaw": 0.3 + 0.3 * float(np.sin(2 * np.pi * 4 * t)),
        }
        if 40 <= i < 44:
            weights["blink_left"] = weights["blink_right"] = 1.0
        frame[104:616, 384:896] = renderer.render(weights)
        yield noisy(frame, rng)


SEQUENCES: dict[str, Frames] = {
    "still": still,
    "demo": demo,
    "demo2x": lambda: demo(motion=2.0),
    "sweep": sweep,
    "hand": lambda: demo(n=HAND_SEQUENCE, hand=True),
    "turns": turns,
}


def track(
    frames: list[np.ndarray], meshed: list[int] | None = None, **settings: object
) -> tuple[list[np.ndarray], FaceTracker]:
    """Landmarks per frame; ``meshed`` gets the mesh runs so far after each frame."""
    stage = make_stage("face_tracker", dict(settings))
    assert isinstance(stage, FaceTracker)
    stage.open()
    out = []
    for i, image in enumerate(frames):
        ctx = FrameContext(timestamp=i / FPS, index=i)
        stage.process(image, ctx)
        face = ctx.primary_face
        assert face is not None and face.visibility == 1.0, f"face lost on frame {i}"
        out.append(face.landmarks[:, :2].copy())
        if meshed is not None:
            meshed.append(stage.mesh_runs)
    return out, stage


def gaps(a: list[np.ndarray], b: list[np.ndarray], keep: np.ndarray | None = None) -> np.ndarray:
    """Per frame after WARMUP (and where ``keep``): mean landmark distance in pixels."""
    gap = np.array([np.linalg.norm(x - y, axis=1).mean() for x, y in zip(a, b, strict=True)])
    if keep is None:
        keep = np.ones(len(gap), bool)
    return gap[WARMUP:][keep[WARMUP:]]


def step_rms(landmarks: list[np.ndarray]) -> float:
    s = np.array(landmarks[WARMUP:])
    return float(np.sqrt((np.diff(s, axis=0) ** 2).sum(-1).mean()))


@dataclass
class Runs:
    frames: list[np.ndarray]
    full_rate: list[np.ndarray]
    """Landmarks with the mesh on every frame."""
    reuse: list[np.ndarray]
    """Landmarks with the default settings (reuse on)."""
    mesh_runs: int
    """With reuse."""
    meshed: list[int]
    """With reuse: mesh runs up to each frame."""


@cache
def runs(name: str) -> Runs:
    """One sequence tracked both ways (cached per sequence so that each test's share of the
    work stays small: the suite's per-test timeout applies to it)."""
    assert FaceTrackerSettings().mesh_interval > 1
    frames = list(SEQUENCES[name]())
    full_rate, full = track(frames, mesh_interval=1)
    assert full.mesh_runs == len(frames)  # 1: the mesh on every frame, no carry
    meshed: list[int] = []
    reuse, stage = track(frames, meshed)
    return Runs(frames, full_rate, reuse, stage.mesh_runs, meshed)


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_reuse_keeps_the_landmarks_of_full_rate_tracking(name: str) -> None:
    r = runs(name)
    keep = uncovered(r.full_rate) if name == "hand" else None
    gap = gaps(r.reuse, r.full_rate, keep)
    if keep is not None:
        covered = np.percentile(gaps(r.reuse, r.full_rate, ~keep), 95)
        assert covered <= COVERED_P95_PX, f"covered frames: p95 {covered:.3f} px"
    assert np.median(gap) <= LANDMARK_MEDIAN_PX, f"{name}: median {np.median(gap):.3f} px"
    assert np.percentile(gap, 95) <= LANDMARK_P95_PX, f"{name}: p95 {np.percentile(gap, 95):.3f}"
    interval = FaceTrackerSettings().mesh_interval
    assert r.mesh_runs >= len(r.frames) / interval  # never more than interval - 1 carried
    if name == "demo":
        assert r.mesh_runs <= DEMO_MESH_SHARE * len(r.frames)
    if name == "still":
        assert r.mesh_runs <= STILL_MESH_SHARE * len(r.frames)
        assert step_rms(r.reuse) <= step_rms(r.full_rate) + JITTER_ADDED_PX


def test_hand_and_head_turns_make_the_mesh_run() -> None:
    # Head turns while talking are never rigid enough to carry; a hand over the face stops
    # carries from when it enters the face's crop until it has left.
    assert runs("turns").mesh_runs == len(runs("turns").frames)
    demo = runs("demo")
    assert runs("hand").meshed[len(demo.frames) - 1] >= demo.mesh_runs + 8


def test_a_blind_carry_fails_the_fidelity_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without its doubt checks, the carry holds the landmarks through the hand and the turns:
    # the statistics above must catch it.
    for name, value in (("MOVE_MAX", 1e9), ("CHANGE_MAX", 1e9), ("RESIDUAL_MAX", 1e9)):
        monkeypatch.setattr(carry, name, value)
    monkeypatch.setattr(carry, "FOLLOWED_MIN", 0.0)
    turns, hand = runs("turns"), runs("hand")
    landmarks, _ = track(turns.frames, mesh_interval=3)
    assert np.percentile(gaps(landmarks, turns.full_rate), 95) > 2 * LANDMARK_P95_PX
    landmarks, _ = track(hand.frames, mesh_interval=3)
    covered = ~uncovered(hand.full_rate)
    assert np.percentile(gaps(landmarks, hand.full_rate, covered), 95) > 2 * COVERED_P95_PX


def test_mesh_interval_is_bounded_and_new_tracks_run_the_mesh() -> None:
    from pipelines.errors import SettingsError

    for bad in (0, 4):
        with pytest.raises(SettingsError):
            FaceTrackerSettings(mesh_interval=bad).validate()
    frames = list(still(CARRY_AFTER))
    _, stage = track(frames, mesh_interval=3)
    assert stage.mesh_runs == CARRY_AFTER


def test_the_residual_percentile_is_numpys() -> None:
    # The carry's refusal threshold reads this percentile: NumPy's to the last bit.
    rng = np.random.default_rng(9)
    for n in range(1, 40):
        values = rng.random(n) * rng.choice([1e-3, 1.0, 1e3])
        for q in (0, 10, 50, 90, 95, 100):
            assert carry._percentile(values, q) == np.percentile(values, q)


@pytest.mark.parametrize("seed", NUDGE_SEEDS)
def test_the_hand_statistic_does_not_hinge_on_where_the_track_started(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sub-pixel change of the first detection (a cheaper detector resize, another machine's
    # rounding) changes both runs' crops from frame 0; under the hand the mesh's output is not
    # repeatable, and both runs remember it for a while. The counted frames must be those
    # where full-rate tracking is repeatable again, and reuse must meet the bounds from any
    # such start.
    from pipelines.tracking.detector import Detection, FaceDetector

    plain = runs("hand")
    detect = FaceDetector.detect
    rng = np.random.default_rng(seed)

    def nudge(a: np.ndarray) -> np.ndarray:
        return a + rng.uniform(-NUDGE_PX, NUDGE_PX, a.shape).astype(np.float32)

    def nudged(self: FaceDetector, *args: Any, **kwargs: Any) -> list[Detection]:
        found = detect(self, *args, **kwargs)
        for d in found:
            d.box, d.keypoints = nudge(d.box), nudge(d.keypoints)
        return found

    monkeypatch.setattr(FaceDetector, "detect", nudged)
    full_rate, full = track(plain.frames, mesh_interval=1)
    assert full.detector_runs == 1  # the nudge moved the track's start only
    reuse, _ = track(plain.frames)
    keep = uncovered(full_rate)
    repeat = np.percentile(gaps(full_rate, plain.full_rate, keep), 95)
    assert repeat <= REFERENCE_REPEAT_PX, f"full-rate against itself: p95 {repeat:.3f} px"
    gap = gaps(reuse, full_rate, keep)
    assert np.median(gap) <= LANDMARK_MEDIAN_PX, f"seed {seed}: median {np.median(gap):.3f} px"
    assert np.percentile(gap, 95) <= LANDMARK_P95_PX, f"p95 {np.percentile(gap, 95):.3f} px"


@pytest.mark.parametrize("name", ["still", "demo"])
def test_the_blocked_mesh_keeps_the_reference_meshs_landmarks(name: str) -> None:
    """The live tracker's blocked mesh against the reference conversion, the same statistic and
    bounds as reuse (issue 15: within 0.5 px of today). Its outputs differ by float rounding
    (< 5e-5 px of the 192-px input), but the tracker amplifies any such change through its
    thresholds (the ROI's motion prediction, the carry's checks): reference against reference
    with ±3e-5 of noise on its raw outputs spread as much (p95 0.08 px on the demo, 0.44 on head
    turns; the blocked mesh 0.06 and 0.13)."""
    r = runs(name)
    assert FaceTrackerSettings().mesh_graph == "blocked"
    reference, _ = track(r.frames, mesh_graph="reference")
    gap = gaps(r.reuse, reference)
    assert np.median(gap) <= LANDMARK_MEDIAN_PX, f"{name}: median {np.median(gap):.3f} px"
    assert np.percentile(gap, 95) <= LANDMARK_P95_PX, f"{name}: p95 {np.percentile(gap, 95):.3f}"


@pytest.mark.parametrize("change", [-40, 40])
def test_a_face_cell_darker_or_brighter_stops_the_carry(
    change: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The photometric check sees a face cell that changed either way (the cells' difference
    is absolute, not a saturating uint8 subtraction that loses one sign)."""
    frame = portrait_frame()
    tracker = FaceTracker(FaceTrackerSettings(mesh_interval=3))
    tracker.open()
    try:
        for i in range(CARRY_AFTER + 1):
            tracker.process(frame.copy(), FrameContext(timestamp=i / FPS, index=i))
        key = tracker._tracks[0].key
    finally:
        tracker.close()
    assert key is not None
    assert carry.carry(key, frame) is not None  # the key frame itself: no motion, no change
    # Sensor noise changes the cells by a level or two either way: still carried.
    assert carry.carry(key, noisy(frame, np.random.default_rng(4))) is not None
    # A small square on a cheek (a tenth of the face's width): a few cells, few corners.
    x, y = key.landmarks[205, :2].astype(int)  # right cheek
    changed = frame.astype(np.int16)
    changed[y - 12 : y + 12, x - 12 : x + 12] += change
    changed_frame = np.clip(changed, 0, 255).astype(np.uint8)
    assert carry.carry(key, changed_frame) is None
    monkeypatch.setattr(carry, "CHANGE_MAX", 1e9)
    assert carry.carry(key, changed_frame) is not None  # it was the cells that refused
