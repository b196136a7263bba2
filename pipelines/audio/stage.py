"""The ``audio_mouth`` stage: audio in, mouth parameters out (``ctx.audio``), every frame.

It reads the audio input up to the instant the frame stands for, runs VAD and the mouth
analyzer on the new samples (10 ms hops), and puts an :class:`AudioState` into ``ctx.audio``
for the avatar to render. No input device, or no VAD model, is not an error: the state says
why, the avatar idles, and the log says it once.

Clocks: a microphone is read as it comes (``wall``): its mouth trails the voice heard at the
frame's capture by the analyzer's latency and the device's, less the frame's wait for this
stage, and each frame's :class:`FrameVoice` says by how much (``mouth_lag_s``), which is where a
recording places the microphone's sound. A file is read by frame number
(``frames``: frame *i* is audio time *i* / fps), so a recording gets lips and voice in step no
matter how fast frames are rendered; a live source's frames (a camera) are read at their
capture time instead (:class:`~pipelines.frame.FrameClock`: the file plays in real time
whatever rate the camera gives or the machine keeps up with); the analyzer's own delay is
looked ahead over in that mode, since the file is all there. Audio more than
:data:`MAX_CATCH_UP_S` before a frame's instant is skipped, not analysed (a file picked while
a camera runs).

``video_delay_ms`` delays the pictures by that much (a small FIFO) and picks the mouth
estimate that describes the audio of the delayed picture: with a delay at least the analyzer's
latency (~20 ms), the lips match the voice exactly; more than that lets the far end's audio
path catch up with the video.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated, Literal, get_args

import numpy as np
from msgspec import Meta

from pipelines.audio.inputs import AudioError, AudioInput, NoAudio, make_audio_input
from pipelines.audio.mouth import NEUTRAL, AnalyzerSettings, MouthAnalyzer, MouthParams
from pipelines.audio.resample import ANALYSIS_RATE
from pipelines.errors import CamfxError, ModelError
from pipelines.frame import FrameClock, FrameContext
from pipelines.schema import FileField, FileKind, Fps, VideoDelayMs
from pipelines.stage import Stage, StageSettings, register_stage

if TYPE_CHECKING:
    from pipelines.inference import OnnxModel

log = logging.getLogger(__name__)

STAGE_NAME = "audio_mouth"
Clock = Literal["auto", "wall", "frames"]

MAX_CATCH_UP_S = 0.25
"""On the frames clock, how much audio before a frame's instant is read and analysed at most;
what lies before is skipped. A voice file picked while a camera runs is at audio time
index / fps on its first frame: that frame read and analysed the file from its start, 0.73 s
of CPU on the processing thread after a minute of video, 8.9 s after ten (2026-12-06). A
recording's frames come one by one and never skip; the networks' context is under 0.25 s."""
CLOCKS: tuple[str, ...] = get_args(Clock)
MIC_SILENT_S = 1.0
"""A running microphone that delivers nothing for this long is said to be gone (unplugged,
or its sound server stopped), and until it delivers again its frames carry no mouth lag, so a
recording keeps them at their capture times. With the virtual PulseAudio microphone's server
killed mid-run, the frames' mouths read sound ever older and a recording moved each frame
earlier by as much as it may (half the spacing): the rest of the recording played at twice
the speed, with nothing said (qa62, 2026-12-07). Starved deliveries under load last 0.15-0.33
s (:meth:`~pipelines.audio.mux.AudioReader.frame_offset`)."""
MIC_FIRST_SOUND_S = 5.0
"""A microphone that has delivered nothing at all this long after the talking head's first
frame is said to give no sound. The virtual PulseAudio microphone's first sound came 1-2 s after
its open on the 2-core machine, once over 5 s (2026-12-08); a recording of such a run, its
microphone killed after 25 ms of sound, played at twice the speed from then on (the gone
microphone's rule waited for a second of sound)."""
MIC_SILENT_SAID = "has given no sound"
"""The words of the report that a microphone is gone (:data:`MIC_SILENT_S`): the window clears
that bar, and only that one, when the microphone delivers again."""
MOUTH_LAG_WINDOW_S = 1.0
"""A microphone's mouth lag (:attr:`FrameVoice.mouth_lag_s`) is the median over this much of
the latest frames, and settled once this much was measured. The first frames after a start
wait behind the stages' first runs: 85-330 ms from capture to this stage in a stand-in run's
first nine frames (the 2-core machine, 2026-12-06), against 4 ms from then on, and in them
the mouth is read from sound heard well after the picture; a second's median leaves them out."""


@dataclass(frozen=True)
class FrameVoice:
    """The voice a frame's mouth was read from, for a recording's sound track
    (:class:`~pipelines.audio.mux.TalkingHeadVoice`): carried by the frame, so a recording
    changes voice on the frame whose picture changed, not when the recorder, on its own
    thread behind the stages, would notice the change."""

    input: AudioInput
    """The stage's input in this frame (a microphone's ring, or a voice file's samples)."""
    clock: Literal["wall", "frames"]
    """How the stage read it in this frame (see :meth:`AudioMouth.clock_for`)."""
    fps: float
    """The stage's frame rate: on the frames clock, frame *i* mouthed voice time *i* / fps."""
    mouth_lag_s: float | None = None
    """A microphone (wall clock): how far the mouth drawn from this stage trails the voice
    heard at a frame's capture time, measured over the latest frames
    (:data:`MOUTH_LAG_WINDOW_S`); None before anything was heard, and for a voice file, which
    is mouthed in step."""
    mouth_lag_settled: bool = False
    """:attr:`mouth_lag_s` was measured over the whole window."""
    frame_lag_s: float | None = None
    """A microphone: how far this frame's own mouth trails the voice heard at its capture
    time (:attr:`mouth_lag_s` is the median over the latest frames). It is smaller by as
    long as the frame waited to get to this stage: the mouth is read from the newest sound,
    which is what the far end of a call should see with the late picture, but a recording
    times the frame by its capture (:meth:`~pipelines.audio.mux.AudioReader.frame_offset`)."""
    played_from: float | None = None
    """A voice file on the frames clock with a live source's frames: the capture time at which
    its time 0 lies (the frame at capture time *t* mouthed voice time *t* - played_from, see
    :class:`~pipelines.frame.FrameClock`); None where frame *i* mouthed *i* / fps."""


@dataclass
class AudioState:
    """What ``audio_mouth`` leaves in ``ctx.audio`` for this frame."""

    params: MouthParams = NEUTRAL
    active: bool = False
    """An input is delivering samples."""
    status: str = ""
    """One line for the user: the input in use, or why there is none."""
    latency_ms: float = 0.0
    """How far the mouth lags the voice in this frame (0 when looked ahead or compensated)."""
    history: list[MouthParams] = field(default_factory=list)
    """The 10 ms estimates computed during this frame (oldest first)."""
    voice: FrameVoice | None = None
    """What spoke in this frame; None without an input."""


@dataclass(frozen=True)
class AudioMouthSettings(StageSettings):
    input: Annotated[str, FileField((FileKind.SOUND,), words="mic, mic:NAME, none")] = "mic"
    """mic, mic:NAME-OR-INDEX, none, or a sound file's path."""
    loop: bool = True
    """Files start over at their end."""
    clock: Clock = "auto"
    """auto (files by frame number, microphones live), wall or frames."""
    fps: Fps = 30.0
    """Frame rate for the frames clock."""
    video_delay_ms: VideoDelayMs = 0.0
    gain: Annotated[float, Meta(ge=0.2, le=3.0)] = 1.0
    """Exaggerates (>1) or calms (<1) the jaw."""
    vad: bool = True
    """Use Silero VAD (off: a signal-to-noise gate, which noise can fool)."""
    vad_threshold: Annotated[float, Meta(ge=0.05, le=0.95)] = 0.5


@register_stage
class AudioMouth(Stage[AudioMouthSettings]):
    name = STAGE_NAME
    settings_type = AudioMouthSettings

    def __init__(
        self,
        settings: AudioMouthSettings | None = None,
        *,
        audio: AudioInput | None = None,
        required: bool = False,
    ) -> None:
        """``required``: an input that cannot open is an error (:meth:`open` raises), not
        an idle talking head. A render or a command line named that voice; a silent video
        is not what it asked for. (Not a setting: the window's talking head always idles.)"""
        super().__init__(settings)
        self._given_input = audio
        self.required = required
        self.input: AudioInput = NoAudio()
        self.analyzer: MouthAnalyzer | None = None
        self.status = ""
        self._history: deque[MouthParams] = deque(maxlen=200)
        self._frames: deque[tuple[float, np.ndarray]] = deque()
        self._opened_with: tuple[str, bool, bool] | None = None
        self._mouth_lags: deque[tuple[float, float]] = deque()
        """(capture time, how far its mouth trailed the voice heard then) per recent frame."""
        self._mouth_lag_since: float | None = None
        """Capture time of the first frame whose mouth lag was measured since :meth:`open`."""
        self.frame_clock = FrameClock(self.settings.fps)
        """The frames clock's time of each frame."""
        self._start_gap_told = False
        """The input's start gap (a microphone's) was looked at since :meth:`open`."""
        self._silent_since: float | None = None
        self._silence_told = False

    # Lifecycle ----------------------------------------------------------------
    def open(self) -> None:
        s = self.settings
        notes = []
        audio = self._given_input
        if audio is None:
            try:
                audio = make_audio_input(s.input, loop=s.loop) if s.input else NoAudio()
            except AudioError as exc:
                audio = None
                notes.append(str(exc))
        if audio is not None:
            try:
                audio.open()
                self.input = audio
            except CamfxError as exc:
                notes.append(str(exc))
                self.input = NoAudio()
        if notes and self.required:
            raise AudioError(f"audio input {s.input!r}: {notes[0]}")
        vad = None
        if s.vad:
            try:
                from pipelines.audio.vad import StreamingVad

                vad = StreamingVad()
            except Exception as exc:  # ModelError, or onnxruntime refusing the file
                if self.required:
                    # A run that asked for this voice fails as for any model camfx ships that
                    # is changed or gone (it went on with an energy gate, exit 0: qa64); the
                    # window's talking head goes on with the gate, and says so.
                    raise ModelError(f"voice activity model: {exc}") from None
                notes.append(f"voice activity model unavailable ({exc}); using an energy gate")
        self.analyzer = MouthAnalyzer(self._analyzer_settings(s), vad)
        if self.required and self.analyzer.jaw_net is None:
            from pipelines.audio.mouth_net import unavailable_reason

            raise ModelError(f"jaw network: {unavailable_reason() or 'unavailable'}")
        # Its first push (the voice and jaw networks' first runs, NumPy's first FFT) took
        # 10-15 ms against 0.5 ms later on, on the first frame after a switch to the talking
        # head: done here, on a tenth of a second of silence, and forgotten.
        self.analyzer.push(np.zeros(ANALYSIS_RATE // 10, np.float32))
        self.analyzer.reset()
        if isinstance(self.input, NoAudio):
            self.status = "no audio input" + (f": {notes[0]}" if notes else "")
        else:
            self.status = self.input.description + (f" ({'; '.join(notes)})" if notes else "")
        if notes:
            idles = " (the talking head idles)" if isinstance(self.input, NoAudio) else ""
            # A report, not only a log line: the window shows it as a bar (a voice file that
            # is missing or no sound, `mic:NAME` not found), and the engine logs it as well.
            self.report(f"{'; '.join(notes)}{idles}")
        self._opened_with = (s.input, s.loop, s.vad)
        self._history.clear()
        self._frames.clear()
        self._mouth_lags.clear()
        self._mouth_lag_since = None
        self._start_gap_told = not self.input.live  # only a microphone has a start gap
        self._silent_since = None
        self._silence_told = False
        super().open()

    def models(self) -> tuple[OnnxModel, ...]:
        """The voice activity network (with ``vad`` on) and the jaw network, each where it
        loaded: without them the analyzer runs its energy gate and linear read-out."""
        from pipelines.audio.vad import StreamingVad
        from pipelines.inference import OnnxModel

        analyzer = self.analyzer
        if analyzer is None:
            return ()
        vad = analyzer.vad
        held = (vad.model if isinstance(vad, StreamingVad) else None, analyzer.jaw_net)
        return tuple(model for model in held if isinstance(model, OnnxModel))

    def close(self) -> None:
        try:
            self.input.close()
        finally:
            self.input = NoAudio()
            self._frames.clear()
            super().close()

    @staticmethod
    def _analyzer_settings(s: AudioMouthSettings) -> AnalyzerSettings:
        return AnalyzerSettings(
            vad_on=s.vad_threshold, vad_off=max(0.02, s.vad_threshold - 0.2), gain=s.gain
        )

    # Processing ---------------------------------------------------------------
    def clock_for(self, s: AudioMouthSettings) -> Literal["wall", "frames"]:
        if s.clock != "auto":
            return s.clock
        return "wall" if self.input.live else "frames"

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        if self._opened_with != (s.input, s.loop, s.vad) and self._given_input is None:
            self.close()  # the input itself changed: reopen with the new one
            self.open()
        analyzer = self.analyzer
        assert analyzer is not None
        a_settings = self._analyzer_settings(s)
        if analyzer.settings != a_settings:
            analyzer.settings = a_settings
        latency = analyzer.latency_s
        delay = s.video_delay_ms / 1000.0
        clock = self.clock_for(s)
        if clock == "frames":
            # Frame i shows audio time i/fps (a live frame: its capture time); look ahead over
            # the analyzer's delay.
            self.frame_clock.fps = s.fps
            until = round((self.frame_clock.time_of(ctx) + latency) * ANALYSIS_RATE)
            self.input.skip_to(until - round(MAX_CATCH_UP_S * ANALYSIS_RATE))
            samples = self.input.pull(until)
        else:
            samples = self.input.pull(None)
        gone = self._microphone_gone(ctx.timestamp, len(samples) > 0)
        if not self._start_gap_told and self.input.start_gap_s is not None:
            # Once measured: a log line, and the window's bar (not only the log, which a
            # window's user does not see).
            self._start_gap_told = True
            notice = self.input.start_gap_notice
            if notice:
                self.report(notice)
        t0 = time.perf_counter()
        new = analyzer.push(samples)
        # The analysis alone (VAD + features), apart from reading the input: `camfx bench`.
        ctx.stage_ms[f"{STAGE_NAME}/analysis"] = (time.perf_counter() - t0) * 1000.0
        self._history.extend(new)

        params = analyzer.last
        lag = 0.0 if clock == "frames" else latency
        out = image
        if clock != "frames" and delay > 0:
            out = self._delayed(image, ctx.timestamp, delay)
            # The estimate that describes the delayed picture's instant.
            want = analyzer.time - delay + latency
            for p in reversed(self._history):
                if p.time <= want + 1e-9:
                    params = p
                    break
            lag = max(0.0, latency - delay)
        voice = None
        if not isinstance(self.input, NoAudio):
            played = self.frame_clock.played_from if clock == "frames" else None
            voice = FrameVoice(self.input, clock, s.fps, played_from=played)
            if clock == "wall" and not gone:
                lags = self._mouth_lag(ctx.timestamp, params)
                if lags is not None:
                    mouth_lag, frame_lag = lags
                    voice = replace(
                        voice,
                        mouth_lag_s=mouth_lag,
                        mouth_lag_settled=self._lag_settled(),
                        frame_lag_s=frame_lag,
                    )
                    # The picture goes out ``delay`` late: the rest is what the far end sees.
                    lag = max(0.0, mouth_lag - delay)
        ctx.audio = AudioState(
            params=params,
            active=not isinstance(self.input, NoAudio) and not self.input.ended,
            status=self.status,
            latency_ms=lag * 1000.0,
            history=list(new),
            voice=voice,
        )
        return out

    @property
    def silent_microphone(self) -> str | None:
        """The running microphone's description while it is gone (it has delivered nothing for
        :data:`MIC_SILENT_S`, which was reported); None otherwise, and without a microphone.
        The window's Microphone row reads it: the device list alone still lists it."""
        return self.input.description if self._silence_told else None

    def _microphone_gone(self, timestamp: float, delivered: bool) -> bool:
        """Whether a running microphone has delivered nothing for :data:`MIC_SILENT_S` (said
        once, until it delivers again), or nothing at all for :data:`MIC_FIRST_SOUND_S` since
        its first frame. A start gap shorter than that is said apart, once measured."""
        if not self.input.live:
            return False
        if delivered:
            if self._silence_told:
                # A warning as the loss was (the command line shows warnings, not info lines).
                log.warning(
                    "%s: %s delivers sound again: the talking head hears it",
                    STAGE_NAME,
                    self.input.description,
                )
                # Its mouth lag is measured again, as at a start: what was measured before
                # the loss describes another stream (a new one, where it was opened again).
                self._mouth_lags.clear()
                self._mouth_lag_since = None
            self._silent_since, self._silence_told = None, False
            return False
        if self._silent_since is None:
            self._silent_since = timestamp
        # Nothing delivered yet since the open: a slow start, until it has lasted longer.
        never = self.input.newest_heard is None
        silent_s = timestamp - self._silent_since
        if silent_s < (MIC_FIRST_SOUND_S if never else MIC_SILENT_S):
            return False
        self.input.reopen_if_stopped()
        if not self._silence_told:
            self._silence_told = True
            self.report(
                f"{self.input.description} {MIC_SILENT_SAID} since it opened {silent_s:.0f} s "
                "ago (muted in the system, or its sound server is stuck): the talking head "
                "hears silence until it delivers"
                if never
                else f"{self.input.description} {MIC_SILENT_SAID} for {MIC_SILENT_S:g} s "
                "(unplugged, or its sound server stopped): the talking head hears silence "
                "until it is back"
            )
        return True

    def _mouth_lag(self, timestamp: float, params: MouthParams) -> tuple[float, float] | None:
        """(The median over the latest frames of how far their mouth trailed the voice heard
        at their capture time, this frame's own with ``params``); None while nothing was heard.

        ``params`` describes the analysed sound ``latency_s`` before the end of its 10 ms hop
        (``params.time``), and the input says when the newest sample it handed out (the
        analyser's newest, ``analyzer.time``) was heard. The mouth is read when the frame gets
        here, after its capture (the stages before this one): it trails by the analyser's
        latency, the part hop it holds and the device's latency, less that wait."""
        heard = self.input.newest_heard
        analyzer = self.analyzer
        if heard is None or analyzer is None or params is NEUTRAL:
            return None
        described = heard - (analyzer.time - params.time) - analyzer.latency_s
        lags = self._mouth_lags
        lags.append((timestamp, timestamp - described))
        while lags[0][0] < timestamp - MOUTH_LAG_WINDOW_S:
            lags.popleft()
        if self._mouth_lag_since is None:
            self._mouth_lag_since = timestamp
        return float(np.median([lag for _, lag in lags])), timestamp - described

    def _lag_settled(self) -> bool:
        since, lags = self._mouth_lag_since, self._mouth_lags
        return since is not None and bool(lags) and lags[-1][0] - since >= MOUTH_LAG_WINDOW_S

    def _delayed(self, image: np.ndarray, now: float, delay: float) -> np.ndarray:
        self._frames.append((now, image.copy()))
        # Keep the newest frame at least `delay` old, drop older ones.
        while len(self._frames) > 1 and self._frames[1][0] <= now - delay + 1e-6:
            self._frames.popleft()
        # A copy: later stages may draw into what they get, and this one may be handed out again.
        return self._frames[0][1].copy()
