"""Voice activity from Silero VAD (MIT), run through the project's ONNX Runtime wrapper.

The network is recurrent: every call takes 512 new 16 kHz samples (32 ms) with the previous
call's last 64 samples as context, and carries a 2×1×128 state. :class:`StreamingVad` keeps that
state and the partial chunk between calls so callers can feed blocks of any length.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from pipelines.inference import OnnxModel, register_model
from pipelines.inference.session import SessionFactory

VAD_RATE = 16000
VAD_CHUNK = 512
VAD_CONTEXT = 64


@register_model
class SileroVad(OnnxModel):
    model_name = "silero_vad"

    def preprocess(  # type: ignore[override]
        self, window: np.ndarray, state: np.ndarray
    ) -> tuple[dict[str, np.ndarray], Any]:
        """``window``: 576 samples (64 context + 512 new); ``state``: 2×1×128 float32."""
        feeds = {
            "input": np.ascontiguousarray(window, np.float32).reshape(1, -1),
            "state": state,
            "sr": np.array(VAD_RATE, np.int64),
        }
        return feeds, None

    def postprocess(self, outputs: dict[str, np.ndarray], meta: Any) -> tuple[float, np.ndarray]:
        prob = float(outputs["output"].reshape(-1)[0])
        return prob, outputs["stateN"].astype(np.float32, copy=False)


@cache
def vad_factory() -> SessionFactory:
    """CPU, one thread: the network is tiny (~0.1 ms per 32 ms chunk); a GPU round trip or a
    second thread's wake-up would cost more than the inference."""
    return SessionFactory("cpu", intra_op_threads=1)


class StreamingVad:
    """Speech probability per 32 ms chunk for a continuous 16 kHz stream."""

    def __init__(self, model: SileroVad | None = None, factory: SessionFactory | None = None):
        if model is None:
            from pipelines.inference import load_model

            model = load_model("silero_vad", factory or vad_factory())  # type: ignore[assignment]
        self.model: SileroVad = model  # type: ignore[assignment]
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), np.float32)
        self._window = np.zeros(VAD_CONTEXT + VAD_CHUNK, np.float32)
        self._fill = 0  # new samples in _window[VAD_CONTEXT:]
        self.chunks = 0
        self.last_prob = 0.0

    def push(self, samples: np.ndarray) -> list[float]:
        """Feed samples; return the probability of each 512-sample chunk completed by them."""
        probs: list[float] = []
        samples = np.asarray(samples, np.float32).reshape(-1)
        i = 0
        while i < samples.size:
            take = min(VAD_CHUNK - self._fill, samples.size - i)
            start = VAD_CONTEXT + self._fill
            self._window[start : start + take] = samples[i : i + take]
            self._fill += take
            i += take
            if self._fill == VAD_CHUNK:
                prob, self._state = self.model(self._window, self._state)
                self._window[:VAD_CONTEXT] = self._window[-VAD_CONTEXT:]
                self._fill = 0
                self.chunks += 1
                self.last_prob = prob
                probs.append(prob)
        return probs
