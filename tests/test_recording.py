"""Recordings people can share and never lose (issues 12 §2 and 14 item 6).

Every file here is written by the real recorder (PyAV: libx264 + AAC) and read back with PyAV:
codecs, durations, the sound track, and sound against picture (a click in the audio and a
flash in the video). Failures are real too: a full disk is a tiny tmpfs (or a file-size limit
where mounting is not allowed), a removed folder is removed, signals are sent to a real
``camfx`` process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from test_audio_mic import virtual_mic  # noqa: F401  (a fixture)

from pipelines.audio.demo_clip import write_wav
from pipelines.audio.inputs import MicInput
from pipelines.audio.mux import MicAudio
from pipelines.audio.ring import AudioRing
from pipelines.errors import OutputError
from pipelines.frame import RESENT, Frame
from pipelines.outputs import recorder
from pipelines.outputs.recorder import VideoFileOutput

av = pytest.importorskip("av")

REPO = Path(__file__).resolve().parent.parent
FPS = 30.0
SYNC_MAX_S = 1.0 / FPS
"""Sound and picture within one frame (issue 14)."""
DURATION_MATCH_S = 0.1
"""The sound track covers the video: equal lengths up to an AAC frame and a video frame."""
SUBPROCESS_TIMEOUT_S = 120
CLICK_AT_S = 1.5
SPEECH = REPO / "pipelines" / "assets" / "talking_head_speech.wav"
SPEECH_RMS_MIN = 0.03
"""The loudest 100 ms of the recorded microphone while the clip plays (about 0.12 measured)."""


# ----------------------------------------------------------------------------- helpers
def camfx(*args: str, **kw: Any) -> subprocess.Popen[str]:
    env = dict(kw.pop("env", None) or os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        **kw,
    )


def finish(proc: subprocess.Popen[str]) -> str:
    try:
        _, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    return err


def wait_until_started(proc: subprocess.Popen[str]) -> None:
    """Read the command's stderr up to its "Ctrl+C to stop" line (model-loading notes, such as
    the inference provider line, may come before it)."""
    assert proc.stderr is not None
    seen = []
    for _ in range(20):
        line = proc.stderr.readline()
        seen.append(line)
        if "Ctrl+C to stop" in line:
            return
        assert line, "".join(seen)
    raise AssertionError("".join(seen))


def wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def streams_of(path: Path) -> dict[str, Any]:
    """Codec names and durations (s), and every video frame decoded (a torn file raises)."""
    with av.open(str(path)) as c:
        info: dict[str, Any] = {"format": c.format.name}
        for s in c.streams:
            kind = s.type
            info[kind] = s.codec_context.name
            info[f"{kind}_s"] = float(s.duration * s.time_base) if s.duration else 0.0
            if kind == "video":
                info["pix_fmt"] = s.codec_context.pix_fmt
    with av.open(str(path)) as c:
        info["frames"] = sum(1 for _ in c.decode(video=0))
    return info


def sound_of(path: Path) -> np.ndarray:
    """The sound track, mono float32."""
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])


def click_time(path: Path) -> float:
    """When the sound first reaches half its peak (a click's onset), in file time."""
    with av.open(str(path)) as c:
        times, values = [], []
        for frame in c.decode(audio=0):
            x = frame.to_ndarray().reshape(-1)
            times.append(float(frame.time) + np.arange(len(x)) / frame.sample_rate)
            values.append(x)
    t, x = np.concatenate(times), np.abs(np.concatenate(values))
    return float(t[np.argmax(x >= 0.5 * x.max())])


def flash_time(path: Path) -> float:
    """When the picture turns white, in file time (median brightness: an overlay in a corner
    does not change it)."""
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            if np.median(frame.to_ndarray(format="gray")) > 128:
                return float(frame.time)
    raise AssertionError(f"no flash in {path}")


def click_track(path: Path, seconds: float, rate: int = 48000) -> None:
    samples = np.zeros(int(seconds * rate), np.float32)
    start = int(CLICK_AT_S * rate)
    samples[start : start + rate // 500] = 0.8  # 2 ms
    write_wav(path, samples, rate)


def flash_video(path: Path, frames: int, size: tuple[int, int]) -> None:
    """Black frames, one white at CLICK_AT_S."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=int(FPS))
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            value = 255 if i == round(CLICK_AT_S * FPS) else 0
            f = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), value, np.uint8), "bgr24")
            f.pts, f.time_base = i, Fraction(1, int(FPS))
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)


def top_level_boxes(path: Path, count: int = 2) -> list[bytes]:
    kinds, pos = [], 0
    with open(path, "rb") as f:
        for _ in range(count):
            f.seek(pos)
            size, kind = int.from_bytes(f.read(4), "big"), f.read(4)
            kinds.append(kind)
            pos += size
    return kinds


# ----------------------------------------------------------------------------- one pass
@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``camfx talking-head render`` of a flash video with a click track."""
    folder = tmp_path_factory.mktemp("render")
    video, voice, out = folder / "flash.mp4", folder / "click.wav", folder / "out.mp4"
    flash_video(video, int(3 * FPS), (256, 256))
    click_track(voice, 3.0)
    proc = camfx(
        "talking-head",
        "render",
        "--source",
        str(video),
        "--audio",
        str(voice),
        "--output",
        str(out),
        "--size",
        "256x256",
    )
    err = finish(proc)
    assert proc.returncode == 0, err
    return out, err


def test_render_is_one_browser_ready_h264_aac_file(rendered: tuple[Path, str]) -> None:
    out, err = rendered
    info = streams_of(out)
    assert info["video"] == "h264" and info["audio"] == "aac", info
    assert info["pix_fmt"] == "yuv420p"
    assert info["frames"] == 90
    assert info["video_s"] == pytest.approx(3.0, abs=1.5 / FPS)
    assert abs(info["audio_s"] - info["video_s"]) < DURATION_MATCH_S, info
    # The index comes first: a browser plays while downloading.
    assert top_level_boxes(out) == [b"ftyp", b"moov"]
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []  # no 2nd pass
    assert f"{out}: 90 frames, 3.0 s (H.264 + AAC)" in err


def test_render_sound_and_picture_within_one_frame(rendered: tuple[Path, str]) -> None:
    out, _ = rendered
    offset = click_time(out) - flash_time(out)
    assert abs(offset) <= SYNC_MAX_S, f"sound is {offset * 1000:+.1f} ms off the picture"
    assert flash_time(out) == pytest.approx(CLICK_AT_S, abs=SYNC_MAX_S)


def test_every_frame_of_a_recording_with_sound_lasts_one_frame(
    rendered: tuple[Path, str],
) -> None:
    """With a sound track the first frame lasted 55 ms and the file read 29.88 fps: the AAC
    encoder's priming (1024 samples, 21 ms before time 0) shifted every later frame, as the
    index written before any sample could not say where the sound starts."""
    out, _ = rendered
    with av.open(str(out)) as c:
        video = c.streams.video[0]
        assert video.average_rate == FPS
        times = [float(frame.time) for frame in c.decode(video=0)]
    with av.open(str(out)) as c:
        sound_starts = float(next(iter(c.decode(audio=0))).time)
    steps = np.diff(times)
    assert times[0] == 0.0 and np.allclose(steps, 1 / FPS, atol=1e-4), steps[:3]
    assert abs(sound_starts - times[0]) < SYNC_MAX_S


def test_microphone_track_is_in_sync_within_one_frame(tmp_path: Path) -> None:
    """A sound card callback (a thread writing 10 ms blocks into the real AudioRing when they
    are due) and frames stamped with time.monotonic(), as a camera and a microphone deliver
    them; the click and the flash happen at the same monotonic instant."""
    rate, block = 48000, 480
    ring = AudioRing(rate * 2)
    mic = MicInput()  # its ring, without PortAudio
    mic.ring, mic.device_rate = ring, rate
    stage = SimpleNamespace(input=mic)
    out = VideoFileOutput(str(tmp_path / "mic.mp4"), audio=MicAudio(stage))
    out.open(64, 64, FPS)
    t0 = time.monotonic()
    click_at = t0 + CLICK_AT_S
    stop = threading.Event()

    def callback_thread() -> None:
        k = 0
        while not stop.is_set():
            due = t0 + (k + block) / rate  # a block is delivered once its last sample is in
            time.sleep(max(0.0, due - time.monotonic()))
            times = t0 + (k + np.arange(block)) / rate
            ring.write(np.where(np.abs(times - click_at - 0.001) <= 0.001, 0.8, 0.0))
            k += block

    producer = threading.Thread(target=callback_thread, daemon=True)
    producer.start()
    try:
        i = 0
        while (now := time.monotonic()) < t0 + 3.0:
            white = abs(now - click_at) < 0.5 / FPS
            image = np.full((64, 64, 3), 255 if white else 0, np.uint8)
            out.write(Frame.new(image, now, i))
            i += 1
            time.sleep(max(0.0, t0 + i / FPS - time.monotonic()))
    finally:
        stop.set()
        producer.join()
        out.close()
    path = tmp_path / "mic.mp4"
    info = streams_of(path)
    assert info["audio"] == "aac" and abs(info["audio_s"] - info["video_s"]) < DURATION_MATCH_S
    offset = click_time(path) - flash_time(path)
    assert abs(offset) <= SYNC_MAX_S, f"sound is {offset * 1000:+.1f} ms off the picture"


class RateChangingVoice:
    """A sound source whose rate changes at :attr:`CHANGE_AT` (frames clock): 48 kHz silence,
    then 16 kHz with a click every 0.25 s from there (another microphone; the window's talking
    head going from silence to its voice file)."""

    CHANGE_AT = 1.0
    clock = "frames"

    def reader(self) -> RateChangingVoice:
        self.until, self.rate = 0.0, 48000
        return self

    def follow(self, ctx: Any) -> bool:
        return False

    def read(self, until: float | None, final: bool = False) -> tuple[np.ndarray, int, float]:
        if until is None or until <= self.until:
            return np.zeros(0, np.float32), self.rate, self.until
        start = self.until
        if until > self.CHANGE_AT:
            self.rate, start = 16000, max(start, self.CHANGE_AT)
        self.until = until
        k = np.arange(round(start * self.rate), round(until * self.rate))
        change = round(self.CHANGE_AT * self.rate)
        clicks = (k >= change) & ((k - change) % (self.rate // 4) == 0)
        return np.where(clicks, 0.8, 0.0).astype(np.float32), self.rate, k[0] / self.rate


def test_a_change_of_rate_keeps_the_sound_where_its_times_put_it(tmp_path: Path) -> None:
    """The sound after a change of rate goes on where the old sound ends, to the sample: the
    track was restarted from the AAC frames encoded so far, leaving out the encoder's queue
    (under one 21 ms AAC frame) and the resampler's tail, and all later sound was that much
    late (18.7 ms here, on the code before)."""
    path = tmp_path / "rate.mp4"
    out = VideoFileOutput(str(path), audio=RateChangingVoice())
    out.live_source = False
    out.open(64, 48, FPS)
    for i in range(round(2.2 * FPS)):
        out.write(Frame.new(np.zeros((48, 64, 3), np.uint8), i / FPS, i))
    out.close()
    sound = sound_of(path)
    found = []
    for at in np.arange(RateChangingVoice.CHANGE_AT, 2.0, 0.25):
        lo = round((at - 0.01) * 48000)
        found.append((lo + int(np.argmax(np.abs(sound[lo : lo + 2400])))) / 48000 - at)
    assert np.max(np.abs(found)) < 0.001, f"clicks off by {np.round(np.array(found) * 1000, 2)} ms"


def test_microphone_driving_the_talking_head_is_recorded(
    virtual_mic: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    """issue 14: "a run with the microphone driving the talking head writes an mp4 with no
    audio track". Speech goes into PulseAudio's null sink, whose monitor is the microphone."""
    out = tmp_path / "mic.mp4"
    proc = camfx(
        "run", "--source", "demo", "--talking-head", "--audio", "mic", "--output", str(out),
        "--frames", "120", "--size", "256x256", env=virtual_mic,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        wait_until_started(proc)
        player = subprocess.Popen(["paplay", "--device=vsink", str(SPEECH)], env=virtual_mic)
    finally:
        err = finish(proc)
    player.kill()
    player.wait()
    assert proc.returncode == 0, err
    info = streams_of(out)
    assert info["video"] == "h264" and info["audio"] == "aac", info
    assert info["frames"] == 120
    assert abs(info["audio_s"] - info["video_s"]) < DURATION_MATCH_S, info
    samples = sound_of(out)
    window = 4800  # 100 ms at 48 kHz
    rms = [
        float(np.sqrt(np.mean(samples[i : i + window] ** 2)))
        for i in range(0, len(samples), window)
    ]
    assert max(rms) > SPEECH_RMS_MIN, f"the microphone's speech is not in the file: {max(rms)}"
    assert f"{out}: 120 frames" in err and "(H.264 + AAC)" in err


def test_without_h264_another_encoder_records_with_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = av.codec.Codec

    def no_h264(name: str, mode: str = "r") -> Any:
        if name in recorder.H264_ENCODERS and mode == "w":
            raise av.codec.codec.UnknownCodecError(name)
        return real(name, mode)

    monkeypatch.setattr(av.codec, "Codec", no_h264)
    path = tmp_path / "fallback.mp4"
    out = VideoFileOutput(str(path))
    with caplog.at_level(logging.WARNING):
        out.open(64, 48, FPS)
        for i in range(10):
            out.write(Frame.new(np.full((48, 64, 3), 20 * i, np.uint8), i / FPS, i))
        out.close()
    notes = [r.getMessage() for r in caplog.records if "no H.264 encoder" in r.getMessage()]
    assert len(notes) == 1 and str(path) in notes[0] and "mpeg4" in notes[0]
    info = streams_of(path)
    assert info["video"] == "mpeg4" and info["frames"] == 10
    assert "(mpeg4)" in out.summary()
    with pytest.raises(OutputError, match="none of the video encoders"):
        recorder.pick_video_encoder(("libx264",))


def test_an_idle_engines_repeats_are_not_recorded(tmp_path: Path) -> None:
    """The engine re-sends its last picture while it idles, marked RESENT: not new video."""
    path = tmp_path / "idle.mp4"
    out = VideoFileOutput(str(path))
    out.open(64, 48, FPS)
    for i in range(6):
        frame = Frame.new(np.full((48, 64, 3), 30 * i, np.uint8), i / FPS, i)
        if i >= 3:
            frame.ctx.put(RESENT, True)
        out.write(frame)
    out.close()
    assert streams_of(path)["frames"] == 3


# ----------------------------------------------------------------------------- failures
@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A 150 KiB filesystem (tmpfs; root only), or None where mounting is not allowed."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=150k", "tmpfs", str(folder)], capture_output=True
    )
    yield folder if mounted.returncode == 0 else None
    if mounted.returncode == 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def file_size_limit(limit_bytes: int) -> Callable[[], None]:
    """A child's ``preexec_fn``: its writes past ``limit_bytes`` fail with EFBIG, as on a disk
    that fills."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return limit


_file_size_limit = file_size_limit(150 * 1024)
_first_fragment_limit = file_size_limit(4 * 1024)  # the header fits, no fragment does


def test_a_recording_full_before_its_first_fragment_leaves_no_file(tmp_path: Path) -> None:
    """A disk full before the first fragment was on it left an 800-byte file no player opens,
    after "none of 60 frames is kept": a new file that holds nothing is removed, and said."""
    path = tmp_path / "take.mp4"
    proc = camfx(
        "run", "--source", "demo", "--output", str(path), "--frames", "90", "--size", "320x240",
        preexec_fn=_first_fragment_limit,
    )  # fmt: skip
    err = finish(proc)
    assert proc.returncode == 1 and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if str(path) in line and "failed" in line]
    assert len(lines) == 1, err
    assert "none of" in lines[0] and "frames is kept and no file is left" in lines[0], lines[0]
    assert not path.exists()


def test_disk_full_stops_that_recording_keeps_what_fits_and_exits_1(
    tmp_path: Path, small_disk: Path | None
) -> None:
    other = tmp_path / "other.mp4"
    if small_disk is not None:
        full = small_disk / "full.mp4"
        outputs = ["--output", str(full), "--output", str(other)]
        proc = camfx("run", "--source", "demo", *outputs, "--frames", "150", "--size", "320x240")
        reason = "the disk is full"
    else:  # not root: a real write error all the same (EFBIG)
        full = tmp_path / "full.mp4"
        proc = camfx(
            "run", "--source", "demo", "--output", str(full), "--output", "null",
            "--frames", "150", "--size", "320x240", preexec_fn=_file_size_limit,
        )  # fmt: skip
        reason = "the largest size"
    err = finish(proc)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if str(full) in line and "failed" in line]
    assert len(lines) == 1, err
    assert reason in lines[0], lines[0]
    assert f"{full}: 150 frames" not in err  # no claim of frames that are not there
    found = re.search(r"(\d+) of (\d+) frames \(([\d.]+) s\) are kept", lines[0])
    assert found is not None, lines[0]
    kept, sent = int(found[1]), int(found[2])
    assert 0 < kept < sent <= 150
    info = streams_of(full)  # what was written plays, and is what the line says
    assert info["video"] == "h264" and info["frames"] == kept
    if small_disk is not None:  # the other recording went on
        assert streams_of(other)["frames"] == 150
        assert f"{other}: 150 frames" in err


def _fill(folder: Path) -> None:
    """Fill ``folder``'s disk to the last byte."""
    with contextlib.suppress(OSError), open(folder / "filler", "wb", buffering=0) as filler:
        while True:
            filler.write(b"\0" * 4096)


def test_a_full_disk_at_the_start_is_one_line_and_keeps_what_was_there(
    small_disk: Path | None,
) -> None:
    """A full disk said "... (No space left on device); use a .mp4 path", left an empty file
    behind, and opening for writing emptied a recording already at that path."""
    if small_disk is None:
        pytest.skip("filling a disk needs a tmpfs mount (root)")
    earlier = small_disk / "earlier.mp4"
    earlier.write_bytes(b"an earlier recording")
    _fill(small_disk)
    new = small_disk / "new.mp4"
    for path, kept in ((new, "no file was made"), (earlier, f"the {earlier} already there")):
        # -y: the recording already there may be replaced, yet not while the disk is full.
        proc = camfx("run", "--output", str(path), "--frames", "5", "--size", "64x48", "-y")
        err = finish(proc)
        assert proc.returncode == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        assert f"recording {path} cannot start: the disk is full" in lines[0], lines[0]
        assert kept in lines[0] and ".mp4 path" not in lines[0], lines[0]
    assert not new.exists()
    assert earlier.read_bytes() == b"an earlier recording"


def test_a_device_that_is_full_is_named_in_one_line(tmp_path: Path) -> None:
    """A write the device refuses as full (``/dev/full``) is the disk-full line, naming the
    file and what is kept, not "... (No space left on device); use a .mp4 path"."""
    path = tmp_path / "full.mp4"
    path.symlink_to("/dev/full")
    # -y: the link is there; what it points to, a device, is written to as it is.
    proc = camfx("run", "--output", str(path), "--frames", "90", "--size", "64x48", "-y")
    err = finish(proc)
    assert proc.returncode == 1 and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if str(path) in line and "failed" in line]
    assert len(lines) == 1, err
    assert "the disk is full" in lines[0] and "frames is kept" in lines[0], lines[0]
    assert ".mp4 path" not in err


def test_removed_folder_stops_that_recording_and_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    target = folder / "x.mp4"
    proc = camfx(
        "run", "--source", "demo", "--output", str(target), "--output", "null",
        "--frames", "150", "--size", "160x120",
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        wait_until_started(proc)
        time.sleep(2.5)  # of a 5 s run: the first fragment is in the file
        assert target.stat().st_size > 0
        shutil.rmtree(folder)
    finally:
        err = finish(proc)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if str(target) in line and "failed" in line]
    assert len(lines) == 1 and "deleted" in lines[0], err
    assert "none of" in lines[0] and "frames is kept" in lines[0]
    assert "processed 150" in err  # the null output went on to the end


def test_sigterm_finishes_every_recording(tmp_path: Path) -> None:
    paths = [tmp_path / f"rec{i}.mp4" for i in range(3)]
    outputs = [arg for p in paths for arg in ("--output", str(p))]
    proc = camfx("run", "--source", "demo", *outputs, "--size", "160x120")
    try:
        assert proc.stderr is not None
        wait_until_started(proc)
        # 1.5 s: each file 1.53 s long against the 1.0 s asked below (3 runs at load 5.5;
        # 2.5 s until 2026-12-06).
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
    finally:
        err = finish(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    frames = set()
    for path in paths:
        info = streams_of(path)
        assert info["video"] == "h264" and info["video_s"] > 1.0, info
        assert f"{path}: {info['frames']} frames" in err
        frames.add(info["frames"])
    assert len(frames) == 1


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_run_with_an_end_cut_short_keeps_its_file_and_says_so(
    tmp_path: Path, sig: int, code: int
) -> None:
    """``--frames N`` stopped early made less than was asked: the exit code says so (as a cut
    short render's does), so ``camfx run ... && upload`` stops; the file is finished. A live
    stream, with no end of its own, still exits 0 (test_sigterm_finishes_every_recording)."""
    out = tmp_path / "cut.mp4"
    proc = camfx(
        "run", "--source", "demo", "--output", str(out), "--size", "160x120",
        "--frames", "3000",
    )  # fmt: skip
    try:
        wait_until_started(proc)
        # 1 s: the file 1.03 s long against the 0.5 s asked below (6 runs at load 5.5; 2 s
        # until 2026-12-06).
        time.sleep(1.0)
        proc.send_signal(sig)
    finally:
        err = finish(proc)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    line = next(line for line in err.splitlines() if "interrupted after" in line)
    assert re.search(rf"interrupted after \d+ of 3000 frames; {re.escape(str(out))} keeps", line)
    info = streams_of(out)
    assert info["video"] == "h264" and 0.5 < info["video_s"] < 100.0, info


def test_a_killed_recording_keeps_its_finished_fragments(tmp_path: Path) -> None:
    """SIGKILL (or a power cut) gives no chance to finish the file: every fragment before it
    is on the disk already, and the file plays without an error.

    The kill may land while the fragment being written is half on the disk (FFmpeg writes a
    fragment's ``moof`` and ``mdat`` in more than one write; a CI run on 2026-12-04 caught
    one such tail in five). Nothing can finish that one; what must hold is that only that
    last fragment is torn: cut after the last complete one (what ``trim_mp4`` does after a
    write error), the file holds every earlier fragment and decodes without an error."""
    path = tmp_path / "killed.mp4"
    proc = camfx("run", "--source", "demo", "--output", str(path), "--size", "160x120")
    try:
        assert proc.stderr is not None
        wait_until_started(proc)
        time.sleep(4.0)
        proc.kill()
    finally:
        finish(proc)
    if recorder.mp4_is_torn(path):
        recorder.trim_mp4(path)
    info = streams_of(path)  # decodes every frame without an error
    assert info["video"] == "h264" and info["frames"] >= FPS * recorder.KEYFRAME_S, info


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_render_keeps_the_sound(tmp_path: Path, sig: int, code: int) -> None:
    voice, out = tmp_path / "voice.wav", tmp_path / "out.mp4"
    rate = 16000
    t = np.arange(30 * rate) / rate
    write_wav(voice, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    proc = camfx(
        "talking-head", "render", "--audio", str(voice), "--output", str(out),
        "--size", "256x256",
    )  # fmt: skip
    try:
        # Fragments close every 2 s of video: wait for the first, then stop half-way.
        wait_for(lambda: out.exists() and out.stat().st_size > 20000)
        proc.send_signal(sig)
    finally:
        err = finish(proc)
    info = streams_of(out)
    assert info.get("audio") == "aac", info  # today's second mux pass never ran: no sound
    assert info["video"] == "h264", info
    assert 1.0 < info["video_s"] < 29.0
    assert abs(info["audio_s"] - info["video_s"]) < DURATION_MATCH_S, info
    samples = sound_of(out)
    assert float(np.sqrt(np.mean(samples**2))) > 0.1  # the tone, not silence
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert f"interrupted; {out} keeps what was rendered" in err
