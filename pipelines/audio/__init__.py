"""Audio for the talking head: inputs (microphone, files), voice activity, mouth parameters.

Nothing here imports sounddevice, PyAV or onnxruntime at module scope: a machine without
PortAudio or a sound card still runs everything else, and the talking head idles.

The names below are looked up in :mod:`pipelines.audio.mouth` on first use (PEP 562), not
imported here: an ``__init__`` that imports its own submodules closes an import cycle
(importing pipelines.audio.mouth first imports this package), and threads importing the package
and a submodule at once can then get a half-loaded module, as pipelines.inference's users did
(tests/test_import_cycles.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.lazy import lazy_names

if TYPE_CHECKING:
    from pipelines.audio.mouth import NEUTRAL, AnalyzerSettings, MouthAnalyzer, MouthParams

SUBMODULE_OF: dict[str, str] = {
    "NEUTRAL": "pipelines.audio.mouth",
    "AnalyzerSettings": "pipelines.audio.mouth",
    "MouthAnalyzer": "pipelines.audio.mouth",
    "MouthParams": "pipelines.audio.mouth",
}
"""Each name this package offers, and the submodule that defines it."""

__all__ = ["NEUTRAL", "AnalyzerSettings", "MouthAnalyzer", "MouthParams"]


__getattr__ = lazy_names(__name__, SUBMODULE_OF)
