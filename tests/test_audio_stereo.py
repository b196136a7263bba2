"""A stereo voice file is mixed to mono without losing its voice.

The plain mean of two channels cancels a voice recorded in opposite phase (a miswired
microphone, a phase-inverted export): ``talking-head render --audio stereo_inv.wav`` recorded
a silent track (RMS 0) and the mouth never opened; a voice on one channel only came out at
half its level (QA report 3, item 5). The recording's sound track and the mouth both read
:func:`~pipelines.audio.inputs.decoded_audio`, so these tests read through it too.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from pipelines.audio.inputs import FileInput, decoded_audio, read_audio_file
from pipelines.audio.stage import AudioMouth, AudioMouthSettings
from pipelines.frame import FrameContext

SPEECH = (
    Path(__file__).parent / "data" / "speech" / "sense_and_sensibility_01_austen_64kb-0870.flac"
)
SECONDS = 3.0
INT16_TOL = 2.0 / 32767
"""Two steps of the 16-bit WAV the tests write."""
JAW_OPEN = 0.3


def speech() -> tuple[np.ndarray, int]:
    data, rate = read_audio_file(SPEECH)
    return np.array(data[: int(SECONDS * rate)]), rate


def write_stereo(path: Path, left: np.ndarray, right: np.ndarray, rate: int) -> Path:
    data = np.stack([left, right], axis=1)
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(2)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes((np.clip(data, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.mark.parametrize(
    "name,left,right,expected",
    [
        # (the file's channels from the voice v; the mono voice camfx should get)
        ("centred", 1.0, 1.0, 1.0),  # the mean, as before: the voice at its level
        ("opposite_phase", 1.0, -1.0, 1.0),  # the mean is silence: the louder channel
        ("left_only", 1.0, 0.0, 1.0),  # the mean is half the voice: the left channel
        ("right_louder_inverted_left", -0.3, 0.9, 0.9),  # the mean keeps 33 %: the right one
    ],
)
def test_a_stereo_voice_keeps_its_level(
    tmp_path: Path, name: str, left: float, right: float, expected: float
) -> None:
    voice, rate = speech()
    path = write_stereo(tmp_path / f"{name}.wav", left * voice, right * voice, rate)
    data, got_rate = read_audio_file(path)
    assert got_rate == rate and len(data) == len(voice)
    np.testing.assert_allclose(data, expected * voice, atol=INT16_TOL)


def test_two_unrelated_channels_are_both_heard(tmp_path: Path) -> None:
    # Two voices, one a channel (a two-person interview): the mean keeps 71 % and both.
    voice, rate = speech()
    other = np.roll(voice, len(voice) // 2)
    data, _ = read_audio_file(write_stereo(tmp_path / "two.wav", voice, other, rate))
    np.testing.assert_allclose(data, (voice + other) / 2, atol=INT16_TOL)


def test_the_mouth_opens_on_a_voice_in_opposite_phase(tmp_path: Path) -> None:
    voice, rate = speech()
    path = write_stereo(tmp_path / "inverted.wav", voice, -voice, rate)
    samples, _ = decoded_audio(path)  # what the recording's sound track carries
    assert rms(samples) > 0.9 * rms(voice)
    stage = AudioMouth(
        AudioMouthSettings(input="none", vad=False, fps=30.0), audio=FileInput(str(path))
    )
    stage.open()
    jaws = []
    for i in range(int(SECONDS * 30)):
        ctx = FrameContext(timestamp=i / 30.0, index=i)
        stage.process(np.zeros((4, 4, 3), np.uint8), ctx)
        jaws.append(ctx.audio.params.jaw)
    stage.close()
    assert max(jaws) > JAW_OPEN
