"""Life: blinks, head motion while speaking, listening behaviour while silent, pose mirroring.

Everything is a function of the time it is given (and a seeded random generator), never of
the wall clock, so a recording renders the same every time and tests can step through it.

* Blinks come at gamma-distributed intervals (mean ~3.6 s while silent, ~2.6 s while
  speaking, never under 1.2 s; people blink 15–20 times a minute at rest and more while
  talking), often just as a phrase ends (speakers blink at pauses), take ~280 ms (a fast
  close, a closed moment in which a tracker sees the eye shut, a slower open) and sometimes
  come in pairs.
* Speaking: small nods that follow the loudness (beat gestures) and a slow sway.
* Listening (silent for a moment), after the listening-head literature: occasional small nods,
  gaze shifts that hold for a few seconds, a now-and-then smile, a slow sway.
* When the live tracker sees the user, the head copies the user's yaw, pitch and roll.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipelines.audio.mouth import NEUTRAL, MouthParams
from pipelines.avatar.rig import DEFAULT_AMPLITUDES, SIGNED_AXES, mouth_weights

BLINK_MEAN_S = 3.6
"""Mean interval between blinks while silent (~17 a minute, the resting rate)."""
BLINK_SPEAKING_MEAN_S = 2.6
"""...and while speaking: people blink more while talking (Bentivoglio et al. 1997: 26 a
minute against 17 at rest). With the pauses' blinks, 27 against 18 a minute over phrases of
3 s and pauses of 1.2 s (tests/test_avatar_blinks.py)."""
PAUSE_BLINK_P = 0.5
"""Chance of a blink just as speech stops (a phrase's end), if none came in the last
:data:`BLINK_MIN_S`: speakers' blinks cluster at pauses, not mid-word."""
PAUSE_BLINK_DELAY_S = (0.05, 0.25)
"""A pause's blink starts this long after the voice stops."""
BLINK_MIN_S = 1.2
BLINK_CLOSE_S = 0.08
BLINK_HOLD_S = 0.06
BLINK_OPEN_S = 0.14
DOUBLE_BLINK_P = 0.12
LISTEN_AFTER_S = 0.8
"""Silence before the listening behaviour starts."""
JAW_CURVE = 0.7
"""Exponent from the voice's jaw value to the jaw basis's weight."""
PROSODY_S = 0.6
"""Time constant of the phrase loudness that lifts and sways the head while speaking."""
MIRROR_BASELINE_S = 4.0
"""Time constant of the user's habitual head pose while mirroring."""
MIRROR_BASELINE_SHARE = 0.35
"""Share of that habitual pose the avatar copies (its motion around it is copied whole)."""


def soft_limit(x: float) -> float:
    """x for small values, approaching ±1 smoothly: a pose beyond a basis's range is eased
    into it, never held flat at the limit (x=0.5 → 0.496, 1 → 0.84, 2 → 0.99)."""
    return x / (1.0 + x**4) ** 0.25


@dataclass(frozen=True)
class MotionSettings:
    blinks: bool = True
    idle: bool = True
    """Listening behaviour and sway; off gives a still head (mouth and blinks only)."""
    mirror_head: bool = True
    """Copy the live user's head pose when the tracker sees a face."""
    expressiveness: float = 1.0
    """Scale of head motion and mouth shapes."""
    seed: int = 1


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


def _pulse(t: float, start: float, rise: float, hold: float, fall: float) -> float:
    """0 → 1 → 0 envelope starting at ``start``."""
    u = t - start
    if u <= 0 or u >= rise + hold + fall:
        return 0.0
    if u < rise:
        return _smoothstep(u / rise)
    if u < rise + hold:
        return 1.0
    return 1.0 - _smoothstep((u - rise - hold) / fall)


class Animator:
    """Turns time, mouth parameters and (optionally) the user's head pose into basis weights."""

    def __init__(self, settings: MotionSettings | None = None) -> None:
        self.settings = settings or MotionSettings()
        self.reset()

    def reset(self) -> None:
        self.rng = np.random.default_rng(self.settings.seed)
        self._t_last: float | None = None
        self._blinks: list[float] = []
        self._was_speaking = False
        self._pause_rng = np.random.default_rng((self.settings.seed, 1))
        self._last_blink = -math.inf
        # Start of the latest blink (a double's second one included).
        self._next_blink = self._blink_gap(0.0)
        self._silent_since: float | None = 0.0
        self._next_nod = 1.5
        self._nods: list[tuple[float, float]] = []  # (start, depth)
        self._gaze = np.zeros(2)
        self._gaze_target = np.zeros(2)
        self._next_gaze = 2.0
        self._smile_start = -100.0
        self._smile_len = 0.0
        self._smile_amount = 0.0
        self._next_smile = 6.0
        self._pose = np.zeros(3)
        self._user_base: np.ndarray | None = None
        self._beat = 0.0
        self._prev_level = 0.0
        self._prosody = 0.0
        phases = self.rng.uniform(0, 2 * math.pi, 6)
        self._phases = phases

    def _blink_gap(self, t: float) -> float:
        mean = BLINK_SPEAKING_MEAN_S if self._was_speaking else BLINK_MEAN_S
        gap = max(BLINK_MIN_S, float(self.rng.gamma(4.0, mean / 4.0)))
        return t + gap

    def blink_amount(self, t: float) -> float:
        return max(
            (_pulse(t, s, BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S) for s in self._blinks),
            default=0.0,
        )

    def update(
        self,
        t: float,
        mouth: MouthParams = NEUTRAL,
        user_pose: tuple[float, float, float] | None = None,
    ) -> dict[str, float]:
        """Basis weights for time ``t`` (seconds, monotonic per animator)."""
        s = self.settings
        dt = 0.0 if self._t_last is None else max(0.0, min(0.2, t - self._t_last))
        self._t_last = t
        weights: dict[str, float] = {}

        # Mouth.
        e = s.expressiveness
        # A slightly lifted curve: mid-word openings read as open, full ones stay in range.
        jaw = min(1.0, max(0.0, mouth.jaw * e) ** JAW_CURVE)
        weights.update(mouth_weights(jaw, mouth.closure, mouth.width, e))

        # Blinks.
        if s.blinks:
            # (The pauses' draws come from their own generator: a silent run draws what it
            # drew before, and the head's sway and the listening behaviour with it.)
            last = self._last_blink
            if self._was_speaking and not mouth.speaking:
                # A phrase ends: blink in the pause, unless the eyes just blinked.
                if t - last >= BLINK_MIN_S and self._pause_rng.random() < PAUSE_BLINK_P:
                    soon = t + float(self._pause_rng.uniform(*PAUSE_BLINK_DELAY_S))
                    self._next_blink = min(self._next_blink, soon)
            elif mouth.speaking and not self._was_speaking:
                # Speech starts: the wait left shrinks to the speaking rate's.
                wait = (self._next_blink - t) * BLINK_SPEAKING_MEAN_S / BLINK_MEAN_S
                self._next_blink = min(self._next_blink, max(last + BLINK_MIN_S, t + wait))
            self._was_speaking = mouth.speaking
            if t >= self._next_blink:
                self._blinks = [b for b in self._blinks if t - b < 1.0] + [t]
                self._last_blink = t
                if self.rng.random() < DOUBLE_BLINK_P:
                    self._blinks.append(t + 0.28)
                    self._last_blink = t + 0.28
                self._next_blink = self._blink_gap(t)
            blink = self.blink_amount(t)
            weights["blink_left"] = blink
            weights["blink_right"] = blink

        # Speaking / listening state.
        if mouth.speaking:
            self._silent_since = None
        elif self._silent_since is None:
            self._silent_since = t
        listening = self._silent_since is not None and t - self._silent_since > LISTEN_AFTER_S

        yaw = pitch = roll = 0.0
        if s.idle:
            ph = self._phases
            sway = 0.6 if listening else 1.0
            yaw += sway * (1.8 * math.sin(0.31 * t + ph[0]) + 0.9 * math.sin(0.73 * t + ph[1]))
            pitch += sway * (1.0 * math.sin(0.43 * t + ph[2]) + 0.5 * math.sin(1.1 * t + ph[3]))
            roll += sway * (1.2 * math.sin(0.27 * t + ph[4]) + 0.4 * math.sin(0.9 * t + ph[5]))
            # Beats: a nod on each rise of loudness while speaking.
            rise = max(0.0, mouth.level - self._prev_level)
            self._prev_level = mouth.level
            decay = math.exp(-dt / 0.25) if dt else 1.0
            self._beat = self._beat * decay + (3.0 * rise if mouth.speaking else 0.0)
            pitch -= min(4.0, 4.0 * self._beat)
            # Prosody: louder phrases lift the head a little and sway it (the phrase-level
            # loudness, slower than the beats).
            kp = 1.0 - math.exp(-dt / PROSODY_S) if dt else 0.0
            self._prosody += kp * ((mouth.level if mouth.speaking else 0.0) - self._prosody)
            lift = self._prosody - 0.35
            pitch += 2.5 * lift
            roll += 2.0 * lift * math.sin(0.6 * t + ph[4])
            if listening:
                pitch -= self._listening_nods(t)
                self._update_gaze(t, dt)
                weights["smile"] = self._smile(t)
            else:
                self._gaze_target[:] = 0.0
                self._update_gaze(t, dt, follow_only=True)
            gx, gy = self._gaze
            weights.update(_signed("gaze_x", gx))
            weights.update(_signed("gaze_y", gy))

        target = np.array([yaw, pitch, roll]) * e
        if s.mirror_head and user_pose is not None:
            # The user's habitual pose (a camera above the screen tilts every head down by
            # ~10°) is followed only in part; the motion around it in full. So nods show
            # instead of the head resting at its limit.
            pose = np.asarray(user_pose, np.float64)
            if self._user_base is None:
                self._user_base = pose.copy()
            kb = 1.0 - math.exp(-dt / MIRROR_BASELINE_S) if dt else 0.0
            self._user_base += kb * (pose - self._user_base)
            target = (pose - self._user_base) + MIRROR_BASELINE_SHARE * self._user_base
            target += 0.3 * np.array([yaw, pitch, roll]) * e
        # Ease towards the target (the tracker's pose is already smoothed; this evens out
        # the switch between mirroring and idling).
        k = 1.0 - math.exp(-dt / 0.12) if dt else 1.0
        self._pose += k * (target - self._pose)
        amp = DEFAULT_AMPLITUDES
        weights.update(_signed("yaw", soft_limit(self._pose[0] / amp["yaw"])))
        weights.update(_signed("pitch", soft_limit(self._pose[1] / amp["pitch"])))
        weights.update(_signed("roll", soft_limit(self._pose[2] / amp["roll"])))
        return weights

    def _listening_nods(self, t: float) -> float:
        if t >= self._next_nod:
            self._nods = [n for n in self._nods if t - n[0] < 2.0]
            self._nods.append((t, float(self.rng.uniform(2.0, 4.0))))
            self._next_nod = t + float(self.rng.uniform(2.5, 6.0))
        return sum(depth * _pulse(t, start, 0.25, 0.1, 0.4) for start, depth in self._nods)

    def _update_gaze(self, t: float, dt: float, follow_only: bool = False) -> None:
        if not follow_only and t >= self._next_gaze:
            if self.rng.random() < 0.4:
                self._gaze_target = np.zeros(2)  # back to the camera
            else:
                self._gaze_target = self.rng.uniform([-0.8, -0.5], [0.8, 0.6])
            self._next_gaze = t + float(self.rng.uniform(1.5, 4.5))
        # Saccade: ~60 ms.
        k = 1.0 - math.exp(-dt / 0.03) if dt else 0.0
        self._gaze += k * (self._gaze_target - self._gaze)

    def _smile(self, t: float) -> float:
        if t >= self._next_smile:
            self._smile_start = t
            self._smile_len = float(self.rng.uniform(1.2, 3.0))
            self._smile_amount = float(self.rng.uniform(0.4, 0.8))
            self._next_smile = t + float(self.rng.uniform(8.0, 20.0))
        return self._smile_amount * _pulse(t, self._smile_start, 0.4, self._smile_len, 0.6)


def _signed(axis: str, value: float) -> dict[str, float]:
    pos, neg = SIGNED_AXES[axis]
    v = max(-1.0, min(1.0, float(value)))
    return {pos: max(0.0, v), neg: max(0.0, -v)}
