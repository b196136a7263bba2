"""Avatars of tests/data/faces built once a test session, shared by the test files.

The same portrait was built by several files' fixtures and tests (astronaut six times,
cameraman four, a build 1-5 s on 2 cores). A build is deterministic, and every test handed
one here only reads it: renders (each render is computed from its weights alone; the
renderer keeps only its last frame's box and map, which the tests read right after their own
render), measures and reads the rig. A test that changes an avatar, its rig or its renderer
(monkeypatching a renderer's drawing, building under a patched module) builds its own.
Run alone, a test builds the avatar here itself, the same avatar.
"""

from __future__ import annotations

import functools
from pathlib import Path

from pipelines.avatar.portrait import load_portrait
from pipelines.avatar.stage import Avatar

FACES = Path(__file__).resolve().parent / "data" / "faces"


@functools.cache
def built(name: str, retrack: bool = True) -> Avatar:
    """``Avatar.build(load_portrait(FACES / f"{name}.jpg"), retrack=retrack)``, once."""
    return Avatar.build(load_portrait(FACES / f"{name}.jpg"), retrack=retrack)
