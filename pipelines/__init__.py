"""camfx engine: frames, stages, sources, outputs and the threaded real-time pipeline.

Nothing in this package imports Qt (an import-linter contract enforces it): the GUI in
``app/`` and the CLI both drive this same engine.
"""

import os

__version__ = "0.1.0"

# OpenCV reads this once, when cv2 is first imported (every cv2 import in camfx comes after
# this package's): a picture whose header claims more pixels than camfx takes is refused
# before its pixels are allocated. OpenCV's own default is 2**30 pixels, 3 GiB in colour, which
# a 1 MB PNG of one colour can ask for. The same number as
# pipelines.sources.files.MAX_PICTURE_PIXELS (a test checks that they agree).
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", "120000000")
