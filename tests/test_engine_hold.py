"""``Engine.hold``: until the stage list asked for after it runs, the outputs get the hold image
in place of every frame (the window's privacy at start), and frames keep coming meanwhile."""

from __future__ import annotations

import time

import numpy as np
from engine_support import Arrivals
from test_engine_switch import FPS, LiveCounter, Marked, _wait

from pipelines.engine import Engine
from pipelines.frame import HELD

OPEN_S = 0.8
CARD_VALUE = 7


def test_a_hold_sends_its_image_until_the_list_asked_after_it_runs() -> None:
    card = np.full((48, 64, 3), CARD_VALUE, np.uint8)
    new = Marked("new", 2, open_s=OPEN_S)
    out = Arrivals()
    engine = Engine(LiveCounter(), [], [out], lossless=False)
    engine.hold(card)
    card[:] = 0  # the engine keeps its own copy
    engine.start()
    try:
        assert _wait(lambda: len(out.frames) >= 5), "no card while nothing is asked for"
        assert engine.holding
        engine.set_stages([new])
        assert _wait(lambda: len(new.processed) >= 5), "the new stage never ran"
        assert not engine.holding
    finally:
        engine.stop()
    frames = [f for _, f in out.frames]
    held = [f for f in frames if f.ctx.get(HELD)]
    # The card while the stage opened (a camera keeps showing something), then only frames
    # through the stage: none untouched.
    assert len(held) >= OPEN_S * FPS / 2
    assert all(np.all(f.image == CARD_VALUE) and not f.image.flags.writeable for f in held)
    assert all(f.ctx.get(HELD) for f in frames[: len(held)])  # first, then no more
    assert all(int(f.image[0, 0, 0]) == 2 for f in frames[len(held) :])


def test_a_hold_ends_only_when_a_list_asked_after_it_runs() -> None:
    """A hold asks for a list asked *after* it: the running look is no excuse to end it (a
    panic switch while another list opens)."""
    old = Marked("old", 1)
    out = Arrivals()
    engine = Engine(LiveCounter(), [old], [out], lossless=False)
    engine.start()
    try:
        assert _wait(lambda: len(out.frames) >= 3)
        engine.hold(np.full((48, 64, 3), CARD_VALUE, np.uint8))
        held_from = len(out.frames) + 2  # a frame or two under way still goes out
        time.sleep(0.3)
        assert engine.holding
        engine.set_stages([old])  # the running list, asked again: nothing opens
        assert _wait(lambda: not engine.holding)
        assert _wait(lambda: int(out.frames[-1][1].image[0, 0, 0]) == 1)
    finally:
        engine.stop()
    during = [f for _, f in out.frames[held_from:] if f.ctx.get(HELD)]
    assert len(during) >= 5
