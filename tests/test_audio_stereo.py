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
        ("opposite_phase", 1.0, -1.0, 1.0),  # the mean is silence: (L - R) / 2
        ("partly_opposite_phase", 1.0, -0.8, 0.9),  # the mean keeps 0.1: (L - R) / 2
        ("left_only", 1.0, 0.0, 1.0),  # the mean is half the voice: the left channel
        ("right_quiet_left_silent", 0.0, 0.3, 0.3),  # the right channel, at its level
        # the mean keeps 0.3: the quieter (left) flipped, as a voice in phase, at the mean
        # of the two levels, with the louder channel's polarity
        ("right_louder_inverted_left", -0.3, 0.9, 0.6),
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


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.parametrize("noise_kind", ["hum_50hz", "white_noise"])
def test_a_voice_beside_a_louder_hum_or_noise_is_the_one_recorded(
    tmp_path: Path, noise_kind: str
) -> None:
    # QA report 4, item 5: the voice on the left, 50 Hz hum (twice the voice's level) or white
    # noise (four times) on the right; "the louder channel" recorded the hum alone
    # (correlation 0.00 with the voice, 1.00 with the hum) and the mouth mouthed it.
    voice, rate = speech()
    level = rms(voice)
    t = np.arange(len(voice)) / rate
    noise = {
        "hum_50hz": 2 * level * np.sqrt(2) * np.sin(2 * np.pi * 50 * t),
        "white_noise": 4 * level * np.random.default_rng(0).standard_normal(len(voice)),
    }[noise_kind].astype(np.float32)
    path = write_stereo(tmp_path / f"{noise_kind}.wav", voice, noise, rate)
    samples, _ = decoded_audio(path)  # what the recording's sound track carries
    with_voice, with_noise = correlation(samples, voice), correlation(samples, noise)
    assert with_voice >= 0.5 and with_voice > with_noise, (with_voice, with_noise)
    assert rms(samples) == pytest.approx(level, rel=0.05)  # the voice at its own level


def test_a_voice_beside_music_like_sound_keeps_the_mean(tmp_path: Path) -> None:
    # The other channel's level varies (here: the same speech, a second later), so it may be
    # a voice too: both are kept, neither channel is dropped for being louder.
    voice, rate = speech()
    other = 2 * np.roll(voice, rate)
    data, _ = read_audio_file(write_stereo(tmp_path / "varying.wav", voice, other, rate))
    np.testing.assert_allclose(data, (voice + other) / 2, atol=INT16_TOL)
