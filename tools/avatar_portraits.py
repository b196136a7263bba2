"""Write the held-out talking-head test portraits derived from the public-domain photos in
``tests/data/faces/`` (see its README for the labels and licences).

    PYTHONPATH=. .venv/bin/python tools/avatar_portraits.py

* ``astronaut_glasses.jpg``: ``astronaut.jpg`` with a pair of dark glasses frames drawn on
  (two anti-aliased ellipses around the eyes and a bridge), so the lids must move inside
  rims that stay put.
* ``astronaut_midword.jpg``: ``astronaut_rot30.jpg`` with the jaw dropped by a thin-plate
  spline (a different warp from the avatar's triangle mesh) and the newly opened gap below
  the teeth filled dark, as a photo taken mid-word.

These were never used to tune the avatar: its figures on them are quoted separately.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pipelines.avatar.portrait import find_landmarks

FACES = Path(__file__).resolve().parent.parent / "tests" / "data" / "faces"
JPEG = [cv2.IMWRITE_JPEG_QUALITY, 90]


def glasses(image: np.ndarray) -> np.ndarray:
    lm = find_landmarks(image)[:, :2].astype(np.float64)
    out = image.copy()
    frame = (35, 30, 30)
    centres = []
    for a, b in ((33, 133), (263, 362)):
        c = (lm[a] + lm[b]) / 2.0
        w = float(np.linalg.norm(lm[a] - lm[b]))
        centres.append((c, w))
        cv2.ellipse(
            out,
            (int(c[0] * 16), int(c[1] * 16)),
            (int(1.0 * w * 16), int(0.72 * w * 16)),
            0,
            0,
            360,
            frame,
            2,
            cv2.LINE_AA,
            4,
        )
    (c0, w0), (c1, w1) = centres
    left = c0 + np.array([np.sign(c1[0] - c0[0]) * 1.0 * w0, -0.1 * w0])
    right = c1 - np.array([np.sign(c1[0] - c0[0]) * 1.0 * w1, 0.1 * w1])
    cv2.line(
        out,
        (int(left[0] * 16), int(left[1] * 16)),
        (int(right[0] * 16), int(right[1] * 16)),
        frame,
        2,
        cv2.LINE_AA,
        4,
    )
    return out


def thin_plate_map(src: np.ndarray, dst: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Backward map (output pixel → source) of the thin-plate spline taking dst to src."""

    def kernel(d2: np.ndarray) -> np.ndarray:
        return np.where(d2 > 0, 0.5 * d2 * np.log(d2 + 1e-12), 0.0)

    n = len(dst)
    k = kernel(((dst[:, None] - dst[None]) ** 2).sum(-1))
    p = np.hstack([np.ones((n, 1)), dst])
    a = np.zeros((n + 3, n + 3))
    a[:n, :n], a[:n, n:], a[n:, :n] = k, p, p.T
    b = np.zeros((n + 3, 2))
    b[:n] = src
    coef = np.linalg.solve(a, b)
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w]
    q = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    kq = kernel(((q[:, None] - dst[None]) ** 2).sum(-1))
    m = kq @ coef[:n] + np.hstack([np.ones((len(q), 1)), q]) @ coef[n:]
    return m.reshape(h, w, 2).astype(np.float32)


def midword(image: np.ndarray) -> np.ndarray:
    lm = find_landmarks(image)[:, :2].astype(np.float64)
    face_h = float(np.linalg.norm(lm[152] - lm[10]))
    down = (lm[152] - lm[10]) / face_h
    drop = 0.07 * face_h
    lips = (14, 87, 178, 317, 402, 17, 84, 314)
    chin = (152, 148, 377, 176, 400)
    src, dst = [], []
    for i in lips + chin:
        src.append(lm[i])
        dst.append(lm[i] + down * drop * (1.0 if i in lips else 0.6))
    for i in (13, 82, 312, 0, 37, 267, 61, 291, 1, 4, 33, 263, 10, 234, 454, 127, 356):
        src.append(lm[i])
        dst.append(lm[i])
    h, w = image.shape[:2]
    for x in (0, w - 1):
        for y in (0, h - 1):
            src.append([x, y])
            dst.append([x, y])
    m = thin_plate_map(np.array(src), np.array(dst), (w, h))
    out = cv2.remap(image, m[..., 0], m[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    # The newly opened gap: between where the lower lip was (the photo's teeth stay above
    # it) and where it is now.
    lower_lip = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
    was = np.array([lm[i] for i in lower_lip])
    now = np.array([lm[i] + down * drop * (0.0 if i in (78, 308) else 1.0) for i in lower_lip])
    gap = np.concatenate([was, now[::-1]])
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(gap * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    a = (cv2.GaussianBlur(mask, (0, 0), 1.0).astype(np.float32) / 255.0)[..., None] * 0.9
    dark = np.array([40, 35, 70], np.float32)
    return np.clip(out * (1 - a) + dark * a + 0.5, 0, 255).astype(np.uint8)


def main() -> None:
    astronaut = cv2.imread(str(FACES / "astronaut.jpg"))
    rotated = cv2.imread(str(FACES / "astronaut_rot30.jpg"))
    cv2.imwrite(str(FACES / "astronaut_glasses.jpg"), glasses(astronaut), JPEG)
    cv2.imwrite(str(FACES / "astronaut_midword.jpg"), midword(rotated), JPEG)
    print("wrote astronaut_glasses.jpg, astronaut_midword.jpg")


if __name__ == "__main__":
    main()
