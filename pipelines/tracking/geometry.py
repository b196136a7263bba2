"""Head pose: MediaPipe's face-geometry pipeline (weighted Procrustes fit of the canonical face).

The canonical face (``pipelines/assets/face_geometry``, cm, x right, y up, z toward the
viewer) is fitted to the tracked landmarks under a perspective camera, as MediaPipe's
``GeometryPipeline`` does: landmarks are put on the near plane, a first fit gives the face's
scale, which turns the mesh's relative depth into metric depth, the points are unprojected and
a second fit refines the scale; the final weighted orthogonal Procrustes fit over the 32 basis
landmarks gives the 4×4 canonical → camera transform (camera at the origin looking down −z,
OpenGL style).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from pipelines.errors import ModelError
from pipelines.tracking.types import HeadPose

ASSET_DIR = Path(__file__).resolve().parents[1] / "assets" / "face_geometry"
CANONICAL_OBJ = ASSET_DIR / "face_model_with_iris.obj"
GEOMETRY_PBTXT = ASSET_DIR / "geometry_pipeline_metadata_landmarks.pbtxt"

DEFAULT_VERTICAL_FOV = 63.0
"""MediaPipe's default perspective camera; close to a typical laptop webcam."""
NEAR = 1.0
NUM_MESH = 468


@dataclass(frozen=True)
class CanonicalFace:
    vertices: np.ndarray
    """478×3 float64, cm."""
    uv: np.ndarray
    """478×2 texture coordinates."""
    triangles: np.ndarray
    """T×3 int32 vertex indices."""
    basis_ids: np.ndarray
    """The 32 landmark ids of the Procrustes fit."""
    basis_weights: np.ndarray


@cache
def canonical_face() -> CanonicalFace:
    """The canonical face model and the Procrustes basis, read once."""
    vertices: list[list[float]] = []
    uv: list[list[float]] = []
    triangles: list[list[int]] = []
    try:
        obj_text = CANONICAL_OBJ.read_text()
        pbtxt_text = GEOMETRY_PBTXT.read_text()
    except OSError as exc:
        raise ModelError(
            f"face geometry file {exc.filename} is unreadable ({exc.strerror}); reinstall camfx"
        ) from exc
    for line in obj_text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            vertices.append([float(v) for v in parts[1:4]])
        elif parts[0] == "vt":
            uv.append([float(v) for v in parts[1:3]])
        elif parts[0] == "f":
            triangles.append([int(p.split("/")[0]) - 1 for p in parts[1:4]])
    basis = re.findall(
        r"procrustes_landmark_basis\s*\{\s*landmark_id:\s*(\d+)\s+weight:\s*([\d.eE+-]+)",
        pbtxt_text,
    )
    return CanonicalFace(
        vertices=np.asarray(vertices, np.float64),
        uv=np.asarray(uv, np.float64),
        triangles=np.asarray(triangles, np.int32),
        basis_ids=np.asarray([int(i) for i, _ in basis], np.int64),
        basis_weights=np.asarray([float(w) for _, w in basis], np.float64),
    )


def weighted_procrustes(source: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """4×4 similarity transform (s·R, t) minimising Σ wᵢ‖s·R·srcᵢ + t − tgtᵢ‖²; N×3 inputs.

    Same algebra as MediaPipe's FloatPrecisionProcrustesSolver (SVD of the weighted design
    matrix, reflection removed, closed-form scale and translation).
    """
    w = weights / weights.sum()
    src_mean = w @ source
    tgt_mean = w @ target
    src_c = source - src_mean
    design = (target * w[:, None]).T @ src_c
    u, _, vt = np.linalg.svd(design)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        u[:, 2] *= -1.0
    rot = u @ vt
    numerator = np.sum((src_c @ rot.T) * target * w[:, None])
    scale = float(numerator / np.sum(src_c * source * w[:, None]))
    out = np.eye(4)
    out[:3, :3] = scale * rot
    out[:3, 3] = tgt_mean - scale * rot @ src_mean
    return out


@dataclass(frozen=True)
class PerspectiveCamera:
    """A pinhole camera with a vertical field of view, over a frame of ``width``×``height``."""

    width: int
    height: int
    vertical_fov: float = DEFAULT_VERTICAL_FOV

    @property
    def near_height(self) -> float:
        return 2.0 * NEAR * math.tan(math.radians(self.vertical_fov) / 2.0)

    @property
    def near_width(self) -> float:
        return self.near_height * self.width / self.height

    @property
    def focal_px(self) -> float:
        """Focal length in pixels."""
        return self.height / 2.0 / math.tan(math.radians(self.vertical_fov) / 2.0)

    def project(self, points: np.ndarray) -> np.ndarray:
        """Camera-space N×3 (−z in front) → image pixels N×2."""
        f = self.focal_px
        depth = -points[:, 2]
        x = self.width / 2.0 + f * points[:, 0] / depth
        y = self.height / 2.0 - f * points[:, 1] / depth
        return np.stack([x, y], axis=1)


@dataclass(frozen=True)
class _Basis:
    """The canonical side of the Procrustes fit, computed once."""

    ids: np.ndarray
    weights: np.ndarray
    """32×1, summing to 1."""
    centred: np.ndarray
    """Canonical basis points minus their weighted mean."""
    weighted: np.ndarray
    """``weights * centred``: the design matrix is then one 3×32 @ 32×3 product."""
    mean: np.ndarray
    denominator: float


@cache
def _basis() -> _Basis:
    face = canonical_face()
    w = (face.basis_weights / face.basis_weights.sum())[:, None]
    src = face.vertices[face.basis_ids]
    mean = (w * src).sum(axis=0)
    centred = src - mean
    return _Basis(face.basis_ids, w, centred, w * centred, mean, float(np.sum(centred * src * w)))


def _det3(m: np.ndarray) -> float:
    """Determinant of a 3×3 matrix in plain floats (np.linalg.det's call costs 10 µs)."""
    (a, b, c), (d, e, f), (g, h, i) = m.tolist()
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def _rotation_and_scale(target: np.ndarray) -> tuple[np.ndarray, float]:
    """The rotation and scale of :func:`weighted_procrustes` from the canonical basis to
    ``target`` (32×3).

    The design matrix D = Σ wᵢ tᵢ cᵢᵀ; the scale's numerator Σ wᵢ (R cᵢ)·tᵢ equals Σ R∘D,
    so it needs no pass over the points after the SVD.
    """
    b = _basis()
    design = target.T @ b.weighted
    u, _, vt = np.linalg.svd(design)
    rot = u @ vt
    if _det3(rot) < 0:
        u[:, 2] *= -1.0
        rot = u @ vt
    return rot, float(np.sum(rot * design)) / b.denominator


def _fit_canonical(target: np.ndarray) -> np.ndarray:
    """:func:`weighted_procrustes` from the canonical basis to ``target`` (32×3), fast path."""
    b = _basis()
    rot, scale = _rotation_and_scale(target)
    out = np.eye(4)
    out[:3, :3] = scale * rot
    out[:3, 3] = b.weights[:, 0] @ target - scale * (rot @ b.mean)
    return out


def _near_plane(landmarks_px: np.ndarray, cam: PerspectiveCamera) -> np.ndarray:
    """Pixel landmarks (z scaled like x) → near-plane coordinates (MediaPipe's ProjectXY)."""
    sx = cam.near_width / cam.width
    out = np.empty((landmarks_px.shape[0], 3), np.float64)
    out[:, 0] = landmarks_px[:, 0] * sx - cam.near_width / 2.0
    out[:, 1] = (1.0 - landmarks_px[:, 1] / cam.height) * cam.near_height - cam.near_height / 2.0
    out[:, 2] = landmarks_px[:, 2] * sx
    return out


def _unproject(near: np.ndarray, depth_offset: float, scale: float) -> np.ndarray:
    """MoveAndRescaleZ + UnprojectXY + ChangeHandedness."""
    out = np.empty_like(near)
    z = (near[:, 2] - depth_offset + NEAR) / scale
    out[:, :2] = near[:, :2] * (z / NEAR)[:, None]
    out[:, 2] = -z
    return out


def fit_transform(landmarks_px: np.ndarray, cam: PerspectiveCamera) -> np.ndarray:
    """4×4 canonical face (cm) → camera space, from ≥468 pixel landmarks (x, y, z).

    The first two fits give only scales (a rotation's column has norm 1, so the scale is the
    fit's own); the third gives the transform.
    """
    ids = _basis().ids
    lm = np.asarray(landmarks_px)
    # Only the basis points enter the fits; the depth offset is the mean over the whole mesh.
    depth_offset = float(lm[:NUM_MESH, 2].mean()) * cam.near_width / cam.width
    near = _near_plane(lm[ids].astype(np.float64), cam)
    first = near.copy()
    first[:, 2] *= -1.0
    s1 = abs(_rotation_and_scale(first)[1])
    s2 = abs(_rotation_and_scale(_unproject(near, depth_offset, s1))[1])
    return _fit_canonical(_unproject(near, depth_offset, s1 * s2))


def rotation_to_angles(rot: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) degrees of a camera-space rotation, as :class:`HeadPose` defines them.

    Decomposed as R = R_z(−roll) · R_y(yaw) · R_x(−pitch): the head's turn (yaw, towards the
    image's right) and nod (pitch, up), then the roll about the camera's axis (clockwise on
    screen). Roll last means turning the picture about its centre changes the roll alone.
    """
    r = rot / np.linalg.norm(rot[:, 0])
    yaw = math.degrees(math.asin(float(np.clip(-r[2, 0], -1.0, 1.0))))
    pitch = -math.degrees(math.atan2(r[2, 1], r[2, 2]))
    roll = -math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return yaw, pitch, roll


def angles_to_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Inverse of :func:`rotation_to_angles`."""
    a, b, c = math.radians(yaw), math.radians(-pitch), math.radians(-roll)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def head_pose(landmarks_px: np.ndarray, cam: PerspectiveCamera) -> HeadPose:
    transform = fit_transform(landmarks_px, cam)
    yaw, pitch, roll = rotation_to_angles(transform[:3, :3])
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll, transform=transform)


def facing_angle(transform: np.ndarray) -> float:
    """Degrees between where the face points and the direction to the camera.

    Unlike yaw/pitch (camera-axis angles), this is 0 for a face off to the side of the frame
    that looks straight into the lens, which is what "looking at the camera" means.
    """
    # Plain floats: a handful of NumPy calls on 3-vectors cost 15 µs a face.
    (r0, r1, r2) = transform[:3].tolist()
    fx, fy, fz = r0[2], r1[2], r2[2]
    tx, ty, tz = -r0[3], -r1[3], -r2[3]
    norm = math.sqrt(tx * tx + ty * ty + tz * tz)
    if norm < 1e-9:
        return 0.0
    f = math.sqrt(fx * fx + fy * fy + fz * fz)
    cos = min(max((fx * tx + fy * ty + fz * tz) / (f * norm), -1.0), 1.0)
    return math.degrees(math.acos(cos))
