"""tools/cpu_profile.py's ``--wrap``: a wrapped function still works as its callers call it, and
its calls are counted, for plain methods and static methods alike (a static method wrapped as
a plain function was handed the instance: the stage calling it failed and was bypassed)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "cpu_profile.py"


@pytest.fixture(scope="module")
def cpu_profile() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("cpu_profile_under_test", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Subject:
    def __init__(self, base: int) -> None:
        self.base = base

    def plus(self, x: int) -> int:
        return self.base + x

    @staticmethod
    def twice(x: int) -> int:
        return 2 * x

    def twice_plus(self, x: int) -> int:
        return self.plus(self.twice(x))


def test_wrapped_methods_and_static_methods_keep_working_and_are_counted(
    cpu_profile: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("subject_module")
    module.Subject = Subject  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "subject_module", module)
    for attr in ("plus", "twice"):
        monkeypatch.setattr(Subject, attr, Subject.__dict__[attr])  # restored after the test
    timers = cpu_profile.Timers()

    cpu_profile.wrap_named(timers, ["subject_module:Subject.plus", "subject_module:Subject.twice"])

    subject = Subject(10)
    assert subject.twice_plus(4) == 18
    assert Subject.twice(5) == 10
    # Counted per call site ("thread name @file:line"): summed per name here.
    calls: dict[str, int] = {}
    for key, n in timers.calls.items():
        name = key.split(" ")[1]
        calls[name] = calls.get(name, 0) + n
    assert calls == {"Subject.plus": 1, "Subject.twice": 2}
