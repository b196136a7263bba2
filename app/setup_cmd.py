"""``camfx setup virtual-camera [--dry-run]``: make the virtual camera appear.

Linux: finds what is missing (app/vcam_setup.py), runs the root part as one script under one
``sudo`` (``--graphical``: ``pkexec``, as the window does) and says what only the user can do.
Windows: whether Unity Capture or OBS's virtual camera is installed, and what to click or run;
macOS: the same for OBS.
Only argparse at import time (``camfx --help`` stays instant).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_NOT_READY = 1
EXIT_ERROR = 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "setup",
        help="set up the virtual camera (Linux: v4l2loopback with one sudo)",
        description="Set up what camfx needs from the system.",
    )
    what = parser.add_subparsers(dest="setup_what", metavar="WHAT", required=True)
    vcam = what.add_parser(
        "virtual-camera",
        help="install and load v4l2loopback (Linux), or say what to click (Windows/macOS)",
        description="Linux: install v4l2loopback with the distribution's package manager, "
        "write /etc/modules-load.d/camfx.conf and /etc/modprobe.d/camfx.conf "
        "(exclusive_caps=1, card_label=camfx, a free video_nr), load it and check the device "
        "appears, all under one sudo. Running it again changes nothing once the camera is "
        "there. With Secure Boot it says how to enrol the module's key. Windows/macOS: checks "
        "for Unity Capture (Windows; needs no OBS) and OBS's virtual camera and says what to "
        "click.",
    )
    vcam.add_argument(
        "--dry-run", action="store_true", help="print what was found and every command; run none"
    )
    vcam.add_argument(
        "--graphical",
        action="store_true",
        help="ask for the password with pkexec (a window) instead of sudo (the terminal)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app import vcam_setup

    if not sys.platform.startswith("linux"):
        found, lines = vcam_setup.virtual_camera_instructions()
        for line in lines:
            print(line)
        return 0 if found else EXIT_NOT_READY
    try:
        return _run_linux(args, vcam_setup)
    except vcam_setup.SetupError as exc:
        print(f"camfx setup: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _run_linux(args: argparse.Namespace, vcam_setup: Any) -> int:
    facts = vcam_setup.probe()
    for line in vcam_setup.describe(facts):
        print(f"camfx setup: {line}")
    plan = vcam_setup.make_plan(facts)
    if plan.blocked:
        print(f"camfx setup: {plan.blocked}", file=sys.stderr)
        return EXIT_ERROR
    for note in plan.notes:
        print(f"camfx setup: note: {note}")
    if plan.done:
        for line in vcam_setup.report(facts):
            print(line)
        return 0
    if plan.steps:
        prefix = vcam_setup.elevation(facts, args.graphical, vcam_setup.shutil.which)
        runner = " ".join([*prefix, "sh -c"]) if prefix else "sh -c"
        print(f"camfx setup: {len(plan.steps)} step(s), run as root in one script ({runner}):")
        for step in plan.steps:
            print(f"  # {step.why}")
            print(f"  {step.command}")
    if plan.user_steps:
        print(f"camfx setup: {'then, ' if plan.steps else ''}what only you can do:")
        for line in plan.user_steps:
            print(f"  {line}")
    if args.dry_run:
        print("camfx setup: dry run: nothing was changed")
        return 0
    if not plan.steps:
        return EXIT_NOT_READY  # only the user's steps are left
    outcome = vcam_setup.execute(plan, facts, graphical=args.graphical)
    for line in outcome.lines:
        print(line)
    return 0 if outcome.ok else EXIT_NOT_READY
