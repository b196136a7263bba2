"""Which source runs when the one asked for cannot be opened: the decision, without Qt.

The window's controller opens sources on its worker thread and reports the outcome; what to
try, in which order, and what to tell the user is decided here, so it is tested without a
display (``tests/test_source_switch.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pipelines.errors import CamfxError

log = logging.getLogger(__name__)

Mode = tuple[int, int, float]
"""A camera's [width, height, fps]."""


@dataclass(frozen=True)
class SourceFailure:
    """The source asked for did not open; ``now`` runs instead ("" when nothing does)."""

    wanted: str
    """The spec asked for ("" when a camera was to be picked and none was found)."""
    error: str
    now: str
    nothing_runs: bool = False
    """No source is open any more: the window shows "No signal"."""


def switch_source(
    spec: str,
    mode: Mode | None,
    fallback: str,
    *,
    previous: str,
    previous_mode: Mode | None,
    first_camera: Callable[[], str | None],
    open_source: Callable[[str, Mode | None], None],
    still_running: Callable[[], bool],
) -> SourceFailure | None:
    """Open ``spec`` ("" picks the first camera, or ``fallback`` when there is none) with
    ``open_source``, which raises :class:`CamfxError` or :class:`OSError` when it cannot.
    When it fails, the source still running is kept (``still_running``: opening a camera
    releases the old one first, so this is asked after the attempt); otherwise the previous
    source and then ``fallback`` are tried. None when ``spec`` opened."""
    if not spec:
        camera = first_camera()
        if camera is None:
            open_source(fallback, None)
            return SourceFailure("", "no camera found", fallback)
        spec = camera
    try:
        open_source(spec, mode)
        return None
    except (CamfxError, OSError) as exc:
        error = str(exc)
    if still_running():
        return SourceFailure(spec, error, previous)
    for candidate, candidate_mode in ((previous, previous_mode), (fallback, None)):
        if not candidate or candidate == spec:
            continue
        try:
            open_source(candidate, candidate_mode)
        except (CamfxError, OSError) as exc2:
            log.warning("fallback source %s failed too: %s", candidate, exc2)
            continue
        return SourceFailure(spec, error, candidate)
    return SourceFailure(spec, error, "", nothing_runs=True)
