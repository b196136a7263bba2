"""``camfx repair FILE.mp4 …``: mend recordings torn by ``kill -9`` or a power cut.

The work is :func:`pipelines.outputs.repair.repair`; this module parses the command and turns
its reports into lines and an exit code. Only argparse at import time (``camfx --help`` stays
instant).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_NOT_REPAIRED = 1
"""A file's cut part did not decode to the end, or could not be written; the original is kept."""
EXIT_BAD_FILE = 2
"""A file is missing, unreadable, not a camfx MP4, or holds no whole frame."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "repair",
        help="mend a recording cut off by kill -9 or a power cut",
        description="Cut each recording after its last complete 2-second fragment, so that "
        "every player opens it. The mended file is written beside the original as "
        "NAME.repaired.mp4 (NAME.repaired-2.mp4 … when that exists) and the original is "
        "left as it was; the result is decoded to its last frame first. A complete file is "
        "left alone; one torn inside its first fragment keeps the frames written before the "
        "tear. Exit code 2 when a file is missing, unreadable, not an MP4 recorded by camfx "
        "or holds no whole frame; 1 when a cut file did not decode.",
    )
    parser.add_argument("paths", nargs="+", metavar="FILE", help="a .mp4 recording")
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="cut the original file itself instead of writing a copy (only the torn tail, "
        "which no player can use, is removed; not on a recording still being written)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipelines.outputs.repair import Outcome, repair

    outcomes = set()
    for path in args.paths:
        report = repair(path, in_place=args.in_place)
        outcomes.add(report.outcome)
        if report.outcome in (Outcome.REPAIRED, Outcome.COMPLETE):
            print(report.line)
        else:
            print(f"camfx repair: {report.line}", file=sys.stderr)
    if Outcome.NOT_REPAIRABLE in outcomes:
        return EXIT_BAD_FILE
    if Outcome.FAILED in outcomes:
        return EXIT_NOT_REPAIRED
    return 0
