"""Sample-rate conversion: a streaming windowed-sinc resampler (no SciPy needed).

The analysis runs at 16 kHz; microphones often deliver 44.1 or 48 kHz and files anything.
:class:`StreamResampler` converts chunk by chunk with state carried across calls, so feeding a
signal in pieces gives the same samples as feeding it whole.
"""

from __future__ import annotations

import math

import numpy as np

ANALYSIS_RATE = 16000


class StreamResampler:
    """Band-limited interpolation from ``rate_in`` to ``rate_out`` (any ratio).

    Output sample ``n`` is the input signal evaluated at ``n * rate_in / rate_out`` (exact
    integer arithmetic, so nothing drifts over hours), filtered at 0.95 × the lower Nyquist.
    Latency: ``half_width`` input samples (under a millisecond).
    """

    def __init__(self, rate_in: int, rate_out: int = ANALYSIS_RATE, zero_crossings: int = 8):
        if rate_in <= 0 or rate_out <= 0:
            raise ValueError(f"sample rates must be positive, not {rate_in} → {rate_out}")
        g = math.gcd(int(rate_in), int(rate_out))
        self.rate_in, self.rate_out = int(rate_in), int(rate_out)
        self._up, self._down = self.rate_out // g, self.rate_in // g
        self.passthrough = self.rate_in == self.rate_out
        # Cut-off in cycles per input sample.
        self._fc = 0.5 * min(1.0, self.rate_out / self.rate_in) * 0.95
        self.half_width = math.ceil(zero_crossings / (2.0 * self._fc))
        self._buf = np.zeros(self.half_width, np.float32)  # zero history before the start
        self._buf_start = -self.half_width  # absolute input index of _buf[0]
        self._n_out = 0  # next output sample number
        self._offsets = np.arange(-self.half_width + 1, self.half_width + 1)

    def _kernel(self, frac: np.ndarray) -> np.ndarray:
        # d = distance from each tap to the (fractional) output position.
        d = self._offsets[None, :] - frac[:, None]
        w = 0.5 + 0.5 * np.cos(np.pi * np.clip(d / self.half_width, -1.0, 1.0))
        return (2.0 * self._fc * np.sinc(2.0 * self._fc * d) * w).astype(np.float32)

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Feed input samples (float32 mono); return the output samples now computable."""
        chunk = np.asarray(chunk, np.float32).reshape(-1)
        if self.passthrough:
            return chunk.copy()
        if chunk.size:
            self._buf = np.concatenate([self._buf, chunk])
        buf_end = self._buf_start + len(self._buf)
        # Output n needs input up to floor(n * down / up) + half_width.
        last = ((buf_end - self.half_width) * self._up - 1) // self._down
        if last < self._n_out:
            return np.zeros(0, np.float32)
        n = np.arange(self._n_out, last + 1, dtype=np.int64)
        pos_num = n * self._down
        base = pos_num // self._up
        frac = (pos_num - base * self._up).astype(np.float64) / self._up
        idx = (base - self._buf_start)[:, None] + self._offsets[None, :]
        out = np.einsum("ij,ij->i", self._buf[idx], self._kernel(frac)).astype(np.float32)
        self._n_out = int(last) + 1
        # Keep only the history the next outputs can still need.
        keep_from = (self._n_out * self._down) // self._up - self.half_width + 1
        drop = max(0, keep_from - self._buf_start)
        if drop:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        return out

    def flush(self) -> np.ndarray:
        """Pad with silence to emit the samples still held back by the filter's half width."""
        if self.passthrough:
            return np.zeros(0, np.float32)
        return self.process(np.zeros(self.half_width + self._down, np.float32))


def resample(samples: np.ndarray, rate_in: int, rate_out: int = ANALYSIS_RATE) -> np.ndarray:
    """Whole-signal conversion; the output has ``round(len * rate_out / rate_in)`` samples."""
    samples = np.asarray(samples, np.float32).reshape(-1)
    if rate_in == rate_out:
        return samples.copy()
    rs = StreamResampler(rate_in, rate_out)
    out = np.concatenate([rs.process(samples), rs.flush()])
    want = round(len(samples) * rate_out / rate_in)
    if len(out) < want:
        out = np.pad(out, (0, want - len(out)))
    return out[:want]
