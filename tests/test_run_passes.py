"""tests/run.py, the README's test command: the clock-free files on every core, then the rest
alone. A timing test marked clock_free would be measured on a machine another test loads, so
the mark is checked here as well as the runner."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

import run  # noqa: E402

CLOCK_MODULES = {"time", "threading", "sched", "asyncio"}
"""A clock-free file imports none of these: the time module's clocks and sleeps, threads that a
test would wait on with a timeout."""

CLOCK_NAMES = {"qtbot", "QTest", "qWait", "monotonic", "perf_counter"}
"""Nor names one of these (Qt's waits on the event loop, clocks imported by name)."""


def _marked_clock_free(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return run.MARK in ast.unparse(node.value)
    return False


def _clock_uses(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in CLOCK_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in CLOCK_MODULES:
                found.append(node.module)
        elif isinstance(node, ast.Name) and node.id in CLOCK_NAMES:
            found.append(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in CLOCK_NAMES:
            found.append(node.attr)
        elif isinstance(node, ast.arg) and node.arg in CLOCK_NAMES:
            found.append(node.arg)
    return found


def test_no_clock_free_file_reads_a_clock() -> None:
    marked = {}
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if _marked_clock_free(tree):
            marked[path.name] = _clock_uses(tree)
    # The talking head's files are the bulk of the first pass; a mark lost would go unseen.
    assert "test_avatar_heldout.py" in marked and "test_avatar_blinks.py" in marked
    assert "test_avatar_build_async.py" not in marked  # it times a build against frames
    assert {name: uses for name, uses in marked.items() if uses} == {}


def test_the_check_sees_a_clock() -> None:
    tree = ast.parse(
        "import pytest\nfrom time import monotonic\npytestmark = pytest.mark.clock_free\n"
    )
    assert _marked_clock_free(tree)
    assert _clock_uses(tree) == ["time"]
    assert _clock_uses(ast.parse("t = clocks.perf_counter()\n")) == ["perf_counter"]
    assert _clock_uses(ast.parse("def test_x(qtbot):\n    pass\n")) == ["qtbot"]


def test_the_passes_split_the_suite_on_the_mark() -> None:
    first, second = run.passes(["-x", "--junitxml=artifacts/junit.xml", "tests/a.py"], 2)
    assert first == [
        "-m", "clock_free", "-n", "2", "--dist", "loadfile",
        "-x", "--junitxml=artifacts/junit-clock-free.xml", "tests/a.py",
    ]  # fmt: skip
    assert second == ["-m", "not clock_free", "-x", "--junitxml=artifacts/junit.xml", "tests/a.py"]
    for own in (["-m", "slow"], ["-n=4"], ["--dist", "load"]):
        with pytest.raises(run.UsageError, match="chooses"):
            run.passes(own, 2)


def test_one_exit_code_for_the_two_passes() -> None:
    assert run.combined([0, 0]) == 0
    assert run.combined([1, 0]) == 1
    assert run.combined([0, 1]) == 1
    assert run.combined([5, 0]) == 0  # -k picked only one kind
    assert run.combined([5, 5]) == 5
    assert run.combined([0, 2]) == 2
    assert run.combined([2]) == 2


def test_workers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(run.WORKERS_ENV, "3")
    assert run.workers() == 3
    monkeypatch.setenv(run.WORKERS_ENV, "none")
    with pytest.raises(run.UsageError, match=run.WORKERS_ENV):
        run.workers()
    monkeypatch.delenv(run.WORKERS_ENV)
    assert 1 <= run.workers() <= run.MAX_WORKERS


def test_arguments_it_cannot_run_with_get_one_line_and_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, str(TESTS / "run.py"), "-m", "slow"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == run.USAGE == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "tests/run.py: it chooses -m itself; for your own selection run .venv/bin/python -m pytest"
    ]


def _run_on(
    suite: Path, files: dict[str, str], workers: int, passes: run.Order
) -> subprocess.CompletedProcess[str]:
    """tests/run.py run on a suite of ``files`` (name: source) written into ``suite``."""
    (suite / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    clock_free: as in pyproject.toml\n", encoding="utf-8"
    )
    for name, source in files.items():
        (suite / name).write_text(textwrap.dedent(source), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(TESTS / "run.py"), str(suite), "-p", "no:cacheprovider", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        # Not this run's own pytest variables (an xdist worker's name would reach the inner
        # second pass).
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
            run.WORKERS_ENV: str(workers),
            run.PASSES_ENV: passes.value,
        },
    )


def test_the_passes_order_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(run.PASSES_ENV, raising=False)
    assert run.order() is (run.Order.TOGETHER if hasattr(os, "SCHED_IDLE") else run.Order.IN_TURN)
    monkeypatch.setenv(run.PASSES_ENV, "in-turn")
    assert run.order() is run.Order.IN_TURN
    monkeypatch.setenv(run.PASSES_ENV, "both")
    with pytest.raises(run.UsageError, match=f"{run.PASSES_ENV}='both': give together or in-turn"):
        run.order()


@pytest.mark.parametrize("passes", list(run.Order))
def test_a_pass_ended_by_a_signal_ends_the_run(tmp_path: Path, passes: run.Order) -> None:
    """The first pass killed (a CI job's processes killed by name, 2026-12-06): the second
    pass must not go on (in turn: not start; together: be ended), and the exit code says which
    signal (128 + 15)."""
    killed = (
        "import os, signal\nimport pytest\n\npytestmark = pytest.mark.clock_free\n\n"
        "def test_killed():\n    os.kill(os.getppid(), signal.SIGTERM)\n"
    )
    # Alone, the second pass would take 60 s and pass: ended, it does neither.
    alone = "import time\n\ndef test_alone():\n    time.sleep(60)\n"
    done = _run_on(tmp_path, {"test_killed.py": killed, "test_alone.py": alone}, 1, passes)
    assert done.returncode == 128 + 15, done.stdout + done.stderr
    assert "1 passed" not in done.stdout
    if passes is run.Order.IN_TURN:
        assert "pass 2 of 2" not in done.stdout
    else:
        assert "pass 1 exit 143, pass 2 exit 143" in done.stdout


@pytest.mark.parametrize("passes", list(run.Order))
def test_a_failure_in_the_first_pass_fails_the_run_and_the_second_pass_still_runs(
    tmp_path: Path, passes: run.Order
) -> None:
    parallel = """
        import os
        import pytest

        pytestmark = pytest.mark.clock_free

        def test_in_a_worker():
            assert os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw")

        def test_fails():
            assert 1 + 1 == 3
        """
    alone = "import os\n\ndef test_alone():\n    assert 'PYTEST_XDIST_WORKER' not in os.environ\n"
    done = _run_on(tmp_path, {"test_parallel.py": parallel, "test_alone.py": alone}, 2, passes)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "pass 1 of 2" in out and "pass 2 of 2" in out
    assert "1 failed, 1 passed" in out  # the first pass: its two tests, in workers
    summaries = [line for line in out.splitlines() if line.startswith("1 passed")]
    assert len(summaries) == 1  # the second: the other file
    if passes is run.Order.TOGETHER:
        assert out.rstrip().splitlines()[-1] == "tests/run.py: pass 1 exit 1, pass 2 exit 0"


def _may_leave_the_idle_class() -> bool:
    """Whether a process of this user at the idle scheduling class may go back to the normal
    one (root may; others as far as RLIMIT_NICE lets them raise a priority)."""
    probe = (
        "import os\nos.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\n"
        "try:\n    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))\n"
        "except PermissionError:\n    raise SystemExit(1)\n"
    )
    return subprocess.run([sys.executable, "-c", probe], timeout=60).returncode == 0


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="no idle scheduling class here")
def test_together_the_first_pass_runs_beside_the_second_at_idle_priority(
    tmp_path: Path,
) -> None:
    """Each pass's test waits for the other's to have started: only passes run side by side
    meet. The first pass's worker runs at the idle scheduling class while the second pass
    runs, the second pass at the normal class; once the second pass has ended, the first's
    worker is back at the normal class."""
    meet = """
        import os
        import time
        from pathlib import Path

        import pytest

        HERE = Path(__file__).parent
        {mark}

        def wait_for(what, done):
            deadline = time.monotonic() + 60
            while not done():
                assert time.monotonic() < deadline, what
                time.sleep(0.05)

        def test_{me}():
            (HERE / "{me}.started").touch()
            wait_for("{other} never ran beside {me}", (HERE / "{other}.started").exists)
            assert (os.sched_getscheduler(0) == os.SCHED_IDLE) is {idle}
            {then}
        """
    # Where this user may not raise a thread's class (RLIMIT_NICE), it stays idle.
    back = "os.SCHED_OTHER" if _may_leave_the_idle_class() else "os.SCHED_IDLE"
    after_the_second = f"""
            wait_for("pass 2 never ended", lambda: (HERE / "b.ended").exists())
            wait_for("not back", lambda: os.sched_getscheduler(0) == {back})
            (HERE / "a.unidled").touch()"""
    first = meet.format(
        mark="pytestmark = pytest.mark.clock_free",
        **dict(me="a", other="b", idle=True, then=after_the_second.strip()),
    )
    second = meet.format(mark="", me="b", other="a", idle=False, then="pass")
    # The second pass's last word, from its own process as it ends (pytest's session end).
    conftest = """
        from pathlib import Path

        def pytest_unconfigure(config):
            if not hasattr(config, "workerinput") and "not clock_free" in config.option.markexpr:
                (Path(__file__).parent / "b.ended").touch()
        """
    files = {"test_a.py": first, "test_b.py": second, "conftest.py": conftest}
    done = _run_on(tmp_path, files, 1, run.Order.TOGETHER)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "a.unidled").exists()
    lines = done.stdout.rstrip().splitlines()
    said = "normal priority" if back == "os.SCHED_OTHER" else "idle priority (not ours to raise)"
    assert f"tests/run.py: pass 2 has ended; pass 1 goes on at {said}" in lines
    assert lines[-1] == "tests/run.py: pass 1 exit 0, pass 2 exit 0"
