"""The light and retouching stages write into a frame the stage before made for them
(``WRITABLE_IMAGE``, given by the engine) instead of copying it: the same bytes, frame after
frame of a moving face, and never into a frame that somebody else holds."""

from __future__ import annotations

import copy
from typing import Any

import cv2
import numpy as np
from test_beauty_retouch import golden_faces

from pipelines.beauty.light import LightColorSettings, LightColorStage
from pipelines.beauty.presets import NATURAL_BEAUTY, STUDIO_BEAUTY, STUDIO_LIGHT
from pipelines.beauty.stage import BeautySettings, BeautyStage
from pipelines.frame import FRESH_IMAGE, WRITABLE_IMAGE, FrameContext
from pipelines.tracking.types import Face

FRAMES = 8


def _moving(photo: str) -> list[tuple[np.ndarray, list[Face]]]:
    """The photo turned and shifted a little more each frame (about 1.5 px and 0.4° a frame,
    as the demo source moves), with its golden landmarks moved alike."""
    image, faces = golden_faces(photo)
    h, w = image.shape[:2]
    out = []
    for i in range(FRAMES):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.4 * i, 1.0 + 0.002 * i)
        m[:, 2] += (1.5 * i, 0.7 * i)
        frame = cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        moved = []
        for f in faces:
            lm = f.landmarks.copy()
            lm[:, :2] = lm[:, :2] @ m[:, :2].T.astype(np.float32) + m[:, 2].astype(np.float32)
            x0, y0 = lm[:, :2].min(axis=0)
            x1, y1 = lm[:, :2].max(axis=0)
            moved.append(Face(f.id, 1.0, (x0, y0, x1 - x0, y1 - y0), lm))
        out.append((frame, moved))
    return out


def _stages(beauty: dict[str, Any], all_faces: bool) -> tuple[LightColorStage, BeautyStage]:
    light = LightColorStage(LightColorSettings(**STUDIO_LIGHT))
    retouch = BeautyStage(BeautySettings(**{**beauty, "all_faces": all_faces}))
    for stage in (light, retouch):
        stage.open()
        stage.warm_up()
    return light, retouch


def _ctx(i: int, faces: list[Face]) -> FrameContext:
    return FrameContext(i / 30.0, i, faces=list(faces), primary_face=faces[0])


def _run(photo: str, beauty: dict[str, Any], all_faces: bool) -> None:
    if all_faces:
        assert len(golden_faces(photo)[1]) > 1
    copied = _stages(beauty, all_faces)
    in_place = _stages(beauty, all_faces)
    for i, (frame, faces) in enumerate(_moving(photo)):
        # Before: each stage copies or makes a new frame; its input is left as it was.
        light, retouch = copied
        ctx = _ctx(i, faces)
        before = frame.copy()
        lit = light.process(frame, ctx)
        ctx.pop(FRESH_IMAGE)  # as a stage between them that did not make it fresh
        lit_before = lit.copy()
        want = retouch.process(lit, ctx)
        assert want is not lit
        assert np.array_equal(frame, before) and np.array_equal(lit, lit_before)
        # In place: the blur's composite (a fresh array) handed on as the engine does.
        light, retouch = in_place
        ctx = _ctx(i, faces)
        given = frame.copy()
        held = given.copy()
        ctx.put(WRITABLE_IMAGE, given)
        lit = light.process(given, ctx)
        assert lit is given  # the lookup wrote into it
        assert ctx.pop(FRESH_IMAGE) is lit
        ctx.put(WRITABLE_IMAGE, lit)
        got = retouch.process(lit, ctx)
        if all_faces and len(faces) > 1:
            # One face's ROI may overlap another's retouched pixels: the frame is copied.
            assert got is not lit
        else:
            assert got is lit
        assert not np.array_equal(got, held)  # the effects did something
        assert np.array_equal(got, want), f"frame {i}: in place differs"


def test_studio_light_and_smoothing_in_place_give_the_same_bytes_on_a_moving_face() -> None:
    _run("astronaut", STUDIO_BEAUTY, all_faces=False)


def test_every_effect_reads_the_untouched_roi_when_written_in_place() -> None:
    # Under-eye, eye and teeth effects read the original ROI after the smoothing wrote.
    _run("astronaut", NATURAL_BEAUTY, all_faces=False)


def test_two_faces_are_retouched_on_a_copy() -> None:
    _run("two_faces", NATURAL_BEAUTY, all_faces=True)


def test_a_frame_the_engine_did_not_hand_over_is_never_written() -> None:
    (frame, faces), *_ = _moving("astronaut")
    light, retouch = _stages(STUDIO_BEAUTY, all_faces=False)
    held = frame.copy()
    ctx = _ctx(0, faces)
    # A stale grant for another array (an earlier stage's image) is not one for this frame.
    ctx.put(WRITABLE_IMAGE, copy.copy(frame))
    out = retouch.process(light.process(frame, ctx), ctx)
    assert np.array_equal(frame, held)
    assert out is not frame and not np.array_equal(out, held)
