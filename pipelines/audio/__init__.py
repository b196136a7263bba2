"""Audio for the talking head: inputs (microphone, files), voice activity, mouth parameters.

Nothing here imports sounddevice, PyAV or onnxruntime at module scope: a machine without
PortAudio or a sound card still runs everything else, and the talking head idles.
"""

from pipelines.audio.mouth import NEUTRAL, AnalyzerSettings, MouthAnalyzer, MouthParams

__all__ = ["NEUTRAL", "AnalyzerSettings", "MouthAnalyzer", "MouthParams"]
