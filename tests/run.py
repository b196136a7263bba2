"""The README's test command: the whole suite in two passes, as fast as the machine allows.

    .venv/bin/python tests/run.py [pytest arguments]

1. The test files marked ``clock_free`` (they read no clock and pace nothing in real time: the
   talking head's builds and judges, offline tracking) run on every core, one file per worker
   (pytest-xdist, ``--dist loadfile``, so that a file's shared avatar builds stay in one
   process). Their results cannot depend on how busy the machine is.
2. Every other test runs alone, one at a time, on a machine no other test loads: recordings
   paced at the source's frame rate, the window's frame rate, the speed checks.

A plain ``.venv/bin/python -m pytest`` runs the same tests one at a time (about 200 s longer
on 2 cores). The arguments given here go to both passes (paths relative to the repository
root); ``--junitxml=PATH`` writes PATH for
the second pass and PATH with ``-clock-free`` before its suffix for the first.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

MARK = "clock_free"
"""The marker of the test files that may run beside another (registered in pyproject.toml)."""

WORKERS_ENV = "CAMFX_TEST_WORKERS"
"""Overrides the first pass's worker count (default: the machine's cores, at most 8)."""

MAX_WORKERS = 8

NO_TESTS = 5
"""pytest's exit code when a pass selects no test (``-k`` picking only one kind): not a
failure of the run as long as the other pass ran tests."""

INTERRUPTED = 2
USAGE = 2
"""This runner's exit code for arguments or settings it cannot run with (one line says why)."""


class UsageError(Exception):
    """Arguments or settings this runner cannot run with; the message says what to do."""


def workers() -> int:
    raw = os.environ.get(WORKERS_ENV, "")
    if raw:
        try:
            count = int(raw)
        except ValueError:
            count = 0
        if count < 1:
            raise UsageError(f"{WORKERS_ENV}={raw!r}: give a whole number of workers, 1 or more")
        return count
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _junit_for_first_pass(arg: str) -> str:
    path = Path(arg.split("=", 1)[1])
    return f"--junitxml={path.with_name(f'{path.stem}-clock-free{path.suffix}')}"


def passes(args: Sequence[str], worker_count: int) -> list[list[str]]:
    """The two pytest command lines' arguments (after ``python -m pytest``)."""
    for arg in args:
        if arg in ("-m", "-n", "--numprocesses", "--dist") or arg.startswith(
            ("-m=", "-n=", "--numprocesses=", "--dist=")
        ):
            raise UsageError(
                f"it chooses {arg.split('=')[0]} itself; "
                "for your own selection run .venv/bin/python -m pytest"
            )
    first = [_junit_for_first_pass(a) if a.startswith("--junitxml=") else a for a in args]
    return [
        ["-m", MARK, "-n", str(worker_count), "--dist", "loadfile", *first],
        ["-m", f"not {MARK}", *args],
    ]


def combined(codes: Sequence[int]) -> int:
    """One exit code for the passes: the first failure's, else 0 if any pass ran tests."""
    failures = [code for code in codes if code not in (0, NO_TESTS)]
    if failures:
        return failures[0]
    return 0 if any(code == 0 for code in codes) else NO_TESTS


def _pytest(args: Sequence[str], root: Path) -> int:
    """The pass's exit code; a pass ended by a signal (its own, or this runner's SIGTERM
    passed on) as the shell gives it, 128 + the signal's number."""
    child = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=root)
    terminated = False

    def terminate(*_: object) -> None:
        nonlocal terminated
        terminated = True
        child.terminate()

    # A SIGTERM to this runner ends the pass it runs, as it would end a plain pytest.
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        while True:
            try:
                code = child.wait()
                if code < 0:
                    return 128 - code
                return 128 + signal.SIGTERM if terminated and code == 0 else code
            except KeyboardInterrupt:
                # The terminal's Ctrl+C reached pytest too: it stops the way it does alone
                # (the tests' own clean-up, its summary) and its exit code says so.
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str]) -> int:
    if importlib.util.find_spec("xdist") is None:
        print(
            "tests/run.py: pytest-xdist is not installed in this environment; "
            "run bash installer/bootstrap.sh --dev",
            file=sys.stderr,
        )
        return USAGE
    root = Path(__file__).resolve().parent.parent
    try:
        planned = passes(argv, workers())
    except UsageError as exc:
        print(f"tests/run.py: {exc}", file=sys.stderr)
        return USAGE
    codes: list[int] = []
    for number, args in enumerate(planned, start=1):
        kind = "clock-free tests, in parallel" if number == 1 else "every other test, alone"
        print(f"tests/run.py: pass {number} of 2: {kind}", flush=True)
        code = _pytest(args, root)
        codes.append(code)
        # Ctrl+C, a collection error or a signal (128 + its number): no further pass.
        if code == INTERRUPTED or code > 128:
            break
    return combined(codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
