"""A real microphone path: PulseAudio's null sink as the input device (issue 8).

``../shared/tools/virtual-mic`` (beside the repository) starts a user-mode PulseAudio whose
null-sink monitor is the default capture device; speech played into the sink with ``paplay``
is what sounddevice records. The stage runs in a child process so that PortAudio enumerates
devices after the daemon is up. Speech must move the mouth; silence must leave it closed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PA_CONFIG = REPO.parent / "shared" / "tools" / "virtual-mic" / "pa.pa"
SPEECH = REPO / "pipelines" / "assets" / "talking_head_speech.wav"
SPEECH_JAW_MIN = 0.4
"""Loudest jaw opening while the clip plays."""
SILENCE_JAW_MAX = 0.05

CHILD = textwrap.dedent(
    """
    import json, subprocess, sys, time
    import numpy as np
    from pipelines.audio.stage import AudioMouth, AudioMouthSettings
    from pipelines.frame import FrameContext

    stage = AudioMouth(AudioMouthSettings(input="mic"))
    stage.open()
    status = stage.status
    image = np.zeros((4, 4, 3), np.uint8)
    def run(seconds):
        jaws, t0, i = [], time.monotonic(), 0
        while time.monotonic() - t0 < seconds:
            ctx = FrameContext(timestamp=time.monotonic(), index=i)
            stage.process(image, ctx)
            jaws.append(ctx.audio.params.jaw)
            i += 1
            time.sleep(1 / 30)
        return jaws
    warm = run(1.0)  # the stream starts delivering
    silence = run(1.5)
    player = subprocess.Popen(["paplay", "--device=vsink", sys.argv[1]])
    speech = run(float(sys.argv[2]))
    player.wait(timeout=10)
    samples, live = stage.input.position, stage.input.live
    stage.close()
    print(json.dumps({"status": status, "silence": silence, "speech": speech,
                      "samples": samples, "live": live}))
    """
)


def _skip_reason() -> str | None:
    if not PA_CONFIG.is_file():
        return f"virtual microphone config not found at {PA_CONFIG} (shared/ beside the repo)"
    for tool in ("pulseaudio", "paplay"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: pulseaudio pulseaudio-utils)"
    try:
        import sounddevice  # noqa: F401
    except OSError as exc:
        return f"PortAudio is missing ({exc}); Debian: libportaudio2"
    return None


@pytest.fixture
def virtual_mic():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    runtime = tempfile.mkdtemp(prefix="camfx-pulse-")
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime, HOME=os.environ.get("HOME", "/root"))
    started = subprocess.run(
        ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n", "-F", str(PA_CONFIG)],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    if started.returncode != 0:
        shutil.rmtree(runtime, ignore_errors=True)
        pytest.skip(f"pulseaudio did not start: {started.stderr.strip()[-300:]}")
    try:
        yield env
    finally:
        subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True, timeout=20)
        shutil.rmtree(runtime, ignore_errors=True)


def _speech_clip(folder: Path) -> tuple[Path, float]:
    """A two-second sentence (espeak-ng), or the shipped demo clip without it."""
    from pipelines.audio import espeak

    if espeak.available() is not None:
        return SPEECH, 8.0
    from pipelines.audio.demo_clip import write_wav

    u = espeak.synthesize("Bob bought a big map of the park.", "en-us")
    path = folder / "speech.wav"
    write_wav(path, u.samples, u.sample_rate)
    return path, u.duration + 0.6


def test_speech_into_the_virtual_mic_moves_the_mouth(virtual_mic: dict, tmp_path: Path) -> None:
    clip, seconds = _speech_clip(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(clip), str(seconds)],
        env=virtual_mic,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["live"], result["status"]
    assert result["samples"] >= 16000 * seconds, "the microphone delivered too little audio"
    silence, speech = result["silence"], result["speech"]
    assert max(silence) <= SILENCE_JAW_MAX, f"mouth moved in silence: {max(silence):.2f}"
    assert max(speech) >= SPEECH_JAW_MIN, f"speech opened the mouth only to {max(speech):.2f}"
    moving = sum(1 for j in speech if j > 0.1) / len(speech)
    assert moving > 0.2, f"mouth open in only {moving:.0%} of the speech frames"
