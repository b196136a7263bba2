"""The README's test command: the whole suite in two passes, as fast as the machine allows.

    .venv/bin/python tests/run.py [pytest arguments]

1. The test files marked ``clock_free`` (they read no clock and pace nothing in real time: the
   talking head's builds and judges, offline tracking) run on every core, one file per worker
   (pytest-xdist, ``--dist loadfile``, so that a file's shared avatar builds stay in one
   process). Their results cannot depend on how busy the machine is.
2. Every other test runs one at a time: recordings paced at the source's frame rate, the
   window's frame rate, the speed checks.

On Linux the two passes run side by side, the first at the idle scheduling class
(``SCHED_IDLE``): its workers get only the CPU time that no other process wants, and a test of
the second pass that wakes takes its core back at once. The second pass mostly waits on paced
frames and child processes: its own CPU time was 280 s user and 36 s system over 552 s on 2
cores, 0.29 of the machine (2026-12-06). Beside it the first pass took 449 s instead of 309 s
alone, all of it hidden: the suite took 552 s instead of 309 + 552, and the second pass's
tests took as long as they do alone (527 s of test time against 554 s in the CI run before
it, no file slower by more than 0.7 s). The first pass's output is shown after the second
pass's, so that the two do not interleave; once the second pass has ended, what is left of the
first runs at the normal class. Elsewhere (no ``SCHED_IDLE``), or with
``CAMFX_TEST_PASSES=in-turn``, the first pass runs to its end before the second starts, with
nothing beside it.

A plain ``.venv/bin/python -m pytest`` runs the same tests one at a time (about 200 s longer
on 2 cores than the passes in turn). The arguments given here go to both passes (paths
relative to the repository root); ``--junitxml=PATH`` writes PATH for the second pass and PATH
with ``-clock-free`` before its suffix for the first.
"""

from __future__ import annotations

import enum
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

MARK = "clock_free"
"""The marker of the test files that may run beside another (registered in pyproject.toml)."""

WORKERS_ENV = "CAMFX_TEST_WORKERS"
"""Overrides the first pass's worker count (default: the machine's cores, at most 8)."""

PASSES_ENV = "CAMFX_TEST_PASSES"
"""``together`` (the default where the idle scheduling class exists) or ``in-turn``."""

MAX_WORKERS = 8

NO_TESTS = 5
"""pytest's exit code when a pass selects no test (``-k`` picking only one kind): not a
failure of the run as long as the other pass ran tests."""

INTERRUPTED = 2
USAGE = 2
"""This runner's exit code for arguments or settings it cannot run with (one line says why)."""


class Order(enum.Enum):
    """How the two passes share the machine."""

    TOGETHER = "together"
    """Side by side, the first pass at the idle scheduling class."""
    IN_TURN = "in-turn"
    """The first pass, then the second, each alone."""


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


def order() -> Order:
    """The passes' order: the environment's choice, else together where the idle scheduling
    class exists (Linux), else in turn."""
    can_idle = hasattr(os, "SCHED_IDLE")
    raw = os.environ.get(PASSES_ENV, "")
    if not raw:
        return Order.TOGETHER if can_idle else Order.IN_TURN
    try:
        chosen = Order(raw)
    except ValueError:
        names = " or ".join(o.value for o in Order)
        raise UsageError(f"{PASSES_ENV}={raw!r}: give {names}") from None
    if chosen is Order.TOGETHER and not can_idle:
        raise UsageError(
            f"{PASSES_ENV}=together needs the idle scheduling class (Linux); give in-turn"
        )
    return chosen


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


def ends_the_run(code: int) -> bool:
    """Ctrl+C, a collection error or a signal (128 + its number): no other pass goes on."""
    return code == INTERRUPTED or code > 128


def _idle() -> None:
    # In the child before it runs pytest: the first pass and every worker it starts (the class
    # is inherited) run only on CPU time no other process wants.
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _start(
    args: Sequence[str], root: Path, idle: bool, out: IO[bytes] | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", *args],
        cwd=root,
        stdout=out,
        stderr=subprocess.STDOUT if out is not None else None,
        preexec_fn=_idle if idle else None,
    )


def _code(child: subprocess.Popen[bytes], terminated: bool) -> int:
    """A pass's exit code; a pass ended by a signal (its own, or this runner's SIGTERM passed
    on) as the shell gives it, 128 + the signal's number."""
    code = child.returncode
    if code < 0:
        return 128 - code
    return 128 + signal.SIGTERM if terminated and code == 0 else code


def _wait(
    children: Sequence[subprocess.Popen[bytes]],
    ended: Callable[[subprocess.Popen[bytes]], None] = lambda child: None,
) -> list[int]:
    """The passes' exit codes, once each has ended (``ended`` is called with each as it
    ends). A SIGTERM to this runner ends every pass, as it would end a plain pytest; a pass
    that ends the run (:func:`ends_the_run`) ends the other."""
    terminated = False

    def terminate(*_: object) -> None:
        nonlocal terminated
        terminated = True
        for child in children:
            if child.poll() is None:
                child.terminate()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        running = list(children)
        while running:
            try:
                # os.wait: whichever pass ends first (its status is then read by poll below).
                pid, status = os.wait()
            except KeyboardInterrupt:
                # The terminal's Ctrl+C reached pytest too: it stops the way it does alone
                # (the tests' own clean-up, its summary) and its exit code says so.
                continue
            except ChildProcessError:
                break
            for child in running:
                if child.pid == pid:
                    child.returncode = os.waitstatus_to_exitcode(status)
                    running.remove(child)
                    if ends_the_run(_code(child, terminated)):
                        terminate()
                    else:
                        ended(child)
                    break
        return [_code(child, terminated) for child in children]
    finally:
        signal.signal(signal.SIGTERM, previous)


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The parent is the 2nd field after the command's closing parenthesis.
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += parents.get(found[-1], [])
    return found


def unidle(pid: int) -> int:
    """Every thread of ``pid`` and of the processes under it back to the normal scheduling
    class; the number of threads moved. Once the second pass has ended, what is left of the
    first runs as it would alone (at the idle class, any other busy process on the machine
    would hold it back for as long as that one runs). A thread that cannot be moved (ended
    meanwhile, or not this user's) stays as it is."""
    moved = 0
    for process in _descendants(pid):
        try:
            threads = [int(t.name) for t in Path(f"/proc/{process}/task").iterdir()]
        except OSError:
            continue
        for thread in threads:
            try:
                os.sched_setscheduler(thread, os.SCHED_OTHER, os.sched_param(0))
                moved += 1
            except OSError:
                pass
    return moved


def _say(line: str) -> None:
    print(f"tests/run.py: {line}", flush=True)


def run_in_turn(planned: Sequence[Sequence[str]], root: Path) -> list[int]:
    codes: list[int] = []
    for number, args in enumerate(planned, start=1):
        kind = "clock-free tests, in parallel" if number == 1 else "every other test, alone"
        _say(f"pass {number} of 2: {kind}")
        codes += _wait([_start(args, root, idle=False, out=None)])
        if ends_the_run(codes[-1]):
            break
    return codes


def run_together(planned: Sequence[Sequence[str]], root: Path) -> list[int]:
    first, second = planned
    with tempfile.TemporaryFile() as first_out:
        _say(
            "pass 1 of 2: clock-free tests, in parallel at idle priority beside pass 2 "
            "(its output follows pass 2's)"
        )
        _say("pass 2 of 2: every other test, one at a time")
        sys.stdout.flush()
        children = [
            _start(first, root, idle=True, out=first_out),
            _start(second, root, idle=False, out=None),
        ]

        def ended(child: subprocess.Popen[bytes]) -> None:
            if child is children[1] and children[0].poll() is None:
                if unidle(children[0].pid):
                    _say("pass 2 has ended; pass 1 goes on at normal priority")
                else:  # RLIMIT_NICE: an unprivileged user may lower a priority, not raise it
                    _say("pass 2 has ended; pass 1 goes on at idle priority (not ours to raise)")

        codes = _wait(children, ended)
        _say(f"pass 1 of 2 (clock-free tests), its output (exit {codes[0]}):")
        first_out.seek(0)
        shutil.copyfileobj(first_out, sys.stdout.buffer)
        sys.stdout.flush()
    _say(f"pass 1 exit {codes[0]}, pass 2 exit {codes[1]}")
    return codes


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
        chosen = order()
    except UsageError as exc:
        print(f"tests/run.py: {exc}", file=sys.stderr)
        return USAGE
    runner = run_together if chosen is Order.TOGETHER else run_in_turn
    return combined(runner(planned, root))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
