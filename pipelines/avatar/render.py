"""Per-frame rendering: weighted basis fields → one ``cv2.remap``, then the mouth interior.

Only the box that active bases touch is remapped; everything else is the portrait's own
pixels. With all weights zero the result *is* the portrait, bit for bit.

An open mouth is not stretched lips: inside the inner lip outline the renderer paints a dark
cavity (darker under the upper lip, a hint of tongue at the bottom when wide open) and a band
of upper teeth (and a fainter lower one), blended in by how much the opening grew.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipelines.avatar.rig import Rig
from pipelines.tracking import regions

INNER = np.array(regions.LIPS_INNER)
# Upper inner lip from corner to corner over the top; lower inner lip likewise.
_I308 = list(regions.LIPS_INNER).index(308)
UPPER_INNER = np.array(regions.LIPS_INNER[: _I308 + 1])
LOWER_INNER = np.array((regions.LIPS_INNER[_I308:] + regions.LIPS_INNER[:1])[::-1])

CAVITY_BGR = np.array([26, 16, 38], np.float32)
TONGUE_BGR = np.array([70, 62, 135], np.float32)
UPPER_TEETH_BGR = np.array([200, 210, 218], np.float32)
LOWER_TEETH_BGR = np.array([150, 160, 168], np.float32)
COARSE_BASES = ("yaw_right", "yaw_left", "pitch_up", "pitch_down", "roll_cw", "roll_ccw")
"""Head turns move large, smooth areas: their fields are kept and summed at half resolution
and upsampled once (their sum differs from the full-resolution one by < 0.1 px)."""
OPEN_FULL_AREA = 0.004
"""Extra mouth area (× face height²) at which the interior is fully painted."""


def polygon_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


class AvatarRenderer:
    def __init__(self, portrait: np.ndarray, rig: Rig) -> None:
        h, w = portrait.shape[:2]
        if (w, h) != rig.size:
            raise ValueError(f"portrait is {w}×{h} but the rig was built for {rig.size}")
        self.portrait = np.ascontiguousarray(portrait)
        self.rig = rig
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self.grid = np.dstack([gx, gy])
        self._inner_rest = rig.points[INNER]
        self.rest_mouth_area = polygon_area(self._inner_rest)
        self.face_h = rig.geometry.face_h
        self.down = rig.geometry.down.astype(np.float32)
        self.last_box: tuple[int, int, int, int] | None = None
        """The box remapped by the last render (None: nothing moved)."""
        self.last_mouth_box: tuple[int, int, int, int] | None = None
        coarse = [rig.bases[n] for n in COARSE_BASES if n in rig.bases]
        self.coarse_box: tuple[int, int, int, int] | None = None
        self.coarse: dict[str, np.ndarray] = {}
        if coarse:
            cx0 = min(b.x0 for b in coarse)
            cy0 = min(b.y0 for b in coarse)
            cx1 = max(b.box[2] for b in coarse)
            cy1 = max(b.box[3] for b in coarse)
            self.coarse_box = (cx0, cy0, cx1, cy1)
            half = ((cx1 - cx0 + 1) // 2, (cy1 - cy0 + 1) // 2)
            for b in coarse:
                full = np.zeros((cy1 - cy0, cx1 - cx0, 2), np.float32)
                bx0, by0, bx1, by1 = b.box
                full[by0 - cy0 : by1 - cy0, bx0 - cx0 : bx1 - cx0] = b.field
                self.coarse[b.name] = cv2.resize(full, half, interpolation=cv2.INTER_AREA)

    def render(self, weights: dict[str, float], out: np.ndarray | None = None) -> np.ndarray:
        """The portrait with the bases at ``weights`` (unknown names are ignored)."""
        active = [
            (self.rig.bases[name], float(wt))
            for name, wt in weights.items()
            if abs(wt) > 1e-4 and name in self.rig.bases
        ]
        if out is None:
            out = self.portrait.copy()
        else:
            np.copyto(out, self.portrait)
        self.last_box = None
        self.last_mouth_box = None
        if not active:
            return out
        fine = [(b, wt) for b, wt in active if b.name not in self.coarse]
        coarse = [(b, wt) for b, wt in active if b.name in self.coarse]
        boxes = [b.box for b, _ in fine]
        if coarse and self.coarse_box is not None:
            boxes.append(self.coarse_box)
        x0 = min(b[0] for b in boxes)
        y0 = min(b[1] for b in boxes)
        x1 = max(b[2] for b in boxes)
        y1 = max(b[3] for b in boxes)
        acc = self.grid[y0:y1, x0:x1].copy()
        if coarse and self.coarse_box is not None:
            cx0, cy0, cx1, cy1 = self.coarse_box
            small = coarse[0][1] * self.coarse[coarse[0][0].name]
            for basis, wt in coarse[1:]:
                small += wt * self.coarse[basis.name]
            view = acc[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
            view += cv2.resize(small, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_LINEAR)
        for basis, wt in fine:
            bx0, by0, bx1, by1 = basis.box
            view = acc[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0]
            view += wt * basis.field
        # (OpenCV's stubs miss that map2 may be None with a two-channel map1.)
        out[y0:y1, x0:x1] = cv2.remap(  # type: ignore[call-overload]
            self.portrait, acc, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        self.last_box = (x0, y0, x1, y1)
        self._mouth(out, weights)
        return out

    def mouth_outline(self, weights: dict[str, float]) -> np.ndarray:
        pts = self._inner_rest.copy()
        for name, wt in weights.items():
            basis = self.rig.bases.get(name)
            if basis is not None and wt:
                pts += wt * basis.vertex_disp[INNER]
        return pts

    def _mouth(self, out: np.ndarray, weights: dict[str, float]) -> None:
        pts = self.mouth_outline(weights)
        grown = polygon_area(pts) - self.rest_mouth_area
        alpha = float(np.clip(grown / (OPEN_FULL_AREA * self.face_h**2), 0.0, 1.0))
        if alpha <= 0.01:
            return
        h, w = out.shape[:2]
        x0 = max(0, int(np.floor(pts[:, 0].min())) - 2)
        y0 = max(0, int(np.floor(pts[:, 1].min())) - 2)
        x1 = min(w, int(np.ceil(pts[:, 0].max())) + 3)
        y1 = min(h, int(np.ceil(pts[:, 1].max())) + 3)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        self.last_mouth_box = (x0, y0, x1, y1)
        off = np.array([x0, y0], np.float32)
        rel = pts - off
        shift = 3
        scale = float(1 << shift)

        def poly_mask(poly: np.ndarray) -> np.ndarray:
            m = np.zeros((y1 - y0, x1 - x0), np.float32)
            cv2.fillPoly(m, [np.round(poly * scale).astype(np.int32)], 1.0, cv2.LINE_AA, shift)
            return m

        # Soft edge: the lips' inner rim shades into the cavity.
        mask = cv2.GaussianBlur(poly_mask(rel), (5, 5), 1.0)
        # The opening's height at the middle decides teeth and tongue.
        idx = {int(v): k for k, v in enumerate(INNER)}
        top, bottom = rel[idx[13]], rel[idx[14]]
        opening = float(np.linalg.norm(bottom - top))
        ys = np.arange(y1 - y0, dtype=np.float32)[:, None]
        # Cavity: dark, darkest under the upper lip, tongue colour rising from the bottom.
        t = np.clip((ys - top[1]) / max(opening, 1.0), 0.0, 1.0)
        tongue = np.clip((t - 0.55) / 0.45, 0.0, 1.0) * np.clip(
            opening / (0.08 * self.face_h), 0.0, 1.0
        )
        shade = (0.55 + 0.45 * t)[..., None]
        cav = CAVITY_BGR * shade + (TONGUE_BGR - CAVITY_BGR) * tongue[..., None] * 0.6
        cav = np.broadcast_to(cav, (y1 - y0, x1 - x0, 3)).copy()
        teeth_h = min(0.45 * opening, 0.04 * self.face_h)
        if teeth_h > 0.6:
            upper = np.array([rel[idx[int(i)]] for i in UPPER_INNER[2:-2]])
            band = np.concatenate([upper, (upper + teeth_h * self.down)[::-1]])
            tm = cv2.GaussianBlur(poly_mask(band), (3, 3), 0)[..., None]
            # Teeth catch light at the top and fall into shadow towards their edges.
            tt = np.clip((ys - top[1]) / max(teeth_h, 1.0), 0.0, 1.0)[..., None]
            xs = np.arange(x1 - x0, dtype=np.float32)[None, :, None]
            half_w = max(1.0, 0.5 * float(np.ptp(rel[:, 0])))
            side = np.clip(np.abs(xs - float(np.mean(rel[:, 0]))) / half_w, 0.0, 1.0)
            teeth = UPPER_TEETH_BGR * (1.0 - 0.25 * tt) * (1.0 - 0.45 * side**2)
            cav = cav * (1 - tm) + teeth * tm
            if opening > 0.05 * self.face_h:
                lower = np.array([rel[idx[int(i)]] for i in LOWER_INNER[3:-3]])
                lband = np.concatenate([lower, (lower - 0.35 * teeth_h * self.down)[::-1]])
                lm = cv2.GaussianBlur(poly_mask(lband), (3, 3), 0)[..., None] * 0.45
                cav = cav * (1 - lm) + LOWER_TEETH_BGR * lm
        a = (mask * alpha)[..., None]
        roi = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = np.clip(roi * (1 - a) + cav * a + 0.5, 0, 255).astype(np.uint8)
