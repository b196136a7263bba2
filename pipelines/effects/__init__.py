"""Face effects that need the tracker's mesh and, for some, the person mask (issue 17).

Stages (registered when their module is imported; presets import them on demand):

- ``key_light`` (:mod:`pipelines.effects.key_light`): a virtual soft key light and fill that
  relight the face and the person, and even a face lit from one side.
- ``eye_contact`` (:mod:`pipelines.effects.eye_contact`): irises moved to look into the camera
  while you read the screen, fading out when you look away.

This package stays import-light: the stage modules load OpenCV only when a preset needs them.
"""
