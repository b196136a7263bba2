"""MediaPipe's iris model on the tracked eyes (:mod:`pipelines.tracking.iris`): its crop,
mirroring and back-projection, checked against the face mesh on the same photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from effects_support import golden_face

from pipelines.inference import load_model
from pipelines.tracking.iris import INNER, OUTER, IrisLandmark, eye_roi, track_eye
from pipelines.tracking.tracker import tracking_factory

AGREE_EYE_WIDTHS = 0.05
"""The iris model's corners and iris centre lie within this of MediaPipe's golden mesh points
(measured: 0.006-0.032 on the astronaut; without the mirror a corner is 0.83 away)."""


@pytest.mark.parametrize("turned", [0.0, 30.0])
def test_the_iris_model_finds_the_corners_and_irises_the_mesh_finds(turned: float) -> None:
    image, face, _ = golden_face("astronaut")
    lm = face.landmarks.astype(np.float64)[:, :2]
    if turned:  # the whole photo turned about the face: the crops turn with the eyes
        centre = tuple(float(v) for v in lm.mean(axis=0))
        m = cv2.getRotationMatrix2D(centre, turned, 1.0)
        image = cv2.warpAffine(image, m, image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
        lm = lm @ m[:, :2].T + m[:, 2]
    model = load_model(IrisLandmark, tracking_factory())
    for outer, inner, iris in ((33, 133, 468), (263, 362, 473)):
        width = float(np.linalg.norm(lm[outer] - lm[inner]))
        seen = track_eye(model, image, lm[outer], lm[inner])
        for got, want in ((seen.contour[OUTER], outer), (seen.contour[INNER], inner),
                          (seen.centre, iris)):  # fmt: skip
            off = float(np.linalg.norm(got - lm[want])) / width
            assert off <= AGREE_EYE_WIDTHS, (outer, want, off)
        assert 0.15 < seen.radius / width < 0.3


def test_the_crop_is_mediapipes() -> None:
    roi = eye_roi(np.array([10.0, 20.0]), np.array([30.0, 20.0]))
    assert (roi.cx, roi.cy, roi.width, roi.height) == pytest.approx((20.0, 20.0, 46.0, 46.0))
    assert roi.rotation == pytest.approx(0.0)
    # The corners' order does not matter; the crop turns with the eye.
    flipped = eye_roi(np.array([30.0, 20.0]), np.array([10.0, 20.0]))
    assert flipped.rotation == pytest.approx(0.0)
