"""The demo source's frames (what ``camfx bench`` tracks and retouches) are the same pictures
as a plain 3-channel warp of the portrait: the 4-channel render and the still-frame cache are
speed paths only. (Kept here, with the tracking tests that run on demo frames, because
tests/test_sources.py belongs to the sources' owners.)"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipelines.sources import SourceConfig
from pipelines.sources.demo import DemoSource


def _open(arg: str, width: int, height: int) -> DemoSource:
    src = DemoSource(arg, SourceConfig(width=width, height=height, paced=False))
    src.open()
    return src


def _plain_render(src: DemoSource, index: int) -> np.ndarray:
    assert src.portrait is not None
    out: np.ndarray = cv2.warpAffine(
        src.portrait,
        src.transform(index),
        (src.config.width, src.config.height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT_101,
    )
    return out


@pytest.mark.parametrize(("arg", "size"), [("", (1280, 720)), ("3", (320, 240)), ("", (97, 61))])
def test_demo_frames_equal_a_plain_warp(arg: str, size: tuple[int, int]) -> None:
    src = _open(arg, *size)
    for index in (0, 1, 17, 90):
        src._index = index
        frame = src.grab()
        assert frame is not None and frame.shape == (size[1], size[0], 3)
        assert frame.flags.c_contiguous
        assert np.array_equal(frame, _plain_render(src, index))


def test_a_still_demo_repeats_its_frame_as_new_arrays() -> None:
    src = _open("0", 160, 120)
    first = src.read()
    second = src.read()
    assert first is not None and second is not None
    assert np.array_equal(first.image, second.image)
    assert not np.shares_memory(first.image, second.image)
    first.image[:] = 0  # a consumer scribbling on one frame leaves the next one alone
    third = src.read()
    assert third is not None and np.array_equal(third.image, second.image)
    assert np.array_equal(third.image, _plain_render(src, 2))
