"""The mouth network: band levels of the last few hops → jaw opening and lip closure.

A small multilayer perceptron (``onnx_models/mouth_net.onnx``, a few thousand weights) reads
:data:`~pipelines.audio.mouth.N_MEL` mel band levels, relative to the running speech peak, for
``context_hops`` hops (10 ms each); the graph itself adds each hop's total level
(:func:`hop_levels`). It gives the jaw opening and how closed the lips are (m, b, p) for the
hop ``delay_hops`` before the newest: a short look-ahead. camfx trains it itself
(``tools/train_mouth.py``; the manifest says how) on several espeak-ng and Festival voices
(English, and female voices of other languages), with noise and room echo. The jaw target
mixes each phoneme's jaw opening with the clean speech's loudness. Both hop counts travel in
the ONNX file's metadata, so the file and the analyzer cannot disagree.

It runs through the project's one session factory, on the GPU when there is one; the analyzer
calls it once per video frame with all new hops in one batch.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from pipelines.audio.mouth import N_MEL
from pipelines.errors import CamfxError
from pipelines.inference import OnnxModel, register_model
from pipelines.inference.session import SessionFactory

log = logging.getLogger(__name__)

MODEL_NAME = "mouth_net"


@register_model
class MouthNet(OnnxModel):
    model_name = MODEL_NAME

    def __init__(self, factory: SessionFactory | None = None, *, directory: str | None = None):
        super().__init__(factory, directory=directory)
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            self.context_hops = int(meta["context_hops"])
            self.delay_hops = int(meta["delay_hops"])
            n_mel = int(meta["n_mel"])
        except (KeyError, ValueError) as exc:
            raise CamfxError(f"{self.path}: metadata lacks {exc}; reinstall camfx") from None
        if n_mel != N_MEL or self.inputs[0].shape[-1] != self.context_hops * N_MEL:
            raise CamfxError(
                f"{self.path} reads {n_mel} bands × {self.context_hops} hops, the analyzer gives "
                f"{N_MEL}; reinstall camfx"
            )

    def preprocess(self, rows: np.ndarray) -> tuple[dict[str, np.ndarray], Any]:  # type: ignore[override]
        """``rows``: hops × (context_hops · N_MEL) float32."""
        rows = np.asarray(rows)
        width = self.context_hops * N_MEL
        if rows.ndim != 2 or rows.shape[1] != width:
            raise CamfxError(
                f"{MODEL_NAME}: expected rows of {width} band levels, got shape {rows.shape}"
            )
        return {self.input_names[0]: np.ascontiguousarray(rows, np.float32)}, None

    def postprocess(self, outputs: dict[str, np.ndarray], meta: Any) -> np.ndarray:
        out = outputs[self.output_names[0]]
        return out.reshape(len(out), -1)


_default: MouthNet | None = None
_failed = False
_why: str | None = None
_lock = threading.Lock()


def default_mouth_net() -> MouthNet | None:
    """The shared network, or None (logged once) when its file is missing or refused: the
    analyzer then falls back to its linear read-out."""
    global _default, _failed, _why
    with _lock:
        if _default is None and not _failed:
            try:
                from pipelines.inference import load_model

                _default = load_model(MODEL_NAME)  # type: ignore[assignment]
            except Exception as exc:  # ModelError, or onnxruntime refusing the file
                _failed, _why = True, str(exc)
                log.warning("jaw network unavailable (%s); using the linear read-out", exc)
        return _default


def unavailable_reason() -> str | None:
    """Why :func:`default_mouth_net` gave None (its file missing or refused), else None."""
    return _why


def hop_levels(rows: np.ndarray) -> np.ndarray:
    """Each hop's total level from its band levels: rows × context_hops, on the bands' scale.

    A band level ``v`` is (band dB − peak + MEL_RANGE_DB) / MEL_RANGE_DB, so 10^(v · range / 10)
    is the band's power over (peak − range); the level is the log of their sum, back on that
    scale. The network reads these beside the bands: loudness is what every voice shares, and a
    small ReLU net does not form a log-sum-exp of 20 bands the same way for voices of another
    spectral shape."""
    from pipelines.audio.mouth import MEL_RANGE_DB

    x = np.asarray(rows, np.float64).reshape(len(rows), -1, N_MEL)
    return np.log10(np.sum(10.0 ** (x * (MEL_RANGE_DB / 10.0)), axis=2)) / (MEL_RANGE_DB / 10.0)


def forward_numpy(weights: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """The same network in numpy: ``weights`` = [W1, b1, W2, b2, W3, b3] (ReLU, ReLU, sigmoid);
    hops × 2 (jaw, lips closed). A first layer wider than the rows also reads
    :func:`hop_levels`."""
    h = np.asarray(rows, np.float64)
    if weights[0].shape[0] > h.shape[1]:
        h = np.concatenate([h, hop_levels(h)], axis=1)
    n_layers = len(weights) // 2
    for i in range(n_layers):
        h = h @ weights[2 * i] + weights[2 * i + 1]
        if i + 1 < n_layers:
            h = np.maximum(h, 0.0)
    return 1.0 / (1.0 + np.exp(-h))
