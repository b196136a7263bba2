"""Portraits, backgrounds and voice files as users bring them (QA qa6): a WAV streamed by a
recorder that never filled its size in, a help line that left videos out. Each test failed on
main before its fix."""

from __future__ import annotations

import json
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from app import cli
from pipelines.audio.inputs import read_audio_file

FACES = Path(__file__).resolve().parent / "data" / "faces"


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


def write_audio_only_mp4(path: Path) -> None:
    """An MP4 that holds only an AAC track (a voice memo named like a video)."""
    import av

    rate = 48000
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate, layout="mono")
        tone = (np.sin(np.arange(rate // 2) * 0.05) * 0.2).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(tone[None], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.mark.parametrize("mode,name", [("image", "missing.jpg"), ("video", "memo.mp4")])
def test_a_preset_whose_background_cannot_be_used_is_refused_before_recording(
    tmp_path: Path, capsys, mode: str, name: str
) -> None:
    """On main the run recorded the default green, logged the problem twice and exited 0.
    Now: one line naming the preset and the file, exit 2, and the earlier recording that -y
    would replace is left as it was."""
    background = tmp_path / name
    if mode == "video":
        write_audio_only_mp4(background)
    preset = tmp_path / "beach.json"
    preset.write_text(
        json.dumps(
            {
                "schema": 1,
                "name": "Beach",
                "stages": [
                    {"stage": "segmentation", "settings": {}},
                    {
                        "stage": "background_replace",
                        "settings": {"mode": mode, "path": str(background)},
                    },
                ],
            }
        )
    )
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an earlier recording")
    code = cli.main(
        ["run", "--source", str(FACES / "obama_grin.jpg"), "--preset", str(preset),
         "--output", str(out), "-y", "--frames", "3", "--size", "320x180"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"camfx: preset 'Beach': background {mode} {background}"), err
    what = "does not exist" if mode == "image" else "holds only sound"
    assert what in lines[0], err
    assert out.read_bytes() == b"an earlier recording"
    assert not list(tmp_path.glob("out.partial*"))
