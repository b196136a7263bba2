"""camfx engine: frames, stages, sources, outputs and the threaded real-time pipeline.

Nothing in this package imports Qt (an import-linter contract enforces it): the GUI in
``app/`` and the CLI both drive this same engine.
"""

__version__ = "0.1.0"
