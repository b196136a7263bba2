"""Portraits, backgrounds and voice files as users bring them (QA qa6): a WAV streamed by a
recorder that never filled its size in, a help line that left videos out. Each test failed on
main before its fix."""

from __future__ import annotations

import json
import re
import struct
import wave
import zlib
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from app import cli
from pipelines.audio.inputs import read_audio_file
from pipelines.avatar.portrait import read_image as read_portrait
from pipelines.build import RunConfig, TalkingHeadConfig
from pipelines.sources import SourceConfig
from pipelines.sources.demo import DemoSource

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


def write_video(path: Path, *, with_sound: bool, size: tuple[int, int] = (96, 64)) -> None:
    """A 6-frame H.264 video, with an AAC sound track when asked."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        audio = container.add_stream("aac", rate=48000, layout="mono") if with_sound else None
        for i in range(6):
            image = np.full((size[1], size[0], 3), 40 * i, np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if audio is not None:
            tone = (np.sin(np.arange(9600) * 0.05) * 0.2).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(tone[None], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, 0
            for packet in audio.encode(frame):
                container.mux(packet)
            for packet in audio.encode():
                container.mux(packet)


def run_lines(argv: list[str], capsys) -> list[str]:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 0 and "Traceback" not in err, err
    return err.splitlines()


@pytest.mark.parametrize("with_sound", [True, False])
def test_a_video_sources_sound_is_recorded_without_a_note(
    tmp_path: Path, capsys, with_sound
) -> None:
    """qa6 F6: a talk blurred to a file came out silent, first without a word, then with a
    note saying so; now its sound is recorded (tests/test_video_sound.py: in step) and
    nothing needs saying. The note stays for a talking head's voice, which is recorded in its
    place (test_the_sound_recipe_mixes_the_video_under_a_talking_heads_voice)."""
    video = tmp_path / "talk.mp4"
    write_video(video, with_sound=with_sound)
    out = tmp_path / "out.mp4"
    lines = run_lines(
        ["run", "--source", str(video), "--output", str(out), "--frames", "3",
         "--size", "320x180", "--no-loop"],
        capsys,
    )  # fmt: skip
    assert [line for line in lines if "sound is not recorded" in line] == [], lines
    import av

    with av.open(str(out)) as recorded:
        assert len(recorded.streams.audio) == with_sound, lines


@pytest.mark.parametrize("side,said", [(20, True), (96, False)])
def test_a_tiny_picture_source_is_said_to_be_blown_up(
    tmp_path: Path, capsys, side: int, said: bool
) -> None:
    """A 20×20 picture fills 320×180 scaled 16×: said in one line; 96×96 (3.3×) is not."""
    picture = tmp_path / "tiny.png"
    cv2.imwrite(str(picture), np.full((side, side, 3), 128, np.uint8))
    lines = run_lines(
        ["run", "--source", str(picture), "--output", "null", "--frames", "2",
         "--size", "320x180"],
        capsys,
    )  # fmt: skip
    blurred = [line for line in lines if "blurred" in line]
    if said:
        assert blurred == [
            "camfx: the picture tiny.png is 20×20, scaled up 16× to fill 320×180: it will "
            "look blurred; use one at least 80×45, or a smaller --size"
        ], lines
    else:
        assert blurred == [], lines


@pytest.mark.parametrize("level", [0.0, 1e-4, 0.05])
def test_a_silent_voice_file_is_said(tmp_path: Path, level: float) -> None:
    """A voice file of zeros (or under -60 dBFS) gave a still mouth without a word; a quiet
    voice at -26 dBFS is no silence."""
    from pipelines.input_notes import RunInputs, silent_voice_note

    voice = tmp_path / "voice.wav"
    write_wav(voice, np.sin(np.arange(8000) * 0.1) * level)
    config = RunConfig(source="demo", talking_head=TalkingHeadConfig(audio=str(voice)))
    note = silent_voice_note(RunInputs.of(config), DemoSource("", SourceConfig()))
    if level >= 0.05:
        assert note is None
        return
    assert note is not None
    assert note.startswith(f"camfx: the voice file {voice} is silent (it "), note
    assert re.search("holds only zeros" if level == 0 else r"peaks at -8\d dBFS", note), note


def cut_out_png(
    path: Path, *, exif_orientation: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A remove.bg-style cut-out of the astronaut: opaque inside a circle through her hair,
    transparent outside with black under it. Returns the upright colour of the picture (the
    black included). With ``exif_orientation`` the pixels are stored turned and an eXIf chunk
    says how to show them."""
    upright = cv2.resize(cv2.imread(str(FACES / "astronaut.jpg")), (240, 320))
    h, w = upright.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    alpha = np.where((xx - w / 2) ** 2 + (yy - 150) ** 2 < 105**2, 255, 0).astype(np.uint8)
    upright[alpha == 0] = 0
    bgra = np.dstack([upright, alpha])
    stored = bgra if exif_orientation is None else cv2.rotate(bgra, cv2.ROTATE_90_COUNTERCLOCKWISE)
    ok, encoded = cv2.imencode(".png", stored)
    assert ok
    data = encoded.tobytes()
    if exif_orientation is not None:
        tiff = b"MM\x00*\x00\x00\x00\x08" + struct.pack(
            ">HHHIHHI", 1, 0x0112, 3, 1, exif_orientation, 0, 0
        )
        chunk = b"eXIf" + tiff
        exif = struct.pack(">I", len(tiff)) + chunk + struct.pack(">I", zlib.crc32(chunk))
        data = data[:33] + exif + data[33:]  # after the signature and IHDR
    path.write_bytes(data)
    return upright, alpha


@pytest.mark.parametrize("exif_orientation", [None, 6])
def test_a_cut_out_portrait_is_not_black_under_its_transparency(
    tmp_path: Path, exif_orientation: int | None
) -> None:
    """The colour under a cut-out's transparency (black) showed as a black arc across the hair
    and black corners (qa6 F4). Now the transparent part is filled with the person's own
    colours carried outwards: just past the outline it is as bright as just inside; the opaque
    pixels are the photo's own. With an EXIF rotation the alpha is turned as the colour is."""
    path = tmp_path / "cutout.png"
    upright, alpha = cut_out_png(path, exif_orientation=exif_orientation)
    image = read_portrait(path)
    assert image.shape == upright.shape
    opaque = alpha == 255
    np.testing.assert_array_equal(image[opaque], upright[opaque])
    ring = cv2.dilate(opaque.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    just_outside = ring & ~opaque
    just_inside = opaque & ~cv2.erode(opaque.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(
        bool
    )
    outside_level = image[just_outside].mean()
    inside_level = image[just_inside].mean()
    assert abs(outside_level - inside_level) < 20, (outside_level, inside_level)
    near_black = image[~opaque].max(axis=1) < 16
    assert near_black.mean() < 0.01, near_black.mean()  # on main: all of it


def test_the_sound_recipe_mixes_the_video_under_a_talking_heads_voice(tmp_path: Path) -> None:
    """qa8 L0: with a talking head speaking, the note's ffmpeg command mapped the video's sound
    in place of the recorded voice (``-map 1:a``), throwing the voice away. Now it mixes both;
    its filter, run through PyAV's FFmpeg, gives the sum of the two."""
    import shlex

    import av

    from pipelines import input_notes

    video = tmp_path / "talk.mp4"
    write_video(video, with_sound=True)
    voice = tmp_path / "voice.wav"
    write_wav(voice, np.sin(np.arange(8000) * 0.1) * 0.3)
    spoken = RunConfig(
        source=str(video),
        outputs=(str(tmp_path / "out.mp4"),),
        talking_head=TalkingHeadConfig(audio=str(voice)),
    )
    note = input_notes.input_notes(spoken, DemoSource("", SourceConfig()))[0]
    command = shlex.split(note[note.index("ffmpeg -i") : -1])
    assert "1:a" not in command, note  # main: -map 0:v -map 1:a -c copy
    mix = command[command.index("-filter_complex") + 1]
    assert command[command.index("-map", command.index("0:v")) + 1] == "[a]", command
    assert "the talking head's voice, not the sound of" in note

    # The filter: [0:a][1:a]NAME=ARGS[a]; both inputs at full level, as long as the first.
    name, args = mix.removeprefix("[0:a][1:a]").removesuffix("[a]").split("=", 1)
    graph = av.filter.Graph()
    recorded = graph.add_abuffer(
        format="fltp", sample_rate=48000, layout="mono", time_base="1/48000"
    )
    original = graph.add_abuffer(
        format="fltp", sample_rate=48000, layout="mono", time_base="1/48000"
    )
    mixer = graph.add(name, args)
    sink = graph.add("abuffersink")
    recorded.link_to(mixer, 0, 0)
    original.link_to(mixer, 0, 1)
    mixer.link_to(sink)
    graph.configure()
    a = np.full((1, 1024), 0.25, np.float32)
    b = np.full((1, 2048), 0.5, np.float32)
    for buffer, samples in ((recorded, a), (original, b)):
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, 0, Fraction(1, 48000)
        buffer.push(frame)
        buffer.push(None)
    out = []
    while True:
        try:
            out.append(sink.pull().to_ndarray())
        except (av.BlockingIOError, av.EOFError):
            break
    mixed = np.concatenate(out, axis=1)
    assert mixed.shape[1] == 1024  # duration=first: the recording's length
    assert np.allclose(mixed, 0.75, atol=1e-6)  # normalize=0: neither halved
