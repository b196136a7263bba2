"""``camfx talking-head render``: a video file with the voice muxed in, lips in step with it."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from audio_support import require_espeak

pytestmark = pytest.mark.clock_free

FPS = 30.0
SYNC_MAX_FRAMES = 1
"""Best match between mouth opening in the video and loudness in its own sound track, in
frames (33 ms at 30 fps; the issue allows 40 ms)."""
SYNC_R_MIN = 0.75
"""...with at least this Pearson r (the tracked opening: 0.87 on 2026-12-06; the dark share of
a fixed box around the mouth, measured before, 0.58 against a limit of 0.5)."""


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
    """The mouth's opening in the written video, read as the issue reads it (the inner-lip
    distance over the face height, by the project's own tracker on the decoded frames),
    follows the loudness of the file's own sound track, within a frame. (A fixed box's dark
    share measured it until 2026-12-06: the speech-driven nods carry the mouth through such a
    box, and once the render's frames were stamped with their media time (the same frames
    under any load) its best lag was 2 frames, r 0.58-0.59, with the tracked opening at lag 0.)"""
    import av

    from pipelines.audio.inputs import read_audio_file
    from pipelines.avatar.tracked import measuring_tracker, opening
    from pipelines.frame import FrameContext

    out, _ = rendered
    tracker = measuring_tracker()
    tracker.open()
    opened: list[float] = []  # the tracked opening (NaN where the face was lost)
    try:
        with av.open(str(out)) as c:
            for i, frame in enumerate(c.decode(video=0)):
                ctx = FrameContext(timestamp=i / FPS, index=i)
                tracker.process(frame.to_ndarray(format="bgr24"), ctx)
                face = ctx.primary_face
                opened.append(
                    np.nan if face is None else opening(np.asarray(face.landmarks, np.float64))
                )
    finally:
        tracker.close()
    assert np.isfinite(opened).mean() >= 0.95, "the tracker lost the avatar's face"
    samples, rate = read_audio_file(out)  # the file's own sound, as a viewer hears it
    per = rate / FPS
    # Frame i shows the instant i / fps: loudness over the frame period centred there.
    loud = np.array(
        [
            np.sqrt(np.mean(samples[max(0, int((i - 0.5) * per)) : int((i + 0.5) * per)] ** 2))
            for i in range(len(opened))
        ]
    )
    opened_a, loud_a = np.asarray(opened), np.log10(loud + 1e-4)

    def r(lag: int) -> float:
        a, b = (
            (opened_a[lag:], loud_a[: len(loud_a) - lag])
            if lag >= 0
            else (opened_a[:lag], loud_a[-lag:])
        )
        seen = np.isfinite(a)
        return float(np.corrcoef(a[seen], b[seen])[0, 1])

    scores = {lag: r(lag) for lag in range(-6, 7)}
    best = max(scores, key=scores.get)  # type: ignore[arg-type]
    print(f"mouth vs sound: best lag {best} frames, r = {scores[best]:.2f}")
    assert abs(best) <= SYNC_MAX_FRAMES
    assert scores[best] >= SYNC_R_MIN
