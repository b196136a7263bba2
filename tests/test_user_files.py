"""Portraits, backgrounds and voice files as users bring them (QA qa6): a WAV streamed by a
recorder that never filled its size in, a help line that left videos out. Each test failed on
main before its fix."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from app import cli
from pipelines.audio.inputs import read_audio_file


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def test_a_streamed_wav_with_the_0x7fffffff_placeholder_plays_whole(tmp_path: Path) -> None:
    """A data size of 0x7FFFFFFF (a streaming writer's placeholder) states nothing: the whole
    voice plays. On main it was refused as 'damaged or cut short' of 67108.86 s."""
    rate = 16000
    full = tmp_path / "full.wav"
    write_wav(full, np.sin(np.arange(rate) * 0.1) * 0.25, rate)
    data = bytearray(full.read_bytes())
    struct.pack_into("<I", data, 4, 0x7FFFFFFF)  # the RIFF size, as such a writer leaves it
    struct.pack_into("<I", data, 40, 0x7FFFFFFF)  # the data size
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(bytes(data))
    samples, got_rate = read_audio_file(streamed)
    assert got_rate == rate and len(samples) == rate


def test_capture_help_names_videos(capsys) -> None:
    """A video works as capture's source (the frames it searches are --tries); its help
    said "camera, camera:N, or an image"."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["talking-head", "capture", "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "a picture or a video file" in out, out
