"""Errors whose message is meant for the user: what failed, which file or device, what to do."""

from __future__ import annotations


class CamfxError(Exception):
    """Base for errors that the CLI prints as one line (exit code 2) and the GUI shows as-is."""


class SourceError(CamfxError):
    """A capture source could not be opened or read."""


class OutputError(CamfxError):
    """An output (virtual camera, file, preview) could not be opened or written."""


class ModelError(CamfxError):
    """A model file is missing, changed or cannot be loaded."""


class StageError(CamfxError):
    """A stage the user asked for could not start (its own error was not one of these)."""


class SettingsError(CamfxError):
    """A settings value or preset is invalid."""
