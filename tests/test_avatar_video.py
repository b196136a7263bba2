"""``camfx talking-head render``: a video file with the voice muxed in, lips in step with it."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from audio_support import require_espeak

FPS = 30.0
SYNC_MAX_FRAMES = 1
"""Best match between mouth opening in the video and loudness in its own sound track, in
frames (33 ms at 30 fps; the issue allows 40 ms)."""
SYNC_R_MIN = 0.5


def parse(argv: list[str]) -> argparse.Namespace:
    from app import talking_head_cmd

    parser = argparse.ArgumentParser()
    talking_head_cmd.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    require_espeak()
    pytest.importorskip("av", reason="muxing the sound needs PyAV")
    from pipelines.audio import espeak
    from pipelines.audio.demo_clip import write_wav

    folder = tmp_path_factory.mktemp("talking_head_video")
    u1 = espeak.synthesize("Bob made a map of the moon.", "en-us")
    u2 = espeak.synthesize("Father parked the car far away.", "en+f3")
    gap = np.zeros(int(0.5 * u1.sample_rate), np.float32)
    speech = folder / "speech.wav"
    write_wav(speech, np.concatenate([gap, u1.samples, gap, u2.samples, gap]), u1.sample_rate)
    out = folder / "out.mp4"
    args = parse(
        [
            "talking-head",
            "render",
            "--source",
            "demo:0",
            "--audio",
            str(speech),
            "--output",
            str(out),
            "--size",
            "256x256",
            "--avatar-mode",
            "stand-in",
        ]
    )
    assert args.func(args) == 0
    return out, speech


def test_video_carries_the_audio(rendered: tuple[Path, Path]) -> None:
    import av

    out, speech = rendered
    from pipelines.audio.inputs import read_audio_file

    data, rate = read_audio_file(speech)
    with av.open(str(out)) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        assert audio.codec_context.name == "aac"
        assert video.codec_context.name == "h264"
        # A fragmented MP4 has no frame count in its header: its duration says how long it is.
        v_seconds = float(video.duration * video.time_base)
        a_seconds = float(audio.duration * audio.time_base)
    assert abs(v_seconds - len(data) / rate) <= 2.0 / FPS  # whole frames cover the sound
    assert abs(a_seconds - v_seconds) < 0.1


def test_lips_move_with_the_sound_track(rendered: tuple[Path, Path]) -> None:
    import av

    from pipelines.audio.inputs import read_audio_file
    from pipelines.avatar.stage import avatar_for

    out, _ = rendered
    lm = avatar_for("").portrait.landmarks * (256 / 512)  # stand-in: the avatar fills 256²
    mouth = lm[[13, 14, 61, 291], :2]
    x0, y0 = np.floor(mouth.min(axis=0) - np.array([2, 4])).astype(int)
    x1, y1 = np.ceil(mouth.max(axis=0) + np.array([2, 12])).astype(int)
    dark = []
    with av.open(str(out)) as c:
        for frame in c.decode(video=0):
            img = frame.to_ndarray(format="gray")
            dark.append(float((img[y0:y1, x0:x1] < 60).mean()))
    samples, rate = read_audio_file(out)  # the file's own sound, as a viewer hears it
    per = rate / FPS
    # Frame i shows the instant i / fps: loudness over the frame period centred there.
    loud = np.array(
        [
            np.sqrt(np.mean(samples[max(0, int((i - 0.5) * per)) : int((i + 0.5) * per)] ** 2))
            for i in range(len(dark))
        ]
    )
    dark_a, loud_a = np.asarray(dark), np.log10(loud + 1e-4)

    def r(lag: int) -> float:
        a, b = (
            (dark_a[lag:], loud_a[: len(loud_a) - lag])
            if lag >= 0
            else (dark_a[:lag], loud_a[-lag:])
        )
        return float(np.corrcoef(a, b)[0, 1])

    scores = {lag: r(lag) for lag in range(-6, 7)}
    best = max(scores, key=scores.get)  # type: ignore[arg-type]
    print(f"mouth vs sound: best lag {best} frames, r = {scores[best]:.2f}")
    assert abs(best) <= SYNC_MAX_FRAMES
    assert scores[best] >= SYNC_R_MIN
