"""What a command does with a file already at its output path, and free names beside it.

One rule for every command that writes a file (``run``, ``talking-head render`` and
``capture``, ``analyze --mask``): a file already there is never replaced unless the user says
so with ``--overwrite`` (``-y``, as FFmpeg's); without it the command refuses in one line,
exit code 2, before anything opens. Writing beside it under a free name instead would leave a
script (or the README's demo command run twice) reading the old file at the name it gave
with exit code 0.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator
from pathlib import Path

from pipelines.errors import OutputError

MAX_NAME_TRIES = 1000
"""``NAME-2.EXT`` … ``NAME-1000.EXT``: past that, the folder is full of them."""

OVERWRITE_HINT = "add --overwrite (-y) to replace it, or give another name"


class ExistingFile(enum.Enum):
    """What an output does with a file already at its path."""

    REFUSE = "refuse"
    """Raise :class:`OutputError` naming the file and the flag (the default)."""
    REPLACE = "replace"
    """Replace it, only once the new file is complete (a recording writes beside it first)."""


def refuse_existing(path: str | os.PathLike[str], what: str = "output file") -> None:
    """Raise the one line for a file already at ``path`` (a folder there is refused by the
    path checks with their own line)."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise OutputError(f"{what} {str(path)!r} already exists; {OVERWRITE_HINT}")


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether paths ``a`` and ``b`` name one file (the same path, through links, or a hard
    link): an output there would overwrite the input."""
    first, second = Path(os.path.expanduser(a)), Path(os.path.expanduser(b))
    if first.resolve() == second.resolve():
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # either is missing: not the same file
        return False


def numbered_names(first: Path) -> Iterator[Path]:
    """``first``, then ``NAME-2.EXT``, ``NAME-3.EXT`` … (:data:`MAX_NAME_TRIES` in all)."""
    yield first
    for n in range(2, MAX_NAME_TRIES + 1):
        yield first.with_name(f"{first.stem}-{n}{first.suffix}")


def free_name(first: Path) -> Path:
    """The first of :func:`numbered_names` that nothing is at now. A file may still appear
    there before it is opened: an output that refuses an existing file catches that."""
    for candidate in numbered_names(first):
        if not os.path.lexists(candidate):
            return candidate
    raise OutputError(f"{first} and {MAX_NAME_TRIES - 1} numbered names after it exist")
