"""Avatars of tests/data/faces built once a test session, shared by the test files.

The same portrait was built by several files' fixtures and tests (astronaut six times,
cameraman four, a build 1-5 s on 2 cores). A build is deterministic, and every test handed
one here only reads it: renders (each render is computed from its weights alone; the
renderer keeps only its last frame's box and map, which the tests read right after their own
render), measures and reads the rig. A test that changes an avatar, its rig or its renderer
(monkeypatching a renderer's drawing, building under a patched module) builds its own
(:func:`build_anew`); one that only rebuilds the lids (``rig.set_lid_depth``,
``lids.settle_lids``) may share the build inside :func:`lids_kept`, which puts the build's own
lids back. What a build logged is kept with it (:func:`build_said`) for the tests of what a
build says. Run alone, a test builds the avatar here itself, the same avatar.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pipelines.avatar.portrait import (
    Portrait,
    find_landmarks,
    load_portrait,
    make_portrait,
    read_image,
)
from pipelines.avatar.rig import LEVEL_BASES
from pipelines.avatar.stage import Avatar

FACES = Path(__file__).resolve().parent / "data" / "faces"


BUILD_LOGGER = "pipelines.avatar"
"""The logger the build's messages come under (its warnings reach a user's terminal)."""


@functools.cache
def _built_and_said(name: str, retrack: bool) -> tuple[Avatar, tuple[logging.LogRecord, ...]]:
    # The build's own messages are kept beside it, so that a test of what a build says can
    # share it too (the build warning test's turned head: 5 s of a build made elsewhere).
    # Kept as caplog.at_level(logging.INFO, logger=BUILD_LOGGER) keeps them: at the root, the
    # build's logger let down to INFO, every other logger at its own level.
    logger, root = logging.getLogger(BUILD_LOGGER), logging.getLogger()
    said = _Kept(logging.INFO)
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:  # never raised: a test's DEBUG stays
        logger.setLevel(logging.INFO)
    root.addHandler(said)
    try:
        avatar = build_anew(name, retrack)
    finally:
        root.removeHandler(said)
        logger.setLevel(level)
    return avatar, tuple(said.records)


class _Kept(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def build_anew(name: str, retrack: bool = True) -> Avatar:
    """The same build, not shared: for a test that builds under a patched module."""
    return Avatar.build(load_portrait(FACES / f"{name}.jpg"), retrack=retrack)


def built(name: str, retrack: bool = True) -> Avatar:
    """``Avatar.build(load_portrait(FACES / f"{name}.jpg"), retrack=retrack)``, once."""
    return _built_and_said(name, retrack)[0]


@functools.cache
def built_darkened(name: str, gamma: float, variant: str) -> Avatar:
    """``name``'s photo darkened as tools/avatar_sweep.py's ``dim`` and ``dark`` variants
    (each channel's light, 0-1, to ``gamma``), found and built as the stage finds and builds
    it, once (canonman_turned's ``dark``: the dark-photo blink and mouth tests, 4-5 s each)."""
    image = read_image(FACES / f"{name}.jpg")
    image = np.clip(255.0 * (image / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
    found = find_landmarks(image, search=True)
    return Avatar.build(make_portrait(image, found, source=f"{name}:{variant}"))


SQUINT = 0.75
"""How far shut (0 open, 1 shut) the lids of a squinting portrait made from a tuning photo are
(:func:`squinting_portrait`; tools/squint_floor.py): the tracker reads such eyes at 0.07-0.12 of
their width, the held-out laughing ``mariachi_grin``'s kind."""


@functools.cache
def squinting_portrait(name: str, closure: float = SQUINT) -> Portrait:
    """``name``'s photo made to squint by its own avatar (rendered with both lids ``closure``
    shut and smiling, a laugh's eyes), found as the stage finds a photo, once a session."""
    image = (
        built(name)
        .renderer.render({"blink_left": closure, "blink_right": closure, "smile": 1.0})
        .copy()
    )
    found = find_landmarks(image, search=True)
    return make_portrait(image, found, source=f"{name}:squint{closure:g}")


@functools.cache
def built_squinting(name: str, closure: float = SQUINT) -> Avatar:
    """:func:`squinting_portrait` built as the stage builds a portrait, once a session."""
    return Avatar.build(squinting_portrait(name, closure))


CHEEK_RAISE = 0.6
"""How far a laughing portrait's cheeks push its lower lids up, in shares of the eye's opening
(:func:`laughing_portrait`)."""


@functools.cache
def laughing_portrait(
    name: str, share: float = CHEEK_RAISE, pose: tuple[tuple[str, float], ...] = ()
) -> Portrait:
    """``name``'s photo made to laugh by its own avatar (smiling, the jaw 0.3 open, the lids 0.3
    shut; ``pose``: also these head motions, e.g. ``(("pitch_down", 0.6),)``), then each lower
    lid pushed up by the cheek by ``share`` of the eye's opening at its middle (the skin below
    it following, with a zero slope where it ends), found as the stage finds a photo, once a
    session: a laugh's narrowed eyes, which read above rest_eyes.SQUINT_OPEN (riga_turned:
    0.14)."""
    import cv2

    from pipelines.avatar.rest_eyes import eye_frame, eye_profile
    from pipelines.tracking import regions

    image = (
        built(name)
        .renderer.render(
            {"smile": 1.0, "jaw": 0.3, "blink_left": 0.3, "blink_right": 0.3, **dict(pose)}
        )
        .copy()
    )
    lm = np.asarray(find_landmarks(image, search=True), np.float64)
    h, w = image.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    mx, my = gx.astype(np.float32), gy.astype(np.float32)
    for ring in (regions.RIGHT_EYE, regions.LEFT_EYE):
        f = eye_frame(lm, ring)
        us = np.linspace(0.0, f.width, 64)
        opening = float(np.max(f.upper(us) - f.lower(us)))
        rise = share * opening * eye_profile(us / f.width) ** 0.7
        u, v = f.to_uv(gx, gy)
        c = np.interp(u, us, rise, left=0.0, right=0.0)
        low = f.lower(u)
        reach = 1.6 * opening
        below = (v < low + c) & (v > low - reach) & (c > 1e-3)
        x = np.clip((low + c - v) / max(reach, 1.0), 0.0, 1.0)
        sx, sy = f.to_xy(u, v - c * (1.0 - x) ** 2)
        mx = np.where(below, sx, mx).astype(np.float32)
        my = np.where(below, sy, my).astype(np.float32)
    image = cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    found = find_landmarks(image, search=True)
    posed = "".join(f"+{motion}{weight:g}" for motion, weight in pose)
    return make_portrait(image, found, source=f"{name}:laugh{share:g}{posed}")


@functools.cache
def built_laughing(name: str, share: float = CHEEK_RAISE) -> Avatar:
    """:func:`laughing_portrait` built as the stage builds a portrait, once a session."""
    return Avatar.build(laughing_portrait(name, share))


def blink_sweep_tears(
    avatar: Avatar, poses: tuple[dict[str, float], ...], steps: int = 20
) -> list[tuple[tuple[str, ...], float, int]]:
    """(pose's motions, closure, tear pixels) of every torn frame of a blink swept from open
    to shut in ``steps`` even closures under each of ``poses``
    (:func:`~pipelines.avatar.measure.tears_in`); empty: nothing tore."""
    from pipelines.avatar.measure import aperture_mask, last_backward, tears_in
    from pipelines.tracking import regions

    holes = aperture_mask(avatar.rig.points[: regions.NUM_LANDMARKS], avatar.rig.size)
    torn = []
    for pose in poses:
        for closure in np.linspace(1.0 / steps, 1.0, steps):
            weights = {**pose, "blink_left": float(closure), "blink_right": float(closure)}
            frame = avatar.renderer.render(weights)
            found = tears_in(avatar, weights, frame, last_backward(avatar.renderer), holes=holes)
            if found.any():
                torn.append((tuple(pose), round(float(closure), 2), int(found.sum())))
    return torn


BRIM_REACH = 0.7
"""How far down from the brows toward the eyes a hat brim's shade reaches (its middle), in
shares of the brows-to-eyes distance."""
BRIM_DARK = 0.5
"""The share of the light the brim's shade takes above it."""
BRIM_SOFT = 1.2
"""The shade's soft edge, as wide as this many brows-to-eyes distances."""
DEEP_BRIM = (1.0, 0.6, 0.8)
"""(reach, dark, soft) of a brim pulled lower: its shade's middle on the eyes' line, 0.6 dark,
a sharper edge (the socket-lit lids' reading line, lids.SOCKET_LIT_READ_SHUT)."""


@functools.cache
def built_under_brim(
    name: str, reach: float = BRIM_REACH, dark: float = BRIM_DARK, soft_share: float = BRIM_SOFT
) -> Avatar:
    """``name``'s photo made grey, with a hat brim's soft shade from above down over the brows
    and the upper lids (by default :data:`BRIM_REACH`, :data:`BRIM_DARK`, :data:`BRIM_SOFT`;
    :data:`DEEP_BRIM` lower): a socket in shadow over a lit lower lid and cheek (issue 13's
    held-out ``macbeth_hat`` is "black and white, a hat brim over the brows"; this stands for
    that kind, made from tuning photos), found as the stage finds it and built, once a
    session."""
    import cv2

    from pipelines.tracking import regions

    image = read_image(FACES / f"{name}.jpg")
    lm = np.asarray(find_landmarks(image, search=True), np.float32)
    grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    brows = float(lm[list(regions.RIGHT_BROW) + list(regions.LEFT_BROW), 1].mean())
    eyes = float(lm[list(regions.RIGHT_EYE) + list(regions.LEFT_EYE), 1].mean())
    edge = brows + reach * (eyes - brows)
    rows = np.arange(image.shape[0], dtype=np.float32)[:, None, None]
    soft = max(2.0, soft_share * (eyes - brows))
    light = 1.0 - dark * np.clip((edge - rows) / soft + 0.5, 0.0, 1.0)
    # (Rounded to the nearest level: DEEP_BRIM's socket-lit reading moves 0.418 -> 0.465 with
    # the levels cut down instead, across lids.SOCKET_LIT_READ_SHUT.)
    image = np.clip(grey * light + 0.5, 0, 255).astype(np.uint8)
    found = find_landmarks(image, search=True)
    return Avatar.build(
        make_portrait(image, found, source=f"{name}:under_brim{reach:g},{dark:g},{soft_share:g}")
    )


def _tools() -> None:
    """tools/ on the import path (its sweeps' and portraits' own helpers are used here)."""
    import sys

    tools = str(FACES.parents[2] / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)


@functools.cache
def built_jittered(name: str, sigma_px: float, seed: int) -> Avatar:
    """``name``'s photo found as the stage finds it, its landmarks then moved by Gaussian noise
    of ``sigma_px`` pixels as tools/avatar_sweep.py ``--jitter`` moves them (``jittered``: the
    tracker's own noise from a photo to a near copy of it), and built, once a session."""
    _tools()
    from avatar_sweep import jittered

    image = read_image(FACES / f"{name}.jpg")
    found = jittered(np.asarray(find_landmarks(image, search=True), np.float32), sigma_px, seed)
    return Avatar.build(make_portrait(image, found, source=f"{name}:jittered{seed}"))


@functools.cache
def built_printed(name: str, roll_degrees: float, sigma_px: float, seed: int) -> Avatar:
    """``name``'s photo as a photographed black-and-white print (tools/weak_jaw_search.py's
    ``print``: grey, low contrast, paper grain, a slight blur, JPEG), rolled ``roll_degrees``
    about the face's centre (tools/avatar_sweep.py's ``rolled``), found as the stage finds it,
    its landmarks moved as :func:`built_jittered` moves them, and built, once a session."""
    _tools()
    from avatar_sweep import jittered, rolled
    from weak_jaw_search import PRINT

    image = read_image(FACES / f"{name}.jpg")
    found = np.asarray(find_landmarks(image, search=True), np.float32)
    image = rolled(roll_degrees)(PRINT(image, found), found)
    found = jittered(np.asarray(find_landmarks(image, search=True), np.float32), sigma_px, seed)
    return Avatar.build(make_portrait(image, found, source=f"{name}:printed{roll_degrees:g}"))


@functools.cache
def built_search_variant(name: str, variant: str, sigma_px: float, seed: int) -> Avatar:
    """``name``'s photo made into tools/weak_jaw_search.py's ``variant`` (a photographed print,
    halftone, scaled, rolled), found as the stage finds it, its landmarks moved as
    :func:`built_jittered` moves them, and built, once a session (as the search builds it)."""
    _tools()
    from avatar_sweep import jittered, source_photo
    from weak_jaw_search import VARIANTS

    source, lm = source_photo(name)
    image = VARIANTS[variant](source, lm)
    found = jittered(np.asarray(find_landmarks(image, search=True), np.float32), sigma_px, seed)
    return Avatar.build(make_portrait(image, found, source=f"{name}:{variant}"))


@functools.cache
def built_print_edge(name: str, degrees: float, ground: int) -> Avatar:
    """``name``'s photo as a photographed print turned ``degrees`` on a ``ground`` grey, its
    edge across a top corner (tools/print_edge_jaw.py's ``on_ground``: issue 13's ``kwong_bw``
    kind), found as the stage finds it and built, once a session."""
    _tools()
    from avatar_sweep import source_photo
    from print_edge_jaw import on_ground
    from weak_jaw_search import PRINT

    photo, found = source_photo(name)
    image = on_ground(PRINT(photo, found), degrees, ground)
    found = find_landmarks(image, search=True)
    return Avatar.build(make_portrait(image, found, source=f"{name}:print_edge{degrees:g}"))


@functools.cache
def built_turned(name: str, degrees: float, sigma_px: float = 0.0, seed: int = 0) -> Avatar:
    """``name``'s photo turned ``degrees`` further to its left as tools/avatar_portraits.py
    turns its tuning portraits (``turned``, the far side crowding at ``TURNED_HIDE``), found
    as the stage finds it (its landmarks then moved as :func:`built_jittered` moves them, where
    ``sigma_px`` > 0) and built, once a session: a head turned past every turned tuning
    portrait, as a held-out one may be."""
    _tools()
    from avatar_portraits import TURNED_HIDE, turned
    from avatar_sweep import jittered

    image = turned(read_image(FACES / f"{name}.jpg"), degrees, TURNED_HIDE)
    found = jittered(np.asarray(find_landmarks(image, search=True), np.float32), sigma_px, seed)
    return Avatar.build(make_portrait(image, found, source=f"{name}:turned{degrees:g}"))


def build_said(name: str, retrack: bool = True) -> tuple[logging.LogRecord, ...]:
    """What :func:`built`'s build of ``name`` logged, as ``caplog.records`` holds it with
    ``caplog.at_level(logging.INFO, logger=BUILD_LOGGER)`` around the build."""
    return _built_and_said(name, retrack)[1]


@functools.cache
def posed_blink_ratios(name: str, count: int = 8, seed: int = 7) -> tuple[float, ...]:
    """``blink_ratios_under_poses(built(name), count, seed)``, once a session: it renders and
    tracks the shared build alone (a fresh tracker, the same poses), so it is the same each
    time it is asked, and two tests ask it of astronaut_rims (0.4 s each)."""
    from pipelines.avatar.measure import blink_ratios_under_poses

    return tuple(blink_ratios_under_poses(built(name), count, seed))


@functools.cache
def posed_blinks_seen(name: str, count: int = 8, seed: int = 7) -> tuple[int, int]:
    """``blinks_under_poses(built(name), count, seed)``, once a session (as
    :func:`posed_blink_ratios`; the held-out test and the real-portrait test ask it of
    biden)."""
    from pipelines.avatar.measure import blinks_under_poses

    return blinks_under_poses(built(name), count, seed)


SHUT = {"blink_left": 1.0, "blink_right": 1.0}


@contextlib.contextmanager
def lids_kept(avatar: Avatar) -> Iterator[None]:
    """Inside, a test may rebuild a shared avatar's lids; after it, the build's own are back.

    ``rig.set_lid_depth`` replaces each lid basis whole (it never changes one in place), so
    the objects kept here are the build's; setting them back after a ``set_lid_depth`` to the
    build's depth and shape also drops the rig's cached mix. The shut frame, rendered before
    and after, must be the same to the byte, or the avatar is no longer the build the other
    tests share."""
    rig = avatar.rig
    bases = {name: rig.bases[name] for name in LEVEL_BASES if name in rig.bases}
    depth, shape = rig.lid_depth, rig.lid_shape
    before = avatar.renderer.render(SHUT).copy()
    try:
        yield
    finally:
        rig.set_lid_depth(avatar.portrait.image, depth, shape)
        rig.bases.update(bases)
    assert np.array_equal(avatar.renderer.render(SHUT), before), "the build's lids not restored"
