"""camfx engine: frames, stages, sources, outputs and the threaded real-time pipeline.

Nothing in this package imports Qt (an import-linter contract enforces it): the GUI in
``app/`` and the CLI both drive this same engine.
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"

# camfx opens no network connection. ONNX Runtime's official builds (onnxruntime and
# onnxruntime-gpu 1.31 on Linux measured; Windows and macOS use the same 1DS uploader) start
# Microsoft's telemetry when the library initialises, on ``import onnxruntime``: it keeps a
# device id under ~/.cache/Microsoft and resolves mobile.events.data.microsoft.com a few seconds
# later. ONNX Runtime reads this switch once, at that moment (``disable_telemetry_events()``
# afterwards does not stop the uploader), so it is set here, before any camfx module can import
# onnxruntime, and it overrides a "0" from the environment. tests/test_privacy.py checks it.
ONNXRUNTIME_IMPORTED_EARLIER = "onnxruntime" in _sys.modules
"""Something imported onnxruntime before camfx could set the switch (only an embedding host can:
camfx's own entry points import this package first); the session factory then says so."""
_os.environ["ORT_DISABLE_TELEMETRY"] = "1"
