"""What a new user feeds camfx on day one: a phone photo with an EXIF rotation, a file cut short
in a copy, an empty file, a float TIFF, a folder, a WAV with no samples, a video's sound
track, an audio-only MP4, a settings file saved by Notepad. Each case here failed before its
fix (a sideways or half-grey picture, exit 0 on a broken voice, a message blaming the wrong
file)."""

from __future__ import annotations

import json
import struct
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest

from app import cli
from pipelines.audio.inputs import AudioError, parse_audio_spec, read_audio_file
from pipelines.avatar.portrait import AvatarError
from pipelines.avatar.portrait import read_image as read_portrait
from pipelines.errors import SourceError
from pipelines.sources import SourceConfig, open_source
from pipelines.tracking.analysis import ImageError
from pipelines.tracking.analysis import read_image as read_photo
from pipelines.userdata import SettingsStore

FACES = Path(__file__).resolve().parent / "data" / "faces"


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("camfx")]
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    return lines[0]


def upright_photo() -> np.ndarray:
    """A landscape crop (not square: a rotation changes its shape)."""
    image = cv2.imread(str(FACES / "astronaut.jpg"))
    return np.ascontiguousarray(image[:384, :512])


def exif_orientation_segment(orientation: int) -> bytes:
    """A JPEG APP1 segment holding one EXIF tag: Orientation (0x0112), as phones write it."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def write_phone_photo(path: Path) -> np.ndarray:
    """A JPEG whose pixels are stored turned 90° left with Orientation 6 ("turn right to
    show"), as a phone held upright saves it; returns the picture as it should be shown."""
    upright = upright_photo()
    stored = np.ascontiguousarray(np.rot90(upright, 1))  # 90° counter-clockwise
    ok, buf = cv2.imencode(".jpg", stored, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    data = buf.tobytes()
    path.write_bytes(data[:2] + exif_orientation_segment(6) + data[2:])
    return upright


def close_to(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and float(np.abs(a.astype(np.int16) - b).mean()) < 6.0


# ------------------------------------------------------------------------ pictures
def test_phone_photo_is_shown_upright_by_every_reader(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0001.jpg"
    upright = write_phone_photo(path)
    h, w = upright.shape[:2]
    with open_source(str(path), SourceConfig(width=w, height=h)) as source:
        frame = source.read()
    assert frame is not None
    # Before: the image source read it with IMREAD_UNCHANGED, which skips the EXIF
    # orientation, and showed it on its side (filled to 512x384 from 384x512).
    assert close_to(frame.image, upright)
    assert close_to(read_portrait(path), upright)
    assert close_to(read_photo(path), upright)


@pytest.mark.parametrize("mode", ["image", "video"])
def test_phone_photo_as_a_background_is_upright_as_a_picture_or_a_video(
    tmp_path: Path, mode: str
) -> None:
    """qa64: the same phone photo was upright as a background "image" and on its side as a
    background "video" (a one-frame video, its EXIF tag not read). A picture given as a video
    is read as the picture it is."""
    from pipelines.segmentation.backgrounds import BackgroundLoader, check_background

    path = tmp_path / "IMG_0002.jpg"
    upright = write_phone_photo(path)
    check_background(mode, str(path))
    loader = BackgroundLoader()
    try:
        loaded = loader.submit(mode, str(path)).result(30)
    finally:
        loader.close()
    assert isinstance(loaded, np.ndarray) and close_to(loaded, upright)


def test_phone_photo_through_the_cli_is_upright(tmp_path: Path, capsys) -> None:
    av = pytest.importorskip("av")
    path = tmp_path / "IMG_0001.jpg"
    upright = write_phone_photo(path)
    out = tmp_path / "out.mp4"
    code = cli.main(
        ["run", "--source", str(path), "--output", str(out), "--frames", "2", "--size", "512x384"]
    )
    assert code == 0, capsys.readouterr().err
    with av.open(str(out)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="bgr24")
    assert close_to(first, upright)


def test_float_tiff_is_read_by_every_reader(tmp_path: Path) -> None:
    """Before: the image source took it, the portrait reader refused it ("could not be
    decoded", after a line of OpenCV's own on stderr)."""
    upright = upright_photo()
    path = tmp_path / "scan.tiff"
    assert cv2.imwrite(str(path), upright.astype(np.float32) / 255.0)
    with open_source(str(path), SourceConfig(width=512, height=384)) as source:
        frame = source.read()
    assert frame is not None and close_to(frame.image, upright)
    assert close_to(read_portrait(path), upright)
    assert close_to(read_photo(path), upright)


def cut_jpeg(path: Path) -> None:
    data = (FACES / "astronaut.jpg").read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("cut short", "it is a damaged or incomplete JPEG file"),
        ("empty", r"the file is empty \(0 bytes\); copy or export it again"),
    ],
)
def test_cut_short_or_empty_picture_is_refused_by_every_reader(
    tmp_path: Path, kind: str, expected: str
) -> None:
    """A JPEG cut short in a copy: cv2.imread filled its missing two thirds with grey and the
    image source and the portrait showed that (a libjpeg line on stderr, exit 0)."""
    path = tmp_path / "photo.jpg"
    if kind == "cut short":
        cut_jpeg(path)
    else:
        path.write_bytes(b"")
    with pytest.raises(SourceError, match=rf"photo\.jpg' cannot be used: {expected}"):
        open_source(str(path), SourceConfig(width=64, height=48))
    with pytest.raises(AvatarError, match=rf"photo\.jpg' cannot be used: {expected}"):
        read_portrait(path)
    with pytest.raises(ImageError, match=rf"photo\.jpg cannot be analysed: {expected}"):
        read_photo(path)


def test_cut_short_picture_through_the_cli(tmp_path: Path, capsys) -> None:
    path = tmp_path / "photo.jpg"
    cut_jpeg(path)
    out = tmp_path / "out.mp4"
    code = cli.main(["run", "--source", str(path), "--output", str(out), "--frames", "2"])
    assert code == 2
    line = one_error_line(capsys.readouterr().err)
    assert "photo.jpg' cannot be used: it is a damaged or incomplete JPEG file" in line
    assert not out.exists()


def test_portrait_that_is_a_folder_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "me.jpg"
    folder.mkdir()
    with pytest.raises(AvatarError, match=r"me\.jpg' is a folder; give the path of a photo"):
        read_portrait(folder)


# ------------------------------------------------------------------------ videos
def write_sound_only_mp4(path: Path) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        for k in range(20):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 48000, k * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_mp4_with_sound(path: Path, seconds: float = 1.0) -> None:
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = container.add_stream("aac", rate=48000)
        for i in range(int(seconds * 10)):
            picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i, np.uint8), "bgr24")
            for packet in video.encode(picture):
                container.mux(packet)
        t = np.arange(int(seconds * 48000)) / 48000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for k in range(0, len(tone) - 1024 + 1, 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, k : k + 1024], "fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, k
            for packet in sound.encode(frame):
                container.mux(packet)
        for stream in (video, sound):
            for packet in stream.encode():
                container.mux(packet)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("sound only", "holds only sound, no picture; give a video with a picture"),
        ("empty", r"is empty \(0 bytes\); copy or export it again"),
        ("no frames", r"holds no video \(no frames\); give a video file"),
        ("cut short", "could not be decoded: it is an MP4 or MOV file that is damaged or cut"),
    ],
)
def test_video_that_gives_no_picture_says_why(tmp_path: Path, kind: str, expected: str) -> None:
    """Before: each was "could not be decoded; use MP4 (H.264/MPEG-4), MKV or AVI", which
    told the owner of an MP4 nothing."""
    pytest.importorskip("av")
    path = tmp_path / "clip.mp4"
    if kind == "sound only":
        write_sound_only_mp4(path)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "no frames":
        import av

        with av.open(str(path), "w") as container:
            video = container.add_stream("mpeg4", rate=30)
            video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
            container.start_encoding()
    else:
        write_mp4_with_sound(path)
        # FFmpeg's MP4 muxer writes the index (moov) at the end: half the file has none.
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=rf"clip\.mp4' {expected}"):
        open_source(str(path), SourceConfig(width=64, height=48))


# ------------------------------------------------------------------------ voice files
def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(samples.astype("<i2").tobytes())


def test_wav_without_samples_is_refused(tmp_path: Path, capsys) -> None:
    """Before: one silent frame was rendered and the exit code was 0."""
    path = tmp_path / "voice.wav"
    write_wav(path, np.zeros(0))
    with pytest.raises(AudioError, match=r"voice\.wav' holds no sound \(0 samples\)"):
        read_audio_file(path)
    out = tmp_path / "out.mp4"
    code = cli.main(["talking-head", "render", "--audio", str(path), "--output", str(out)])
    assert code == 2
    assert "voice.wav' holds no sound" in one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_run_refuses_a_broken_voice_file_even_with_frames(tmp_path: Path, capsys) -> None:
    """With --frames the voice file was not read before the run: to a null output the talking
    head ran silent with a WARNING and exit 0; to an .mp4 the one line blamed the recording
    ("could not be opened for writing ... use a .mp4 path")."""
    path = tmp_path / "voice.wav"
    path.write_text("not a sound")
    for output in ("null", str(tmp_path / "out.mp4")):
        args = ["--talking-head", "--audio", str(path), "--frames", "3", "--output", output]
        code = cli.main(["run", "--source", "demo", *args])
        assert code == 2
        line = one_error_line(capsys.readouterr().err)
        assert line.startswith(f"camfx: audio file {str(path)!r} could not be decoded"), line
    assert not (tmp_path / "out.mp4").exists()


def test_a_videos_sound_track_is_a_voice(tmp_path: Path) -> None:
    """README: a voice file is "WAV, FLAC and what else FFmpeg reads"; a recorded talk as an
    MP4 was refused as an "unknown audio input"."""
    pytest.importorskip("av")
    path = tmp_path / "talk.mp4"
    write_mp4_with_sound(path)
    assert parse_audio_spec(str(path)) == ("file", str(path))
    data, rate = read_audio_file(path)
    assert rate == 48000 and 0.9 * rate < len(data) < 1.1 * rate
    assert 0.15 < float(np.sqrt(np.mean(data[4800:-4800] ** 2))) < 0.25


def test_a_sound_file_of_an_unread_type_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "voice.mid"
    path.write_bytes(b"MThd")
    with pytest.raises(AudioError, match=r"voice\.mid': camfx does not read \.mid files; use"):
        parse_audio_spec(str(path))
    with pytest.raises(AudioError, match="unknown audio input 'speakers'"):
        parse_audio_spec("speakers")
    with pytest.raises(AudioError, match=r"audio file '.*' is a folder; give a sound file in it"):
        parse_audio_spec(str(tmp_path))


# ------------------------------------------------------------------------ settings
def test_settings_saved_with_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    """Windows Notepad saves UTF-8 with a BOM: the file was "not valid JSON" and moved aside,
    with every setting back to its default."""
    path = tmp_path / "settings.json"
    path.write_text("\ufeff" + json.dumps({"schema": 2, "fps": 25.0}), encoding="utf-8")
    store = SettingsStore(path)
    settings = store.load()
    assert store.problems == []
    assert settings.fps == 25.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


# ------------------------------------------------------------------------ recordings
def test_a_source_that_cannot_open_leaves_an_earlier_recording_alone(
    tmp_path: Path, capsys
) -> None:
    """The outputs are checked so that every problem is reported at once; that check opened
    the file output, which replaced an earlier recording of the same name with an empty
    784-byte MP4, and left one behind where there was none."""
    earlier = tmp_path / "talk.mp4"
    earlier.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40)
    before = earlier.read_bytes()
    fresh = tmp_path / "new.mp4"
    typo = str(tmp_path / "typo.png")
    for out in (earlier, fresh):
        code = cli.main(["run", "--source", typo, "--output", str(out), "--frames", "2"])
        assert code == 2
        assert "typo.png' does not exist" in one_error_line(capsys.readouterr().err)
    assert earlier.read_bytes() == before
    assert not fresh.exists()
    # A path that cannot be written is still reported beside the source's error.
    unwritable = str(tmp_path / "no" / "x.mp4")
    code = cli.main(["run", "--source", typo, "--frames", "2", "--output", unwritable])
    assert code == 2
    line = one_error_line(capsys.readouterr().err)
    assert "typo.png' does not exist" in line and "does not exist; create it first" in line


def test_a_surround_voice_keeps_its_level(tmp_path: Path) -> None:
    """A 5.1 track (a film clip, now that a video's sound is a voice) holds the voice in its
    centre channel: the mean of the six channels made it 16 dB quieter than the same voice
    in mono."""
    av = pytest.importorskip("av")
    rate = 16000
    t = np.arange(rate) / rate
    voice = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    planes = np.zeros((6, rate), np.float32)
    planes[2] = voice  # FC in FFmpeg's 5.1 order: FL FR FC LFE BL BR
    path = tmp_path / "film.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="5.1")
        frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout="5.1")
        frame.sample_rate, frame.pts = rate, 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data, got_rate = read_audio_file(path)
    assert got_rate == rate
    level_db = 20 * np.log10(np.sqrt(np.mean(data**2)) / np.sqrt(np.mean(voice**2)))
    assert abs(level_db) < 1.5, f"{level_db:.1f} dB"


@pytest.mark.parametrize(
    ("name", "container_format", "codec", "size"),
    [
        ("phone.3gp", "3gp", "h263", (352, 288)),
        ("camcorder.mts", "mpegts", "mpeg4", (320, 240)),
        ("dvd.mpg", "mpeg", "mpeg2video", (320, 240)),
        ("old.wmv", "asf", "wmv2", (320, 240)),
    ],
)
def test_common_video_types_past_mp4_are_sources(
    tmp_path: Path, name: str, container_format: str, codec: str, size: tuple[int, int]
) -> None:
    """They were refused by their suffix ("unsupported file type '.3gp'") though OpenCV's
    FFmpeg reads each to its end."""
    av = pytest.importorskip("av")
    if codec not in av.codecs_available:
        pytest.skip(f"this PyAV has no {codec} encoder")
    path = tmp_path / name
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for i in range(25):
            picture = np.full((size[1], size[0], 3), (40 + 4 * i, 90, 160), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    config = SourceConfig(width=64, height=48, loop=False, paced=False)
    frames = 0
    with open_source(str(path), config) as source, pytest.raises(EOFError):
        while source.read() is not None:
            frames += 1
    assert frames == 25


def test_capture_from_a_photo_without_a_face_does_not_say_look_at_the_camera(
    tmp_path: Path, capsys
) -> None:
    photo = FACES / "no_face.jpg"
    out = tmp_path / "me.png"
    code = cli.main(
        ["talking-head", "capture", "--source", str(photo), "--output", str(out), "--tries", "3"]
    )
    assert code == 2
    line = one_error_line(capsys.readouterr().err)
    # The message render --portrait gives for the same photo.
    assert f"portrait {str(photo)!r}: no face found" in line and "camera" not in line
    assert not out.exists()


def test_a_quoted_home_folder_path_is_found(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--source "~/My Videos/talk.mp4"``: quoted for its space, so the shell leaves ``~``
    alone; camfx said the file "does not exist"."""
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = tmp_path / "My Pictures"
    folder.mkdir()
    assert cv2.imwrite(str(folder / "room.png"), upright_photo())
    out = tmp_path / "out.mp4"
    for spec in ("~/My Pictures/room.png", "image:~/My Pictures/room.png"):
        code = cli.main(
            ["run", "--source", spec, "--output", "~/out.mp4", "--frames", "2", "--size", "64x48"]
        )
        assert code == 0, capsys.readouterr().err
        assert out.stat().st_size > 0
        out.unlink()
    assert cli.expand_home("camera:Logitech") == "camera:Logitech"
    assert cli.expand_home(["null", "~/a.mp4"]) == ["null", str(tmp_path / "a.mp4")]


def test_a_tall_picture_keeps_its_upper_part_in_a_landscape_frame(tmp_path: Path) -> None:
    """A phone held upright frames the face in the upper third; the centre crop to 16:9 of
    a 720×1280 video showed the neck and chest, the head cut off."""
    bands = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]  # quarters, top down
    tall = np.concatenate([np.full((200, 400, 3), c, np.uint8) for c in bands])
    path = tmp_path / "selfie.png"
    assert cv2.imwrite(str(path), tall)
    with open_source(str(path), SourceConfig(width=160, height=90)) as source:
        frame = source.read()
    assert frame is not None
    # The kept rows are 18-46 % of the picture (centred: 36-64 %): blue at the top, green
    # (the face's band) in the middle, no red.
    assert tuple(frame.image[2, 80]) == bands[0]
    assert tuple(frame.image[60, 80]) == bands[1]
    assert not (frame.image == bands[2]).all(axis=2).any()


# ------------------------------------------------------------------------ backgrounds
def write_clip(
    path: Path, frames: int, container_format: str | None = None, codec: str = "mpeg4"
) -> None:
    import av

    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            picture = np.full((48, 64, 3), 20 + 8 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def wait_for(condition, timeout: float = 10.0) -> bool:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_camcorder_clip_loops_as_a_background(tmp_path: Path) -> None:
    """MPEG-TS (.mts) cannot seek back to frame 0 through OpenCV: the background stopped with
    "stopped decoding" after its first pass."""
    pytest.importorskip("av")
    from pipelines.segmentation.backgrounds import LoopingVideo

    av = pytest.importorskip("av")
    if "libx264" not in av.codecs_available:
        pytest.skip("this PyAV has no H.264 encoder (camcorders record H.264)")
    path = tmp_path / "beach.mts"
    write_clip(path, 6, "mpegts", "libx264")
    video = LoopingVideo(path)
    try:
        assert wait_for(lambda: video.latest()[0] >= 15 or video.error is not None)
        assert video.error is None
    finally:
        video.close()


def test_a_one_frame_clip_is_a_still_background(tmp_path: Path) -> None:
    """A still exported as a one-frame video failed at once ("stopped decoding")."""
    pytest.importorskip("av")
    from pipelines.segmentation.backgrounds import LoopingVideo

    path = tmp_path / "still.mp4"
    write_clip(path, 1)
    video = LoopingVideo(path)
    try:
        assert wait_for(lambda: video.still or video.error is not None)
        assert video.error is None
        assert video.latest()[1].shape == (48, 64, 3)
    finally:
        video.close()


def test_a_sound_only_background_video_says_so(tmp_path: Path) -> None:
    """Was: "cannot be opened: it is not a video or its format is not supported"."""
    pytest.importorskip("av")
    from pipelines.segmentation.backgrounds import BackgroundError, LoopingVideo

    path = tmp_path / "music.mp4"
    write_sound_only_mp4(path)
    with pytest.raises(BackgroundError, match=r"music\.mp4 holds only sound, no picture"):
        LoopingVideo(path)


def test_importing_a_file_that_is_not_a_preset_is_refused(tmp_path: Path) -> None:
    """settings.json picked in "Import preset…" became an empty preset (every effect off)
    named "settings"."""
    from pipelines.errors import SettingsError
    from pipelines.userdata import PresetStore

    store = PresetStore(tmp_path / "presets")
    picked = tmp_path / "settings.json"
    picked.write_text(json.dumps({"schema": 2, "fps": 30.0, "preset": "builtin:studio"}))
    with pytest.raises(SettingsError, match=r"settings\.json is not a camfx preset"):
        store.import_file(picked)
    assert store.names() == []


def test_a_recording_onto_its_own_source_or_voice_is_refused(tmp_path: Path, capsys) -> None:
    """``--source talk.mp4 --output talk.mp4`` replaced the user's video with the first
    frames of its own processing, exit code 0."""
    pytest.importorskip("av")
    talk = tmp_path / "talk.mp4"
    write_mp4_with_sound(talk)
    before = talk.read_bytes()
    same = str(tmp_path / "." / "talk.mp4")
    voice = ["--talking-head", "--audio", str(talk)]
    runs = [
        ["run", "--source", str(talk), "--output", str(talk), "--frames", "5"],
        ["run", "--source", "demo", *voice, "--output", "null", "--output", same, "--frames", "2"],
    ]
    # qa64: a preset's background video was replaced by the recording, exit 0.
    preset = tmp_path / "beach.json"
    background = {"mode": "video", "path": str(talk)}
    stages = [{"stage": "segmentation", "settings": {}}]
    stages.append({"stage": "background_replace", "settings": background})
    preset.write_text(json.dumps({"schema": 1, "name": "beach", "stages": stages}))
    runs.append(["run", "--preset", str(preset), "--output", str(talk), "-y", "--frames", "2"])
    whats = ("source file", "voice file", "file background_replace's path names")
    for args, what in zip(runs, whats, strict=True):
        assert cli.main(args) == 2
        line = one_error_line(capsys.readouterr().err)
        assert f"talk.mp4' is the {what} in this run" in line, line
        assert talk.read_bytes() == before


def test_a_mac_recording_is_a_voice(tmp_path: Path) -> None:
    """AIFF (and CAF, WMA, AMR, 3GP: what Mac, Windows and phone recorders save) were
    refused as an "unknown audio input" though FFmpeg reads them."""
    av = pytest.importorskip("av")
    rate = 16000
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)).astype(np.float32)
    path = tmp_path / "Voice Memo.aiff"
    with av.open(str(path), "w", format="aiff") as container:
        stream = container.add_stream("pcm_s16be", rate=rate, layout="mono")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(tone[None], format="flt", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        for part in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(part):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert parse_audio_spec(str(path)) == ("file", str(path))
    data, got_rate = read_audio_file(path)
    assert got_rate == rate and len(data) == rate
    np.testing.assert_allclose(data, tone, atol=1e-3)


def test_a_wav_cut_short_is_refused(tmp_path: Path) -> None:
    """FFmpeg sizes a WAV by its bytes: half a voice file played (and set the video's
    length) without a word. One a recorder never finished (data size 0xFFFFFFFF) still
    plays."""
    rate = 16000
    full = tmp_path / "full.wav"
    write_wav(full, np.sin(np.arange(2 * rate) * 0.1) * 8000, rate)
    data = full.read_bytes()
    cut = tmp_path / "voice.wav"
    cut.write_bytes(data[: 44 + rate * 2])  # 1 s of the 2 s
    with pytest.raises(AudioError, match=r"voice\.wav' is damaged or cut short: it holds 1\.00"):
        read_audio_file(cut)
    unfinished = tmp_path / "live.wav"
    unfinished.write_bytes(data[:40] + struct.pack("<I", 0xFFFFFFFF) + data[44 : 44 + rate * 2])
    samples, _ = read_audio_file(unfinished)
    assert len(samples) == rate
    assert len(read_audio_file(full)[0]) == 2 * rate


def test_an_iphone_photo_says_how_to_export_it_and_avif_is_read(tmp_path: Path) -> None:
    """HEIC got the list of every suffix camfx reads; AVIF, which OpenCV decodes, was
    refused by its suffix."""
    heic = tmp_path / "IMG_0002.HEIC"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic")
    with pytest.raises(SourceError, match=r"HEIC photos \(an iPhone's\) cannot be read; export"):
        open_source(str(heic), SourceConfig(width=64, height=48))
    avif = tmp_path / "photo.avif"
    if not cv2.imwrite(str(avif), upright_photo()):
        pytest.skip("this OpenCV has no AVIF codec")
    with open_source(str(avif), SourceConfig(width=512, height=384)) as source:
        frame = source.read()
    assert frame is not None and close_to(frame.image, upright_photo())
