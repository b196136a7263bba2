"""A still picture (``talking-head capture``'s avatar, ``analyze --mask``) written whole or not
at all.

``cv2.imwrite`` truncates the file already at its path and then writes into it: a full disk or a
kill halfway left the user's old picture cut (``-y`` says replace it, not lose it). The picture
is encoded in memory first (a name OpenCV cannot encode fails before anything is touched), then
written beside the old file, flushed to the disk and moved over it
(:func:`pipelines.userdata.atomic_write_bytes`, as settings are saved).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipelines.errors import OutputError
from pipelines.userdata import UserDataError, atomic_write_bytes

SHARED_FILE_MODE = 0o666
"""A new picture's mode before the umask: what ``cv2.imwrite``'s ``fopen`` gave (0o644 under
the usual umask), not the 0o600 of a settings file."""


def write_picture(path: str | os.PathLike[str], image: Any) -> Path:
    """Encode ``image`` in the format ``path``'s suffix names and put it at ``path`` at once.
    A link keeps being a link: the file it points to is replaced, as a recording's is. Every
    failure is one :class:`OutputError` naming ``path``; the file already there is then as it
    was and no temporary file is left."""
    import cv2

    shown = str(path)
    target = Path(os.path.realpath(path))
    if not target.parent.is_dir():
        # atomic_write_bytes would make the folder: a typo in it is said, not created.
        raise OutputError(
            f"cannot write {shown!r}: folder {str(target.parent)!r} does not exist; "
            "create it or give another path"
        )
    try:
        encoded, data = cv2.imencode(target.suffix, image)
    except cv2.error:
        encoded = False
    if not encoded:
        raise OutputError(
            f"cannot write {shown!r}: {target.suffix or 'a name without a suffix'} is not a "
            "picture type OpenCV writes; use a .png name"
        )
    existed = target.exists()
    try:
        atomic_write_bytes(target, data.tobytes(), new_file_mode=SHARED_FILE_MODE)
    except UserDataError as exc:
        cause = exc.__cause__
        if not isinstance(cause, OSError):  # a read-only file: its own line says so
            raise OutputError(str(exc)) from None
        kept = "the file already there is kept as it was" if existed else "nothing was written"
        raise OutputError(
            f"could not write {shown!r} ({cause.strerror or cause}); {kept}"
        ) from None
    return Path(shown)
