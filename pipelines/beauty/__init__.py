"""Beautification: face retouching driven by the tracker's face regions, and low-light/colour.

* :mod:`pipelines.beauty.stage` — the ``"beauty"`` stage: skin smoothing, under-eye
  lightening, eye brightening, teeth whitening, lip tint, eye enlarge and face slimming, all on
  the face's region of interest and faded with the face's ``visibility``.
* :mod:`pipelines.beauty.light` — the ``"light_color"`` stage: auto exposure / gamma lift with
  protected highlights, white balance and warmth, temporally smoothed; needs no face.
* :mod:`pipelines.beauty.presets` — the ``"natural"`` and ``"studio"`` presets (imports nothing
  heavy; the stage modules are imported lazily when a preset is built).

This package's ``__init__`` imports nothing so that importing the presets stays instant.
"""
