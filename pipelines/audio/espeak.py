"""espeak-ng through its C API (ctypes): speech with the exact sample position of every phoneme.

Used for ground truth in the lip-sync tests, for the shipped demo clip and by ``camfx`` tools
that need a voice without a microphone. libespeak-ng is optional at run time (Debian:
``libespeak-ng1``); :func:`available` says whether it loads.

The library runs in synchronous mode (``AUDIO_OUTPUT_SYNCHRONOUS``) with phoneme events, so
:func:`synthesize` returns when the whole utterance is rendered; each ``espeakEVENT_PHONEME``
carries the sample index (at the voice's own rate, 22 050 Hz) where that phoneme starts.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass, field

import numpy as np

from pipelines.errors import CamfxError

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_PITCH = 3


class EspeakError(CamfxError):
    """libespeak-ng is missing or refused a request."""


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class Phoneme:
    name: str
    """espeak-ng's phoneme mnemonic (``m``, ``aI``, ``@``, ``_:`` for a pause, ...)."""
    start: int
    """First sample, at :attr:`Utterance.sample_rate`."""
    end: int
    """One past the last sample (the next phoneme's start, or the end of the audio)."""


@dataclass
class Utterance:
    samples: np.ndarray
    """float32 mono in [-1, 1]."""
    sample_rate: int
    phonemes: list[Phoneme] = field(default_factory=list)
    voice: str = ""
    text: str = ""

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


class _Engine:
    """The process-wide library handle (espeak-ng is a singleton; calls are serialised)."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(name)
        except OSError as exc:
            raise EspeakError(
                f"libespeak-ng cannot be loaded ({exc}); install it: sudo apt install libespeak-ng1"
            ) from exc
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.lib.espeak_SetSynthCallback.argtypes = [_Callback]
        rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS
        )
        if rate <= 0:
            raise EspeakError("espeak-ng failed to initialise (its data folder is missing?)")
        self.sample_rate = int(rate)
        self.lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, int]] = []
        self._callback = _Callback(self._on_audio)  # kept alive as long as the engine
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav: object, count: int, events: object) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())  # type: ignore[arg-type]
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:  # type: ignore[index]
            ev = events[i]  # type: ignore[index]
            if ev.type == _EVENT_PHONEME:
                self._events.append((ev.id.string.decode("ascii", "replace"), int(ev.sample)))
            i += 1
        return 0

    def synthesize(self, text: str, voice: str, rate_wpm: int, pitch: int | None) -> Utterance:
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise EspeakError(f"espeak-ng has no voice {voice!r}; see `espeak-ng --voices`")
            self.lib.espeak_SetParameter(_PARAM_RATE, int(rate_wpm), 0)
            if pitch is not None:
                self.lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
            self._chunks, self._events = [], []
            data = text.encode("utf-8")
            buf = ctypes.create_string_buffer(data)
            err = self.lib.espeak_Synth(
                buf, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            if err != 0:
                raise EspeakError(f"espeak-ng could not speak {text[:40]!r} (error {err})")
            self.lib.espeak_Synchronize()
            chunks, events = self._chunks, self._events
            self._chunks, self._events = [], []
        samples = (
            np.concatenate(chunks).astype(np.float32) / 32768.0
            if chunks
            else np.zeros(0, np.float32)
        )
        n = len(samples)
        phonemes = []
        for i, (name, start) in enumerate(events):
            end = events[i + 1][1] if i + 1 < len(events) else n
            start, end = min(start, n), min(max(end, start), n)
            phonemes.append(Phoneme(name, start, end))
        return Utterance(samples, self.sample_rate, phonemes, voice, text)


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _get_engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine


def available() -> str | None:
    """None when libespeak-ng works, else why not (for a test's skip reason)."""
    try:
        _get_engine()
    except EspeakError as exc:
        return str(exc)
    return None


def synthesize(
    text: str, voice: str = "en-us", *, rate_wpm: int = 160, pitch: int | None = None
) -> Utterance:
    """Speak ``text`` with ``voice`` (e.g. ``en-us``, ``en-gb+f3``); audio plus phoneme times."""
    return _get_engine().synthesize(text, voice, rate_wpm, pitch)
