"""Putting a sound track into a finished video file (PyAV: FFmpeg's libraries, in-process).

The video stream is copied packet for packet (no re-encoding); the audio is encoded to AAC,
which every player reads in MP4. PyAV is optional: without it, :func:`mux_audio` raises an
:class:`~pipelines.audio.inputs.AudioError` that says how to get it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pipelines.audio.inputs import AudioError
from pipelines.audio.resample import resample

AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
FRAME_SAMPLES = 1024


def _av() -> object:
    try:
        import av
    except ImportError:
        raise AudioError(
            "writing sound into the video needs PyAV: pip install av (the video was written "
            "without sound)"
        ) from None
    return av


def mux_audio(
    video_path: str | os.PathLike[str],
    samples: np.ndarray,
    rate: int,
    out_path: str | os.PathLike[str],
    *,
    bitrate: int = 96000,
) -> Path:
    """Write ``out_path``: the video of ``video_path`` plus ``samples`` (mono float32 at
    ``rate``) as AAC, cut to the video's length. ``out_path`` may equal ``video_path``."""
    av = _av()
    src, dst = Path(video_path), Path(out_path)
    tmp = dst.with_name(f".{dst.stem}.muxing{dst.suffix}")
    samples = np.asarray(samples, np.float32).reshape(-1)
    if rate not in AAC_RATES:
        samples, rate = resample(samples, rate, 48000), 48000
    try:
        with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:  # type: ignore[attr-defined]
            if not inp.streams.video:
                raise AudioError(f"{src} has no video stream to add sound to")
            vin = inp.streams.video[0]
            vout = out.add_stream_from_template(vin)
            aout = out.add_stream("aac", rate=rate)
            aout.bit_rate = bitrate
            aout.layout = "mono"
            duration = None
            if vin.frames and vin.average_rate:
                duration = float(vin.frames / vin.average_rate)
            elif vin.duration is not None and vin.time_base is not None:
                duration = float(vin.duration * vin.time_base)
            if duration is not None:
                samples = samples[: round(duration * rate)]
            for packet in inp.demux(vin):
                if packet.dts is None:
                    continue
                packet.stream = vout
                out.mux(packet)
            for start in range(0, len(samples), FRAME_SAMPLES):
                chunk = samples[start : start + FRAME_SAMPLES]
                frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")  # type: ignore[attr-defined]
                frame.sample_rate = rate
                frame.pts = start
                for packet in aout.encode(frame):
                    out.mux(packet)
            for packet in aout.encode(None):
                out.mux(packet)
    except AudioError:
        tmp.unlink(missing_ok=True)
        raise
    except Exception as exc:  # FFmpeg errors come as several PyAV exception types
        tmp.unlink(missing_ok=True)
        raise AudioError(f"could not add sound to {src}: {exc}") from exc
    os.replace(tmp, dst)
    return dst


def read_audio_track(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """The first audio stream of a media file, mono float32, and its rate (for tests/tools)."""
    av = _av()
    with av.open(str(path)) as container:  # type: ignore[attr-defined]
        if not container.streams.audio:
            raise AudioError(f"{path} has no audio stream")
        stream = container.streams.audio[0]
        rate = int(stream.rate)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)  # type: ignore[attr-defined]
        parts = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1))
    return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), rate
