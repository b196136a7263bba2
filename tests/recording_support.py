"""Small fragmented recordings made by the real recorder, and their top-level boxes, for the
tests of ``camfx repair`` and of the window's offer to repair.

At 5 fps a fragment (``KEYFRAME_S`` of video) is 10 frames: 33 frames make three full
fragments and a last one of 3."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np

from pipelines.audio.demo_clip import write_wav
from pipelines.audio.mux import FileAudio
from pipelines.frame import Frame
from pipelines.outputs import recorder
from pipelines.outputs.recorder import VideoFileOutput

FPS = 5.0
FRAMES = 33
FRAMES_PER_FRAGMENT = round(FPS * recorder.KEYFRAME_S)
SIZE = (64, 48)


class Box(NamedTuple):
    offset: int
    kind: bytes
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


def record(path: Path, frames: int = FRAMES, *, voice: bool = True) -> Path:
    """A recording as ``camfx run --output`` makes it; with ``voice``, a sound track too
    (frames clock)."""
    audio = None
    wav = path.with_suffix(".wav")
    if voice:
        t = np.arange(int(frames / FPS * 16000) + 1600) / 16000
        write_wav(wav, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
        audio = FileAudio(wav)
    out = VideoFileOutput(str(path), audio=audio)
    out.live_source = False
    out.open(*SIZE, FPS)
    for i in range(frames):
        out.write(Frame.new(np.full((SIZE[1], SIZE[0], 3), 7 * i % 256, np.uint8), i / FPS, i))
    out.close()
    assert out.failure is None
    wav.unlink(missing_ok=True)
    return path


def boxes(path: Path) -> list[Box]:
    found, pos, size = [], 0, path.stat().st_size
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            box_size, kind = struct.unpack(">I4s", f.read(8))
            found.append(Box(pos, kind, box_size))
            pos += box_size
    return found
