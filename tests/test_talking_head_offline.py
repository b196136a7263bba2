"""An offline talking-head render gives the same video whatever the machine's load.

``camfx talking-head render`` reads its source as fast as frames render. The frames were stamped
with the instant they were read, and the face tracker's filters (the avatar's head follows its
pose) ran on those stamps: 0.1-86 ms apart on an idle machine, unlike in every run and more so
under load. The head, and the mouth with it, moved differently in every run (143-145 of 146
frames differed between two runs; under load the lips' best match with the sound moved from 0
to 2 frames, issue 13). Frames of an offline render now carry their media time, ``index / fps``
(``SourceConfig.media_time``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pytest

from pipelines.engine import Engine
from pipelines.frame import Frame
from pipelines.outputs.base import Output
from pipelines.sources.base import SourceConfig
from pipelines.sources.demo import DemoSource

SPEECH = Path(__file__).resolve().parent / "data" / "speech"
VOICE = SPEECH / "sense_and_sensibility_01_austen_64kb-0870.flac"
VOICE_S = 1.4
"""Seconds of the voice rendered (42 frames): speech from 0.2 s on."""
SIZE = 256
"""The size test_avatar_video renders at: the tracker finds the demo's face there."""
SLOW_S = (0.0, 0.03, 0.0, 0.12, 0.01)
"""Extra time the source takes over successive frames in the slowed render: a loaded machine's
uneven pace (the render reads frames as fast as it can)."""


def render(folder: Path, name: str) -> list[np.ndarray]:
    """``camfx talking-head render`` of the voice over the still demo, stand-in; the decoded
    frames (grey)."""
    import av

    from app import talking_head_cmd

    parser = argparse.ArgumentParser()
    talking_head_cmd.add_parser(parser.add_subparsers(dest="command"))
    out = folder / f"{name}.mp4"
    args = parser.parse_args(
        ["talking-head", "render", "--source", "demo:0", "--audio", str(folder / "voice.wav"),
         "--output", str(out), "--size", f"{SIZE}x{SIZE}", "--avatar-mode", "stand-in"]
    )  # fmt: skip
    assert args.func(args) == 0
    with av.open(str(out)) as c:
        return [f.to_ndarray(format="gray") for f in c.decode(video=0)]


def mouth_darkness(frames: list[np.ndarray]) -> list[float]:
    """test_avatar_video's measure: the dark share of the mouth's box, per frame."""
    from pipelines.avatar.stage import avatar_for

    lm = avatar_for("").portrait.landmarks * (SIZE / 512)
    mouth = lm[[13, 14, 61, 291], :2]
    x0, y0 = np.floor(mouth.min(axis=0) - np.array([2, 4])).astype(int)
    x1, y1 = np.ceil(mouth.max(axis=0) + np.array([2, 12])).astype(int)
    return [float((img[y0:y1, x0:x1] < 60).mean()) for img in frames]


def test_a_render_slowed_unevenly_gives_the_same_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("av", reason="the render writes an MP4 through PyAV")
    from pipelines.audio.demo_clip import write_wav
    from pipelines.audio.inputs import read_audio_file

    samples, rate = read_audio_file(VOICE)
    write_wav(tmp_path / "voice.wav", samples[: int(VOICE_S * rate)], rate)
    steady = render(tmp_path, "steady")

    grab = DemoSource.grab

    def slow_grab(self: DemoSource) -> np.ndarray | None:
        time.sleep(SLOW_S[self._index % len(SLOW_S)])
        return grab(self)

    monkeypatch.setattr(DemoSource, "grab", slow_grab)
    slowed = render(tmp_path, "slowed")

    assert len(steady) == len(slowed) == round(VOICE_S * 30)
    assert mouth_darkness(slowed) == mouth_darkness(steady)
    differ = [i for i, (a, b) in enumerate(zip(steady, slowed, strict=True)) if (a != b).any()]
    assert not differ, f"frames {differ[:10]} differ between a steady and a slowed render"


class _Sink(Output):
    def write(self, frame: Frame) -> None:
        pass


def test_media_time_stamps_frames_by_index_not_by_when_read() -> None:
    config = SourceConfig(width=32, height=24, fps=25.0, paced=False, media_time=True)
    source = DemoSource("0", config)
    source.open()
    stamps = []
    for pause in (0.0, 0.05, 0.0, 0.02):
        time.sleep(pause)
        frame = source.read()
        assert frame is not None
        stamps.append(frame.timestamp)
    assert stamps == [i / 25.0 for i in range(4)]
    assert source.media_clock
    # A benchmark's source keeps the monotonic read time (its latency figure).
    plain = DemoSource("0", SourceConfig(width=32, height=24, paced=False))
    plain.open()
    frame = plain.read()
    assert frame is not None and abs(frame.timestamp - time.monotonic()) < 1.0
    assert not plain.media_clock


def test_media_time_frames_count_no_latency() -> None:
    source = DemoSource("0", SourceConfig(width=32, height=24, paced=False, media_time=True))
    source.open()
    engine = Engine(source, [], [_Sink("sink")], lossless=True, max_frames=5)
    engine.start()
    assert engine.wait(30.0)
    engine.stop()
    assert engine.stats.frames_output == 5
    assert len(engine.stats.latency.samples) == 0
