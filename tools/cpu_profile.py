"""Where a preset's CPU goes: per thread, per stage and per native call site, at a camera's pace.

    PYTHONPATH=. .venv/bin/python tools/cpu_profile.py [--preset studio] [--frames 300]
        [--native] [--wrap MODULE.FUNC|MODULE:CLASS.METHOD ...]

Runs ``camfx bench`` (same arguments, same figures) and, over its paced pass's measured
frames (the frames its "CPU per frame" covers), also prints:

- ``THREAD``: each thread's CPU time per frame (``/proc/self/task``; Linux only), by the
  engine's thread names (a thread of a native pool shows as ``native-...``);
- ``STAGE``: each stage's ``process`` and ``prepare`` in thread CPU time per frame
  (``time.thread_time``: a busy machine's preemption is not counted, unlike the bench's
  wall-clock stage figures);
- with ``--native``: every OpenCV function, ONNX Runtime's ``run`` and each compiled kernel of
  ``pipelines.segmentation.fused``, per calling thread and call site (file:line), with calls
  per frame and thread CPU per call; ``NATIVE`` sums them per thread and library. What a
  stage costs beyond them is Python and NumPy.
- with ``--wrap``: the same for the functions named (a module attribute or a class's method;
  one imported by name into another module is not reached).

The wrappers cost about a microsecond a call: with ``--native`` the CPU per frame reads
0.2-0.5 ms higher. Compare runs of the same kind only, alternated (see the README's
measuring notes).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import importlib
import inspect
import os
import resource
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any

import app.cli as cli

TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[str, tuple[str, float]]:
    """Thread id → (name, CPU seconds) for every thread of this process."""
    names = {str(t.native_id): t.name for t in threading.enumerate()}
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        out[tid] = (names.get(tid, f"native-{comm}"), (int(fields[11]) + int(fields[12])) / TICKS)
    return out


class Timers:
    """Thread CPU time and calls per name, from wrapped callables."""

    def __init__(self) -> None:
        self.cpu: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()

    def wrap(self, name: str, fn: Callable[..., Any], site: bool = False) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            key = name
            if site:
                caller = sys._getframe(1)
                where = caller.f_code.co_filename.split("pipelines/")[-1]
                thread = threading.current_thread().name
                key = f"{thread} {name} @{where}:{caller.f_lineno}"
            t0 = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu[key] += time.thread_time() - t0
                self.calls[key] += 1

        return timed


def wrap_native(timers: Timers) -> None:
    import cv2
    import onnxruntime as ort

    from pipelines.segmentation import fused

    for name in dir(cv2):
        fn = getattr(cv2, name)
        if isinstance(fn, types.BuiltinFunctionType) and name[0].islower():
            setattr(cv2, name, timers.wrap(f"cv2.{name}", fn, site=True))
    run = ort.InferenceSession.run
    ort.InferenceSession.run = timers.wrap("ort.run", run, site=True)  # type: ignore[method-assign]
    kernels = fused._kernel
    if kernels is not None:
        wrapped = {
            f.name: timers.wrap(f"numba.{f.name}", getattr(kernels, f.name), site=True)
            for f in dataclasses.fields(kernels)
        }
        fused._kernel = dataclasses.replace(kernels, **wrapped)


def wrap_named(timers: Timers, targets: list[str]) -> None:
    for target in targets:
        if ":" in target:
            module, rest = target.split(":")
            cls, attr = rest.split(".")
            owner: Any = getattr(importlib.import_module(module), cls)
            label = f"{cls}.{attr}"
        else:
            module, _, attr = target.rpartition(".")
            owner = importlib.import_module(module)
            label = attr
        wrapped = timers.wrap(label, getattr(owner, attr), site=True)
        if isinstance(inspect.getattr_static(owner, attr), staticmethod):
            wrapped = staticmethod(wrapped)  # else it would be handed the instance
        setattr(owner, attr, wrapped)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="studio")
    parser.add_argument("--frames", default="300")
    parser.add_argument("--native", action="store_true")
    parser.add_argument("--wrap", nargs="*", default=[])
    args = parser.parse_args()
    measure = cli.measure_cpu

    def profiled(run: Any, first: int, total: int, source_ms: float) -> dict[str, Any]:
        stats = run.engine.stats
        while stats.frames_output < first and not run.wait(0.01):
            pass
        timers = Timers()
        for stage in run.engine.pipeline.stages:
            stage.process = timers.wrap(stage.name, stage.process)
            if stage.has_prepare():
                stage.prepare = timers.wrap(f"{stage.name}/prepare", stage.prepare)
        if args.native:
            wrap_native(timers)
        wrap_named(timers, args.wrap)
        usage0, threads0 = resource.getrusage(resource.RUSAGE_SELF), thread_cpu()
        frames0 = stats.frames_output
        result = measure(run, first, total, source_ms)
        usage1, threads1 = resource.getrusage(resource.RUSAGE_SELF), thread_cpu()
        frames1 = stats.frames_output
        n = max(frames1 - frames0, 1)
        err = sys.stderr
        print(f"FRAMES {n}, CPU per frame (bench) {result['ms_per_frame']} ms", file=err)
        user = (usage1.ru_utime - usage0.ru_utime) * 1000.0 / n
        system = (usage1.ru_stime - usage0.ru_stime) * 1000.0 / n
        faults = (usage1.ru_minflt - usage0.ru_minflt) / n
        print(
            f"PROCESS user {user:.2f} ms, sys {system:.2f} ms, minor faults {faults:.1f}", file=err
        )
        per_thread: collections.Counter[str] = collections.Counter()
        for tid, (name, cpu) in threads1.items():
            per_thread[name] += cpu - threads0.get(tid, (name, 0.0))[1]
        for name, cpu in per_thread.most_common():
            if cpu > 0:
                print(f"THREAD {name:28s} {cpu * 1000.0 / n:7.3f} ms/frame", file=err)
        by_library: collections.Counter[str] = collections.Counter()
        for key, cpu in timers.cpu.items():
            if "@" in key:
                thread, name = key.split()[:2]
                by_library[f"{thread} {name.split('.')[0]}"] += cpu
        for key, cpu in by_library.most_common():
            print(f"NATIVE {key:40s} {cpu * 1000.0 / n:7.3f} ms/frame", file=err)
        for key, cpu in timers.cpu.most_common():
            calls = timers.calls[key]
            print(
                f"STAGE {key:70s} {cpu * 1000.0 / n:7.3f} ms/frame, {calls / n:5.2f} calls/frame,"
                f" {cpu * 1000.0 / max(calls, 1):.3f} ms/call",
                file=err,
            )
        return result

    cli.measure_cpu = profiled
    sys.argv = ["camfx", "bench", "--preset", args.preset, "--frames", args.frames]
    return int(cli.main())


if __name__ == "__main__":
    sys.exit(main())
