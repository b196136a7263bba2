"""One Euro filters (Casiez et al. 2012), vectorised and timestamp-aware.

A low-pass filter whose cutoff rises with the signal's speed: still → heavy smoothing (no
jitter), moving → light smoothing (no lag). Each element of the filtered array can have its
own ``min_cutoff`` and ``beta``, so one filter smooths all 478 landmarks with per-group
tuning. The speed that opens the cutoff is per *row* (the norm over a point's coordinates,
so x and y open together) and can be raised by a shared speed (the whole face's motion), so
a moving head carries every landmark with it without lag while a still head's lips stay
responsive to their own motion only.

Time comes from the frames' timestamps: a dropped frame is a longer ``dt``, not a break; a
gap longer than ``reset_after`` seconds (or time going backwards) restarts the filter.
"""

from __future__ import annotations

import math

import numpy as np

D_CUTOFF = 1.0
"""Hz; cutoff of the speed estimate (the paper's recommended value)."""
RESET_AFTER = 0.5
"""Seconds without an update after which the old state is stale."""


def smoothing_factor(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def _median(values: np.ndarray) -> float:
    """``np.median`` of all elements by one partition (8 µs against its 23 for 478 values)."""
    flat = values.reshape(-1)
    n = flat.size
    if n == 0:
        return float("nan")
    mid = n // 2
    if n % 2:
        return float(np.partition(flat, mid)[mid])
    part = np.partition(flat, (mid - 1, mid))
    return float((part[mid - 1] + part[mid]) / 2.0)


class OneEuroFilter:
    """Filters arrays of a fixed shape (rows × coordinates, or a flat vector).

    ``min_cutoff`` and ``beta`` broadcast against the input; for per-row values on an N×D
    input give them as N×1.
    """

    def __init__(
        self,
        min_cutoff: float | np.ndarray = 1.0,
        beta: float | np.ndarray = 0.0,
        d_cutoff: float = D_CUTOFF,
        reset_after: float = RESET_AFTER,
    ) -> None:
        self.min_cutoff = np.asarray(min_cutoff, np.float64)
        self.beta = np.asarray(beta, np.float64)
        self.d_cutoff = d_cutoff
        self.reset_after = reset_after
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t = 0.0

    def reset(self) -> None:
        self._x = None
        self._dx = None

    @property
    def value(self) -> np.ndarray | None:
        return self._x

    @property
    def velocity(self) -> np.ndarray | None:
        """The smoothed derivative (units per second) the cutoff is driven by."""
        return self._dx

    def __call__(
        self,
        x: np.ndarray,
        t: float,
        *,
        scale: float = 1.0,
        shared_speed: float = 0.0,
        share_median: bool = False,
    ) -> np.ndarray:
        """Filter ``x`` observed at time ``t`` (seconds).

        ``scale`` divides the speed before ``beta`` applies (e.g. the face size in pixels, so
        that ``beta`` is in "face sizes per second" and the tuning holds at any resolution);
        ``shared_speed`` (already divided by ``scale``) is a floor for every row's speed;
        ``share_median`` adds the rows' median speed (the rigid motion of a tracked shape) to
        that floor.
        """
        x = np.asarray(x, np.float64)
        dt = t - self._t
        if self._x is None or self._x.shape != x.shape or dt <= 0 or dt > self.reset_after:
            if self._x is not None and self._x.shape == x.shape and dt == 0:
                return self._x  # the same instant again: nothing new to filter
            self._x = x.copy()
            self._dx = np.zeros_like(x)
            self._t = t
            return self._x
        assert self._dx is not None
        dx = (x - self._x) / dt
        a_d = smoothing_factor(self.d_cutoff, dt)
        self._dx = self._dx + a_d * (dx - self._dx)
        if x.ndim == 1:
            speed = np.abs(self._dx)
        elif x.ndim == 2:
            # einsum's row norms: 8 µs where np.linalg.norm took 14 for 478 landmarks
            speed = np.sqrt(np.einsum("ij,ij->i", self._dx, self._dx))[:, None]
        else:
            speed = np.linalg.norm(self._dx, axis=-1, keepdims=True)
        speed = speed / scale
        if share_median:
            shared_speed = max(shared_speed, _median(speed))
        speed = np.maximum(speed, shared_speed)
        cutoff = self.min_cutoff + self.beta * speed
        a = smoothing_factor(cutoff, dt)
        self._x = self._x + a * (x - self._x)
        self._t = t
        return self._x
