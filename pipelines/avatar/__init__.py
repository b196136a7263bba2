"""The talking head: a portrait animated by the voice (see ``pipelines.avatar.stage``)."""
