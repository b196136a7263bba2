"""The Qt-free parts of the window: the swappable source, switchable outputs, the preview sink,
the paused card, camera mode listing, hotkey parsing, and the PySide6 emit work-around."""

from __future__ import annotations

import os

if not os.environ.get("CAMFX_XVFB_CHILD"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

import struct
import sys
import threading
import time
from typing import Any

import numpy as np
import pytest

from app.gui.hotkeys import parse_binding, unavailable_reason
from app.gui.plumbing import (
    INPUT_KEY,
    ControlledSource,
    PreviewSink,
    SwitchableOutput,
    camera_modes,
    format_mode,
    message_card,
    paused_card,
)
from pipelines.engine import Engine
from pipelines.errors import SourceError
from pipelines.frame import Frame
from pipelines.outputs.base import Output
from pipelines.sources import SourceConfig, open_source
from pipelines.sources.base import Source


class Solid(Source):
    def __init__(self, color: int, size: tuple[int, int] = (64, 48), fail_at: int = -1) -> None:
        super().__init__("", SourceConfig(width=size[0], height=size[1], fps=200))
        self.color = color
        self.reads = 0
        self.fail_at = fail_at
        self.closed = False

    def grab(self) -> np.ndarray | None:
        self.reads += 1
        if self.reads == self.fail_at:
            raise SourceError("cable pulled")
        w, h = self.actual_size
        return np.full((h, w, 3), self.color, np.uint8)

    def close(self) -> None:
        self.closed = True


class Recorder(Output):
    def __init__(self, fail: bool = False) -> None:
        super().__init__("rec")
        self.frames: list[Frame] = []
        self.fail = fail
        self.opened_with: tuple[int, int, float] | None = None

    def open(self, width: int, height: int, fps: float) -> None:
        self.opened_with = (width, height, fps)
        self.is_open = True

    def write(self, frame: Frame) -> None:
        if self.fail:
            raise OSError("gone")
        self.frames.append(frame)

    def close(self) -> None:
        self.is_open = False


def test_controlled_source_swaps_scales_and_taps() -> None:
    src = ControlledSource((32, 24), 100.0)
    first = src.read()
    assert first is not None and first.image.shape == (24, 32, 3)  # "Starting..." card
    a = Solid(10)
    assert src.set_inner(a) is None
    frame = src.read()
    assert frame is not None and frame.image.shape == (24, 32, 3) and frame.image.max() == 10
    src.tap_input = True
    frame = src.read()
    assert frame is not None and INPUT_KEY in frame.ctx.extras
    assert frame.ctx.extras[INPUT_KEY] is not frame.image
    b = Solid(200)
    assert src.set_inner(b) is a
    frame = src.read()
    assert frame is not None and frame.image.max() == 200
    indices = [src.read().index for _ in range(3)]  # type: ignore[union-attr]
    assert indices == sorted(indices) and len(set(indices)) == 3
    src.close()
    assert b.closed and src.inner is None


def test_controlled_source_survives_a_failing_source() -> None:
    errors: list[str] = []
    src = ControlledSource((32, 24), 100.0, on_error=lambda s, e: errors.append(str(e)))
    src.set_inner(Solid(10, fail_at=2))
    assert src.read() is not None
    frame = src.read()  # the failure: reported, the source dropped, a card instead
    assert errors == ["cable pulled"] and src.inner is None
    assert frame is not None and frame.image.shape == (24, 32, 3)
    assert src.read() is not None  # and it keeps going


def test_pause_sends_a_blurred_still_and_resume_goes_back() -> None:
    src = ControlledSource((64, 48), 200.0)
    inner = Solid(90)
    src.set_inner(inner)
    last = np.zeros((48, 64, 3), np.uint8)
    last[:, :32] = 255
    src.pause(last)
    assert src.paused
    reads = inner.reads
    stills = [src.read() for _ in range(3)]
    assert inner.reads == reads  # the camera is not read while paused
    assert all(f is not None for f in stills)
    card = stills[0].image  # type: ignore[union-attr]
    assert card.mean() < 128  # dimmed
    assert stills[0].image is not stills[1].image  # type: ignore[union-attr]
    src.resume()
    frame = src.read()
    assert frame is not None and frame.image.max() == 90


def test_cards() -> None:
    card = paused_card(None, (320, 180))
    assert card.shape == (180, 320, 3) and card.dtype == np.uint8
    h, w = card.shape[:2]
    unit = min(w, h) // 24
    assert card[int(h * 0.42), w // 2 - 3 * unit // 2].min() > 230  # a pause bar
    blurred = paused_card(
        np.random.default_rng(0).integers(0, 255, (90, 160, 3), np.uint8), (320, 180)
    )
    assert blurred.shape == (180, 320, 3)
    text = message_card("No signal", (320, 180))
    assert text.max() > 200 and np.median(text) == 32


def test_switchable_output_attach_detach_and_failure() -> None:
    failures: list[str] = []
    switch = SwitchableOutput("vcam", on_error=lambda s, o, e: failures.append(str(e)))
    switch.open(64, 48, 30.0)
    frame = Frame.new(np.zeros((48, 64, 3), np.uint8), 0.0, 0)
    switch.write(frame)  # nothing attached: dropped quietly
    rec = Recorder()
    switch.attach(rec)
    assert rec.opened_with == (64, 48, 30.0) and switch.target_format == (64, 48, 30.0)
    switch.write(frame)
    assert len(rec.frames) == 1
    switch.close()  # the engine closing it leaves the target open (the window owns it)
    assert rec.is_open and switch.target is rec
    assert switch.detach() is rec and switch.target is None
    bad = Recorder(fail=True)
    switch.attach(bad, (32, 24), 15.0)
    switch.write(frame)
    assert failures == ["gone"] and switch.target is None and not bad.is_open
    # Replacing a target closes the old one.
    one, two = Recorder(), Recorder()
    switch.attach(one)
    switch.attach(two)
    assert not one.is_open and switch.target is two


def test_preview_sink_scales_on_the_engine_thread_and_keeps_the_newest() -> None:
    sink = PreviewSink()
    assert sink.take() is None
    image = np.zeros((720, 1280, 3), np.uint8)
    sink.display_size = (640, 640)
    for i in range(3):
        f = Frame.new(image, float(i), i)
        f.ctx.extras[INPUT_KEY] = image
        sink.write(f)
    item = sink.take()
    assert item is not None and item.index == 2  # older ones were replaced
    assert item.output.shape == (360, 640, 3) and item.input is not None
    assert item.source_size == (1280, 720)
    assert sink.take() is None
    assert sink.slot.dropped == 2
    sink.display_size = None
    sink.write(Frame.new(image, 0.0, 9))
    got = sink.take()
    assert got is not None and got.output is not image  # always a copy


def test_preview_sink_wakes_its_consumer_once_per_frame_that_lands_in_an_empty_slot() -> None:
    # The window is woken per frame instead of polling: a frame that replaces an untaken one
    # needs no second wake-up (the pending one takes the newest), so they never pile up, and
    # a frame in the slot always has one pending.
    sink = PreviewSink()
    wakes: list[int] = []
    sink.on_frame = lambda: wakes.append(sink.frames_written)
    image = np.zeros((48, 64, 3), np.uint8)
    for i in range(3):
        sink.write(Frame.new(image, float(i), i))
    assert wakes == [1]  # the first frame woke it; the next two replaced it, untaken
    item = sink.take()
    assert item is not None and item.index == 2
    sink.write(Frame.new(image, 3.0, 3))
    assert wakes == [1, 4]
    sink.on_frame = None  # the widget went away: frames are still kept, nobody is called
    assert sink.take() is not None
    sink.write(Frame.new(image, 4.0, 4))
    assert wakes == [1, 4] and sink.slot.has_item


def test_engine_with_controlled_source_and_switches_runs_and_stops() -> None:
    source = ControlledSource((64, 48), 200.0)
    source.set_inner(open_source("demo:0", SourceConfig(width=64, height=48, fps=200)))
    sink, switch = PreviewSink(), SwitchableOutput("rec")
    engine = Engine(source, [], [sink, switch], out_size=(64, 48))
    engine.start()
    rec = Recorder()
    switch.attach(rec)
    deadline = time.monotonic() + 5
    while len(rec.frames) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(rec.frames) >= 5
    engine.stop()
    source.close()
    # Not "camfx-jit": the process-wide Numba compile an earlier test's effects may have
    # started (fused.prepare) is no thread of this engine's; Python joins it at exit.
    left = [t.name for t in threading.enumerate() if t.name.startswith("camfx-") and t.is_alive()]
    assert not [name for name in left if name != "camfx-jit"], left


def test_camera_modes_from_v4l2(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ioctl answers of a camera with MJPG 1280×720 @ 30/60 and 640×480 @ 30."""
    sizes = [(1280, 720), (640, 480)]
    rates = {(1280, 720): [(1, 30), (1, 60)], (640, 480): [(1, 30)]}

    def ioctl(fd: int, request: int, buf: bytearray) -> int:
        nr = request & 0xFF
        index = struct.unpack_from("<I", buf, 0)[0]
        if nr == 2:  # ENUM_FMT
            if index > 0:
                raise OSError(22, "EINVAL")
            struct.pack_into("<I", buf, 44, 0x47504A4D)  # MJPG
        elif nr == 74:  # ENUM_FRAMESIZES
            if index >= len(sizes):
                raise OSError(22, "EINVAL")
            struct.pack_into("<III", buf, 8, 1, *sizes[index])
        elif nr == 75:  # ENUM_FRAMEINTERVALS
            w, h = struct.unpack_from("<II", buf, 8)
            options = rates[(w, h)]
            if index >= len(options):
                raise OSError(22, "EINVAL")
            struct.pack_into("<III", buf, 16, 1, *options[index])
        return 0

    opened: list[str] = []
    monkeypatch.setattr(os, "open", lambda path, flags: opened.append(path) or 99)
    monkeypatch.setattr(os, "close", lambda fd: None)
    modes = camera_modes("/dev/video7", ioctl=ioctl)
    assert opened == ["/dev/video7"]
    assert modes == [(1280, 720, 60.0), (1280, 720, 30.0), (640, 480, 30.0)]
    assert format_mode(modes[0]) == "1280×720 @ 60 fps"
    monkeypatch.undo()
    assert camera_modes("/dev/does-not-exist-camfx") == []
    assert camera_modes(None) == [] and camera_modes("0") == []


def test_hotkey_parsing_and_platform_messages() -> None:
    assert parse_binding("Ctrl+Alt+Shift+P") == (frozenset({"ctrl", "alt", "shift"}), "p")
    assert parse_binding("super+F5") == (frozenset({"meta"}), "f5")
    for bad in ("", "Ctrl+", "Hyper+P", "Ctrl+Space"):
        with pytest.raises(ValueError):
            parse_binding(bad)
    assert unavailable_reason("xcb") is None and unavailable_reason("windows") is None
    wayland = unavailable_reason("wayland")
    assert wayland is not None and "portal" in wayland and "tray" in wayland
    assert "macOS" in (unavailable_reason("cocoa") or "")
    assert "offscreen" in (unavailable_reason("offscreen") or "")


EMITS = 2000


def test_emit_workaround_keeps_true_alive(qapp: Any) -> None:
    from PySide6.QtCore import QObject, Signal

    from app.gui.qtcompat import emit

    class Pinger(QObject):
        ping = Signal(str)

    pinger = Pinger()
    got: list[str] = []
    pinger.ping.connect(got.append)
    before = sys.getrefcount(True)
    for _ in range(EMITS):
        emit(pinger.ping, "x")
    assert len(got) == EMITS
    # Without the work-around PySide6 6.12 loses one reference to True per emit (-2000 here).
    # Other threads move True's count too (a Numba compile an earlier test started: -51 once
    # against the -50 this allowed with 500 emits), hence many emits and a wide margin.
    assert sys.getrefcount(True) - before > -EMITS // 5
