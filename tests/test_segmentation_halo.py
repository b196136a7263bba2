"""No halo of the old room around the person over a flat new background.

A flat colour shows what a blur hides: where the mask stays above 0 over the room beside the
person, the room shows through at that strength (a light fringe beside pale hair, a flag's
white stripe as cyan blotches along an orange sleeve: QA, background-color on astronaut.jpg).
The scene here is the astronaut cut out with a hard edge (MediaPipe's own mask at 0.5) over a
room of red and white stripes beside a pale wall, so where the person ends is known exactly:
the pixels a few pixels outside that outline should be the chosen colour.
"""

from __future__ import annotations

import cv2
import numpy as np
from engine_support import run_stages
from golden_data import face_photo, load_golden

from pipelines.frame import FrameContext
from pipelines.presets import build_stages, get_preset
from pipelines.segmentation.background import (
    BackgroundReplace,
    BackgroundReplaceSettings,
    parse_color,
)

FRAME_W, FRAME_H = 1280, 720
STRIPE_PX = 48
"""The flag's stripes (diagonal, red and white), as wide as on astronaut.jpg at 720p."""
INNER_PX = 4
OUTER_PX = 16
"""The band beside the person whose pixels the fringe is measured on: from INNER_PX to
OUTER_PX outside the true outline (a hard edge: nothing there is person)."""
WALL_FRINGE_MEAN_MAX = 4.0
WALL_FRINGE_P95_MAX = 16.0
"""Beside the pale wall (the frame's right half: hair and shoulder), the band's pixels'
distance from the colour (grey levels, largest channel): mean and 95th percentile. Before the
colour matte (pipelines/segmentation/colour_matte.py) 11.0 and 38, after 1.5 and 8
(2026-12-06)."""
GHOST_LEVELS = 4
GHOST_PX_MAX = 3300
"""Pixels farther than OUTER_PX from the person that are more than GHOST_LEVELS off the
colour: 3642 before, 2959 after. Most of what is left is the network's own: unsure over the
diagonal stripes beside the left shoulder (0.4-0.7 over a stripe's width, with no sure room
near to compare with), it keeps stripes and drops part of the shoulder; the band there
(mean 32.6 before, 30.9 after) is not bounded here."""
STILL_FRAMES = 4
COLOUR_OVERSHOOT_MAX = 2
"""Levels by which an outline pixel may leave the range between the person's colour and the
new one (rounding). Before the halo term's clamp: 11 (white hair before a yellow wall came out
sky blue: biden.jpg)."""
PERSON_SCALE = 1.3
PERSON_TOP_PX = 20.0


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """The frame and the person's true (hard) mask at its size: head and shoulders, as a
    webcam sees them (the whole photo's mission patch reads as a second, larger face to the
    face detector, and only-me then keeps the arm)."""
    person = face_photo("astronaut")
    alpha = load_golden("solution_selfie_segmentation")["astronaut/model0"].astype(np.float32)
    scale = PERSON_SCALE * FRAME_H / person.shape[0]
    x0 = FRAME_W / 2 - person.shape[1] * scale / 2
    warp = np.array([[scale, 0.0, x0], [0.0, scale, PERSON_TOP_PX]], np.float32)
    size = (FRAME_W, FRAME_H)
    placed = cv2.warpAffine(person, warp, size, flags=cv2.INTER_AREA)
    cover = cv2.warpAffine(np.ones(person.shape[:2], np.float32), warp, size)
    hard = cv2.warpAffine(alpha, warp, size) > 0.5
    truth = (hard & (cover > 0.99)).astype(np.uint8)
    yy, xx = np.mgrid[0:FRAME_H, 0:FRAME_W]
    stripes = ((xx + yy) // STRIPE_PX) % 2 == 0
    room = np.empty((FRAME_H, FRAME_W, 3), np.uint8)
    room[:] = (200, 205, 212)  # a pale wall
    flag = xx < FRAME_W // 2
    room[flag & stripes] = (40, 30, 170)
    room[flag & ~stripes] = (235, 235, 240)
    inside = truth > 0
    frame = room.copy()
    frame[inside] = placed[inside]
    # The camera's own softness at the outline (a real edge is never one pixel sharp).
    soft = cv2.GaussianBlur(frame, (3, 3), 0)
    frame[~inside] = soft[~inside]
    return frame, truth


def _ring(truth: np.ndarray, inner: int, outer: int) -> np.ndarray:
    def grow(px: int) -> np.ndarray:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
        return cv2.dilate(truth, kernel) > 0

    return grow(outer) & ~grow(inner) if inner > 0 else grow(outer)


def test_background_color_has_no_fringe_of_the_old_room() -> None:
    frame, truth = _scene()
    stages = build_stages(get_preset("background-color"))
    colour = np.array(parse_color(stages[-1].settings.color), np.int16)
    out, _ = run_stages(stages, [frame] * STILL_FRAMES)[-1]
    off = np.abs(out.astype(np.int16) - colour).max(axis=2)
    band = _ring(truth, INNER_PX, OUTER_PX)
    band[:, : FRAME_W // 2] = False  # the wall's side
    fringe = off[band]
    assert float(fringe.mean()) <= WALL_FRINGE_MEAN_MAX, float(fringe.mean())
    worst = float(np.percentile(fringe, 95))
    assert worst <= WALL_FRINGE_P95_MAX, worst
    far = ~_ring(truth, 0, OUTER_PX)
    ghost = int(np.count_nonzero(off[far] > GHOST_LEVELS))
    assert ghost <= GHOST_PX_MAX, ghost


def test_halo_removal_never_makes_a_colour_the_person_and_the_background_lack() -> None:
    """White hair before a yellow wall, with a mask that says only half person over it (the
    network's soft edge lies over the hair): the halo removal takes out (1 − m)·yellow and
    divides by m, a "person" bluer than white; each outline pixel must stay between the
    hair's colour and the new background's, channel by channel."""
    h, w = 96, 160
    wall, hair = (40, 200, 230), (235, 235, 235)
    image = np.empty((h, w, 3), np.uint8)
    image[:, : w // 2] = wall
    image[:, w // 2 :] = hair
    # The mask rises from 0 to 1 over the hair's first 24 pixels: under-estimated there.
    ramp = np.clip((np.arange(w, dtype=np.float32) - w // 2) / 24.0, 0.0, 1.0)
    mask = np.repeat(ramp[None, :], h, axis=0)
    stage = BackgroundReplace(
        BackgroundReplaceSettings(mode="color", color="#2d6a4f", light_wrap=0.0)
    )
    ctx = FrameContext(timestamp=0.0, index=0)
    ctx.mask = mask
    out = stage.process(image, ctx).astype(np.int16)
    new = np.array(parse_color("#2d6a4f"), np.int16)
    person = np.array(hair, np.int16)
    low, high = np.minimum(new, person), np.maximum(new, person)
    band = out[:, w // 2 : w // 2 + 24]
    beyond = np.maximum(band - high, low - band).max()
    assert int(beyond) <= COLOUR_OVERSHOOT_MAX, int(beyond)
