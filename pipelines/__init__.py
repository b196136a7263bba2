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

# OpenCV reads this once, when cv2 is first imported (every cv2 import in camfx comes after
# this package's): a picture whose header claims more pixels than camfx takes is refused
# before its pixels are allocated. OpenCV's own default is 2**30 pixels, 3 GiB in colour, which
# a 1 MB PNG of one colour can ask for. The same number as
# pipelines.sources.files.MAX_PICTURE_PIXELS (a test checks that they agree).
_os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", "120000000")

OFF_WORDS = frozenset({"", "0", "off", "no", "false"})
"""What switches one of camfx's on/off environment variables off (any case)."""


def env_flag(name: str, default: bool = False) -> bool:
    """Whether environment variable ``name`` is on: ``default`` where it is unset, else
    anything but :data:`OFF_WORDS`. ``CAMFX_NO_JIT=false`` switched the kernels off (only ""
    and "0" read as off there) where ``CAMFX_CUDA_GRAPH=false`` read as off (qa64)."""
    value = _os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in OFF_WORDS
