"""The camfx command: run, bench, devices, and its error paths (one line, exit 2, no
traceback)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import cv2
import numpy as np
import pytest

from app import cli
from pipelines.frame import FrameContext
from pipelines.presets import Preset, StageSpec, register_preset
from pipelines.stage import BenchVariant, Stage, StageSettings, register_stage

SUBPROCESS_TIMEOUT_S = 120
# Python start-up plus argparse; generous for a loaded shared machine. A --help that imports
# OpenCV, NumPy, ONNX Runtime or Qt is caught by the module check, not by this.
HELP_MAX_S = 5.0
HEAVY_MODULES = ("cv2", "numpy", "onnxruntime", "PySide6", "sounddevice", "pyvirtualcam")


def camfx(*args: str, env: dict[str, str] | None = None, timeout: float = SUBPROCESS_TIMEOUT_S):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def frames_of(path: Path) -> tuple[int, tuple[int, int], float]:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"{path} does not play"
    n, size = 0, (0, 0)
    while True:
        ok, image = cap.read()
        if not ok:
            break
        n += 1
        size = (image.shape[1], image.shape[0])
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return n, size, fps


# ----------------------------------------------------------------------------- run
def test_run_demo_to_mp4_writes_every_frame_at_720p(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.mp4"
    code = cli.main(
        ["run", "--source", "demo", "--output", str(out), "--frames", "90", "--size", "1280x720"]
    )
    assert code == 0
    n, size, fps = frames_of(out)
    assert (n, size) == (90, (1280, 720))
    assert fps == pytest.approx(30.0, abs=0.01)
    err = capsys.readouterr().err
    assert "demo 1280x720@30" in err and f"file {out}" in err
    assert "processed 90" in err


def test_run_to_several_outputs_from_a_video_without_loop(tmp_path: Path) -> None:
    clip = tmp_path / "in.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 60.0, (64, 48))
    for i in range(7):
        writer.write(np.full((48, 64, 3), 30 * i, np.uint8))
    writer.release()
    a, b = tmp_path / "a.mp4", tmp_path / "b.mkv"
    outputs = ["--output", str(a), "--output", f"file:{b}", "--output", "null"]
    code = cli.main(["run", "--source", str(clip), "--no-loop", "--size", "64x48", *outputs])
    assert code == 0
    assert frames_of(a)[:2] == (7, (64, 48))
    assert frames_of(b)[:2] == (7, (64, 48))


def test_run_stops_cleanly_on_ctrl_c_and_the_file_plays(tmp_path: Path) -> None:
    out = tmp_path / "live.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", "--output", str(out), "--size", "320x240"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + SUBPROCESS_TIMEOUT_S
        while (not out.exists() or out.stat().st_size == 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    n, size, _ = frames_of(out)
    assert n >= 5 and size == (320, 240)


# ----------------------------------------------------------------------------- errors
def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("camfx: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--source", "webcam"], "unknown source 'webcam'"),
        (["--source", "demo:fast"], "source 'demo:fast': the motion scale"),
        (["--source", "{tmp}/nope.mp4"], "nope.mp4' does not exist"),
        (["--source", "{tmp}/clip.xcf"], "unsupported file type '.xcf'"),
        (["--source", "{tmp}/bad.png"], "could not be decoded"),
        (["--source", "camera:Logitech Brio"], "no camera named 'Logitech Brio'"),
        (["--source", "camera:57"], "camera '57'"),
        (["--output", "screen"], "unknown output 'screen'"),
        (["--output", "{tmp}/no/such/folder/x.mp4"], "does not exist; create it first"),
        (["--output", "{tmp}/bad.png/x.mp4"], "is a file, not a folder"),
        (["--output", "{tmp}"], "unknown output"),
        (["--output", "null", "--preset", "nosuch"], "unknown preset 'nosuch'"),
    ],
)
def test_run_errors_are_one_line_exit_2(tmp_path: Path, capsys, args, expected) -> None:
    (tmp_path / "bad.png").write_bytes(b"not a png")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--output" not in args:
        args += ["--output", "null"]
    code = cli.main(["run", *args, "--frames", "2", "--size", "64x48"])
    captured = capsys.readouterr()
    assert code == 2
    assert expected in _one_error_line(captured.err)
    assert captured.out == ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/sys is Linux's")
def test_run_to_an_unwritable_folder(capsys) -> None:
    # /sys refuses new files even to root, unlike a chmod'ed folder.
    code = cli.main(["run", "--output", "/sys/camfx-test.mp4", "--frames", "2", "--size", "64x48"])
    assert code == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "cannot be written" in line and "choose a folder you can write to" in line
    assert not os.path.exists("/sys/camfx-test.mp4")


def test_run_to_a_missing_virtual_camera_says_how_to_install_one(capsys) -> None:
    code = cli.main(
        ["run", "--output", "virtualcam:/dev/video63", "--frames", "2", "--size", "64x48"]
    )
    assert code == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "virtual camera '/dev/video63' is not available" in line
    if sys.platform.startswith("linux"):
        assert "sudo modprobe v4l2loopback" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--size", "1280"], "size '1280' is not WIDTHxHEIGHT"),
        (["run", "--size", "1281x720"], "must be even"),
        (["run", "--size", "0x0"], "between 16x16 and 7680x4320"),
        (["run", "--fps", "fast"], "fps 'fast' is not a number"),
        (["run", "--fps", "0"], "fps '0' must be between 1 and 240"),
        (["run", "--frames", "-3"], "'-3' must be at least 1"),
        (["bench", "--warmup", "-1"], "'-1' must be 0 or more"),
        (["bench", "--frames", "many"], "'many' is not a whole number"),
        (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
        (["run", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_are_usage_errors(capsys, args, expected) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # One line, not argparse's usage block first.
    assert len(err.splitlines()) == 1 and err.startswith("camfx"), err
    assert expected in err and "--help)" in err


RENDER_NO_AUDIO = ("talking-head", "render", "--output", "x.mp4", "--audio", "none")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--size", "-1x720"], "size '-1x720': width and height must be even and between"),
        (["run", "--size", "1280x-5"], "size '1280x-5': width and height must be even"),
        (["run", "--fps", "-1e3"], "fps '-1e3' must be between 1 and 240"),
        (["run", "--idle-after", "-.5"], "'-.5' must be between 0 and"),
        (["run", "--video-delay-ms", "-100"], "video delay '-100' must be between 0 and 500"),
        (["bench", "--size", "-640x480"], "size '-640x480'"),
        (
            [*RENDER_NO_AUDIO, "--size", "-2x2"],
            "size '-2x2'",
        ),
        (
            [*RENDER_NO_AUDIO, "--video-delay-ms", "-100"],
            "video delay '-100' must be between 0 and 500",
        ),
        (["talking-head", "capture", "--output", "x.png", "--tries", "-1e2"], "'-1e2' is not"),
    ],
)
def test_a_value_that_starts_with_a_dash_is_the_options_value(capsys, args, expected) -> None:
    """``--size -1x720`` said "expected one argument": argparse took ``-1x720`` for an unknown
    option, since only plain numbers (``-5``) counted as values. A dash and a digit is now a value,
    so the option's own check names it and what is allowed."""
    with pytest.raises(SystemExit) as info:
        cli.main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert expected in err and "expected one argument" not in err, err


def test_errors_exit_2_without_traceback_in_a_real_process(tmp_path: Path) -> None:
    result = camfx("run", "--source", str(tmp_path / "missing.png"), "--output", "null")
    assert result.returncode == 2
    assert "missing.png' does not exist; check the path" in _one_error_line(result.stderr)
    result = camfx("run", "--source", "camera:9", "--output", "null")
    assert result.returncode == 2
    # OpenCV's own warnings about the missing device are not shown, only our line.
    assert "camera '9'" in _one_error_line(result.stderr)


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """``camfx devices --json | true``: the reader closes the pipe before camfx writes. A
    traceback (BrokenPipeError) and exit 1 before; now no traceback and 141, as a shell reports
    a command ended by SIGPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before anything is written
    try:
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "devices", "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_S,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


# ----------------------------------------------------------------------------- --help
def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys, app.cli as c; c.build_parser(); "
        f"print([m for m in {HEAVY_MODULES!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_help_is_fast_and_lists_the_commands() -> None:
    t0 = time.monotonic()
    result = camfx("--help")
    elapsed = time.monotonic() - t0
    assert result.returncode == 0
    for command in ("run", "bench", "devices", "repair"):
        assert command in result.stdout
    assert elapsed < HELP_MAX_S
    run_help = camfx("run", "--help")
    assert "--source" in run_help.stdout and "--output" in run_help.stdout
    # The presets are listed, each with what it does.
    for name in ("off", "background-blur", "studio", "talking-head"):
        assert name in run_help.stdout
    assert "Portrait look" in run_help.stdout


# ----------------------------------------------------------------------------- bench
@register_stage
class InvertForBench(Stage[StageSettings]):
    name = "test-cli-invert"

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        return 255 - image


register_preset(Preset("test-cli-bench", (StageSpec("test-cli-invert"),), "tests only"))


BENCH_OFF = ("bench", "--frames", "30", "--size", "320x240", "--json")
"""The bench of the default preset (``off``, as the JSON test checks) that the JSON test reads
whole and the CPU test reads the CPU figures of: one run serves both (2.4 s of the suite
each)."""
_bench_off_runs: list[tuple[int, str]] = []


def _bench_off(capsys) -> tuple[int, str]:
    """:data:`BENCH_OFF`'s exit code and standard output, run once a session."""
    if not _bench_off_runs:
        code = cli.main(list(BENCH_OFF))
        _bench_off_runs.append((code, capsys.readouterr().out))
    return _bench_off_runs[0]


def test_bench_json(capsys) -> None:
    code, out = _bench_off(capsys)
    assert code == 0
    result = json.loads(out)  # stdout is the JSON and nothing else
    assert result["preset"] == "off" and result["size"] == "320x240" and result["frames"] == 30
    assert result["frames_output"] == 30 + 10  # warm-up frames run too, uncounted
    assert result["stages"] == {}
    for key in ("source_ms", "pipeline", "latency"):
        assert result[key]["median_ms"] >= 0
        assert result[key]["p95_ms"] >= result[key]["median_ms"]
    assert result["throughput_fps"] > 0
    assert result["peak_rss_mb"] > 0
    assert result["errors"] == {}
    assert isinstance(result["providers"], dict)
    # No stage with a mode of its own to time apart, and no budget to judge.
    assert result["variant_passes"] == [] and result["budgets"] == {}


def test_bench_says_when_other_programs_kept_the_machine_busy(capsys) -> None:
    """Two busy programs beside the bench (one a core on this 2-core machine): it says its
    figures are not a quiet machine's, on stderr, and gives the cores the others used (qa9:
    a bench beside six CPU hogs printed its figures as if quiet)."""
    import subprocess

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        code = cli.main(list(BENCH_OFF))
        captured = capsys.readouterr()
    finally:
        for p in busy:
            p.kill()
            p.wait()
    assert code == 0
    others = json.loads(captured.out)["others_busy_cores"]
    assert others > cli.OTHERS_BUSY_CORES, others
    assert "these figures are not a quiet machine's" in captured.err


def test_bench_with_a_stage_times_it(capsys) -> None:
    code = cli.main(["bench", "--preset", "test-cli-bench", "--frames", "20", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["size"] == "1280x720"
    assert set(result["stages"]) == {"test-cli-invert"}
    stage = result["stages"]["test-cli-invert"]
    assert 0 < stage["median_ms"] <= stage["p95_ms"]


BURN_MS = 4.0
"""CPU that the test stage below spends per frame: a heavier preset than ``off`` by a known
amount, whatever else the machine runs (thread CPU time, not wall time)."""


def burn_cpu(ms: float) -> None:
    end = time.thread_time() + ms / 1000.0
    while time.thread_time() < end:
        pass


@register_stage
class BurnCpuForBench(Stage[StageSettings]):
    name = "test-cli-burn"

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        burn_cpu(BURN_MS)
        return image


register_preset(Preset("test-cli-burn", (StageSpec("test-cli-burn"),), "tests only"))


def _bench_cpu(capsys, preset: str) -> dict:
    if preset == "off":
        code, out = _bench_off(capsys)
    else:
        code = cli.main([*BENCH_OFF, "--preset", preset])
        out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out)
    assert result["preset"] == preset
    return result["cpu"]


def test_bench_reports_cpu_per_frame_without_the_source(capsys) -> None:
    off = _bench_cpu(capsys, "off")
    burn = _bench_cpu(capsys, "test-cli-burn")
    for cpu in (off, burn):
        assert cpu["frames"] >= 20  # the paced run's 30 frames after warm-up, less the last few
        assert cpu["ms_per_frame_with_source"] > 0
        assert cpu["source_ms_per_grab"] > 0
        # The demo's own CPU is taken out as the capture thread spent it in this run, on every
        # frame it grabbed: more than were output where a loaded machine dropped some (per
        # output frame, 1.34 ms taken out against 0.84 ms a grab at 8 % of a core), so at
        # least half of its cost measured alone (a shared machine moves either by tens of per
        # cent).
        with_source = cpu["ms_per_frame_with_source"]
        taken_out = with_source - cpu["ms_per_frame"]
        taken_per_frame = cpu["capture_ms_per_grab"] * cpu["grabs"] / cpu["frames"]
        assert taken_out == pytest.approx(taken_per_frame, rel=0.2, abs=0.05)
        assert taken_out >= 0.5 * cpu["source_ms_per_grab"]
    # With no stage the engine costs little (issue 15: <= 1 ms). The process's CPU includes the
    # capture thread's, so what is left is never below zero.
    assert 0.0 <= off["ms_per_frame"] < 1.5, off
    assert burn["ms_per_frame"] > 0
    # The stage's known cost shows up on top of what the engine costs with no stage.
    extra = burn["ms_per_frame"] - off["ms_per_frame"]
    assert 0.75 * BURN_MS <= extra <= 3 * BURN_MS, (off, burn)


def test_bench_cpu_counts_the_frames_of_a_run_that_falls_behind() -> None:
    """On a loaded machine the paced run fell behind --fps, and the CPU measure's one sleep
    (as long as the frames left take at pace) ended with 9-12 of 30 frames output: the figure
    stood on a third of the run, and ``frames >= 20`` above failed now and then. It now sleeps
    on until about three frames before the end, however late they come."""
    import threading
    from types import SimpleNamespace

    total, first, fps = 30, 5, 30.0
    stats = SimpleNamespace(frames_output=0, capture_cpu_s=0.0)
    source = SimpleNamespace(pace_fps=fps, grab_ms=SimpleNamespace(added=0))
    done = threading.Event()

    def engine_at_half_pace() -> None:  # a frame every 2 / fps: the machine is loaded
        while stats.frames_output < total and not done.wait(2.0 / fps):
            stats.frames_output += 1
            source.grab_ms.added += 1
        done.set()

    run = SimpleNamespace(wait=done.wait, engine=SimpleNamespace(stats=stats), source=source)
    engine = threading.Thread(target=engine_at_half_pace)
    engine.start()
    try:
        cpu = cli.measure_cpu(run, first, total, source_ms=1.0)
    finally:
        done.set()
        engine.join()
    assert total - 3 - first <= cpu["frames"] <= total - first, cpu
    assert cpu["grabs"] == cpu["frames"]


SEEN_BY_BENCH: list[float] = []
"""The mean grey level of every frame the recording stage below was given."""


@register_stage
class RecordFramesForBench(Stage[StageSettings]):
    name = "test-cli-record"

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        SEEN_BY_BENCH.append(float(image.mean()))
        return image


register_preset(Preset("test-cli-record", (StageSpec("test-cli-record"),), "tests only"))


def test_bench_measures_on_the_source_it_is_given(tmp_path: Path, capsys) -> None:
    """``--source``: every pass (flat out, at pace, the source alone) runs on that picture, not
    the demo: e.g. a room with nobody in view, which the demo's face never shows."""
    picture = tmp_path / "room.png"
    cv2.imwrite(str(picture), np.full((48, 64, 3), 37, np.uint8))
    SEEN_BY_BENCH.clear()
    args = ["bench", "--preset", "test-cli-record", "--source", str(picture)]
    code = cli.main([*args, "--frames", "12", "--warmup", "2", "--size", "64x48", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["source"] == str(picture)
    assert result["frames_output"] == 14 and result["cpu"]["frames"] >= 1
    assert len(SEEN_BY_BENCH) >= 14 + 3
    assert set(SEEN_BY_BENCH) == {37.0}  # the demo's face would never be one flat grey

    assert cli.main([*args, "--frames", "3", "--warmup", "0", "--size", "64x48"]) == 0
    out = capsys.readouterr().out
    assert f"3 frames, source {picture}" in out and "(source: read)" in out


def test_bench_refuses_a_missing_source_or_one_for_the_window(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "room.jpg"
    assert cli.main(["bench", "--source", str(missing), "--frames", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(missing) in err[0] and "does not exist" in err[0]
    assert cli.main(["bench", "--gui", "--source", str(missing)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--gui" in err[0] and "demo only" in err[0]


def test_bench_text_report(capsys) -> None:
    assert cli.main(["bench", "--frames", "5", "--warmup", "0", "--size", "64x48"]) == 0
    out = capsys.readouterr().out
    assert "camfx bench: preset off, 64x48, 5 frames" in out
    assert "end-to-end latency" in out and "throughput:" in out and "peak RSS" in out
    assert "CPU per frame at 30 fps:" in out and "source excluded" in out


def test_bench_of_one_frame_says_its_cpu_was_not_measured(capsys) -> None:
    """One frame is all warm-up: its CPU per frame read "nan ms (nan cores)" (qa62)."""
    assert cli.main(["bench", "--frames", "1", "--size", "64x48"]) == 0
    out = capsys.readouterr().out
    assert "CPU per frame at 30 fps: not measured (no frame after the warm-up)" in out
    assert "nan" not in out, out


def test_bench_says_whether_the_compiled_kernels_ran(capsys, monkeypatch) -> None:
    """A figure from an install without Numba (the README's demo command) is the OpenCV
    paths': the bench says which ran, in its JSON and its text, and why not."""
    from pipelines.segmentation import fused

    if not fused.available():
        pytest.skip(f"the compiled kernels are unavailable here: {fused.unavailable_reason()}")
    args = ["bench", "--preset", "background-blur", "--frames", "4", "--warmup", "0"]
    assert cli.main([*args, "--size", "128x72", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["compiled_kernels"] == {
        "numba": True,
        "unavailable": None,
    }
    monkeypatch.setenv(fused.DISABLE_ENV, "1")
    assert cli.main([*args, "--size", "128x72", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["compiled_kernels"] == {
        "numba": False,
        "unavailable": f"disabled by {fused.DISABLE_ENV}",
    }
    assert cli.main([*args, "--size", "128x72"]) == 0
    out = capsys.readouterr().out
    assert f"compiled kernels: none (disabled by {fused.DISABLE_ENV}): the slower OpenCV" in out
    assert fused.INSTALL_HINT in out
    # A preset none of whose stages has them is not told to install Numba (qa62).
    off = ["bench", "--preset", "off", "--frames", "4", "--warmup", "0", "--size", "128x72"]
    assert cli.main([*off, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["compiled_kernels"] is None
    assert cli.main(off) == 0
    out = capsys.readouterr().out
    assert "compiled kernels: not used by this preset" in out and fused.INSTALL_HINT not in out


@dataclass(frozen=True)
class ModesForBenchSettings(StageSettings):
    mode: Literal["cheap", "dear"] = "cheap"


@register_stage
class ModesForBench(Stage[ModesForBenchSettings]):
    """A stage with two modes, each with a budget, like the talking head: the preset shows the
    cheap one, which is well within its budget; the dear one burns BURN_MS, over its budget."""

    name = "test-cli-modes"
    settings_type = ModesForBenchSettings
    timer_budgets_ms = MappingProxyType({"cheap": 3.0, "dear": 1.0})
    bench_variants = (BenchVariant("dear_pass", MappingProxyType({"mode": "dear"}), "dear"),)

    def process(self, image: np.ndarray, ctx: FrameContext) -> np.ndarray:
        start = time.perf_counter()
        if self.settings.mode == "dear":
            burn_cpu(BURN_MS)
        ctx.stage_ms[f"{self.name}/{self.settings.mode}"] = (time.perf_counter() - start) * 1e3
        return image


register_preset(Preset("test-cli-modes", (StageSpec("test-cli-modes"),), "tests only"))


def test_a_stage_with_two_modes_has_a_budget_per_timer() -> None:
    assert ModesForBench.time_budgets() == {"test-cli-modes/cheap": 3.0, "test-cli-modes/dear": 1.0}
    paced = {"test-cli-modes/dear": {"median_ms": 1.5}, "test-cli-modes": {"median_ms": 1.6}}
    # Only what the run measured is judged: the cheap mode did not run.
    assert cli.stage_budgets([ModesForBench()], paced) == {
        "test-cli-modes/dear": {"budget_ms": 1.0, "median_ms": 1.5, "within": False}
    }


def test_a_variant_pass_is_a_third_of_the_bench_but_not_too_short() -> None:
    assert cli.variant_frames(300) == 100
    assert cli.variant_frames(90) == cli.VARIANT_MIN_FRAMES == 60
    assert cli.variant_frames(20) == 20  # never longer than the bench itself


def test_bench_times_a_mode_the_preset_does_not_show_in_a_pass_of_its_own(capsys) -> None:
    args = ["bench", "--preset", "test-cli-modes", "--frames", "20", "--warmup", "2"]
    assert cli.main([*args, "--size", "64x48", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["variant_passes"] == ["dear_pass"]
    # The main passes ran the preset's settings: the cheap mode only.
    assert "test-cli-modes/cheap" in result["stages_paced"]
    assert "test-cli-modes/dear" not in result["stages_paced"]
    dear = result["dear_pass"]
    assert dear["stage"] == "test-cli-modes" and dear["settings"] == {"mode": "dear"}
    assert dear["timer"] == "test-cli-modes/dear" and dear["frames"] == 20
    assert dear["errors"] == {}
    assert "test-cli-modes/cheap" not in dear["stages"]
    timed = dear["stages"]["test-cli-modes/dear"]
    assert BURN_MS <= timed["median_ms"] <= timed["p95_ms"]  # wall time >= the CPU it burnt
    assert dear["pipeline"]["median_ms"] >= timed["median_ms"]
    assert dear["latency"]["median_ms"] > 0 and dear["latency_dropped"] >= 0
    assert dear["cpu"]["frames"] >= 10
    assert dear["cpu"]["ms_per_frame"] >= 0.75 * BURN_MS, dear["cpu"]
    # Each mode's budget is judged on the pass that ran it, and says which one that was.
    cheap_median = result["stages_paced"]["test-cli-modes/cheap"]["median_ms"]
    assert result["budgets"] == {
        "test-cli-modes/cheap": {
            "budget_ms": 3.0,
            "median_ms": cheap_median,
            "within": True,
            "pass": "stages_paced",
        },
        "test-cli-modes/dear": {
            "budget_ms": 1.0,
            "median_ms": timed["median_ms"],
            "within": False,
            "pass": "dear_pass",
        },
    }

    assert cli.main([*args, "--size", "64x48"]) == 0
    out = capsys.readouterr().out
    assert (
        "dear_pass pass (test-cli-modes mode=dear, 20 frames at 30 fps): test-cli-modes/dear" in out
    )
    assert "CPU per frame" in out.split("dear_pass pass", 1)[1].splitlines()[1]
    assert "budget test-cli-modes/cheap: " in out and "against 3 ms: within" in out
    assert "ms median at 30 fps (dear_pass pass) against 1 ms: OVER" in out


def test_bench_talking_head_reports_the_overlay_and_the_stand_in(capsys) -> None:
    """Issue 13: overlay <= 4 ms and stand-in <= 8 ms per 720p frame, both reported by bench,
    though the demo's face, always in view, keeps `auto` on the overlay."""
    from pipelines.avatar.stage import TalkingHead

    assert TalkingHead.time_budgets() == {
        "talking_head/overlay": 4.0,
        "talking_head/stand-in": 8.0,
    }
    args = ["bench", "--preset", "talking-head", "--frames", "30", "--warmup", "5"]
    assert cli.main([*args, "--size", "320x180", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["errors"] == {}
    paced = result["stages_paced"]
    assert "talking_head/overlay" in paced and "talking_head/stand-in" not in paced
    assert result["variant_passes"] == ["stand_in"]
    stand_in = result["stand_in"]
    assert stand_in["settings"] == {"mode": "stand-in"} and stand_in["errors"] == {}
    assert stand_in["timer"] == "talking_head/stand-in" and stand_in["frames"] == 30
    assert {"face_tracker", "audio_mouth", "talking_head"} <= set(stand_in["stages"])
    assert "talking_head/overlay" not in stand_in["stages"]
    timed = stand_in["stages"]["talking_head/stand-in"]
    assert 0 < timed["median_ms"] <= timed["p95_ms"]
    assert stand_in["latency"]["median_ms"] > 0 and stand_in["cpu"]["frames"] >= 20
    budgets = result["budgets"]
    assert set(budgets) == {"talking_head/overlay", "talking_head/stand-in"}
    for timer, budget, where, figures in (
        ("talking_head/overlay", 4.0, "stages_paced", paced),
        ("talking_head/stand-in", 8.0, "stand_in", stand_in["stages"]),
    ):
        median = figures[timer]["median_ms"]
        assert budgets[timer] == {
            "budget_ms": budget,
            "median_ms": median,
            "within": median <= budget,
            "pass": where,
        }


# ----------------------------------------------------------------------------- devices
def _check_devices(info: dict) -> None:
    assert isinstance(info["cameras"], list)
    vc = info["virtual_camera"]
    assert vc["backends"], "pyvirtualcam lists at least one backend per OS"
    if not vc["works"] and sys.platform.startswith("linux"):
        assert "sudo modprobe v4l2loopback" in vc["hint"]
    inf = info["inference"]
    assert "CPU" in inf["listed"]
    assert inf["sessions"]["CPU"]["works"] is True
    for name, s in inf["sessions"].items():
        if not s["works"]:
            assert s["reason"], f"{name} refused without a reason"
            assert s["got"] == "CPU"
    assert "auto" in inf
    compiled = info["compiled"]
    assert compiled["works"] is (compiled["numba"] is not None), compiled


def test_devices_json(capsys) -> None:
    assert cli.main(["devices", "--json"]) == 0
    captured = capsys.readouterr()
    info = json.loads(captured.out)
    _check_devices(info)
    audio = info["audio"]
    assert isinstance(audio["works"], bool) and isinstance(audio["inputs"], list)
    if not audio["works"]:
        assert audio["error"]


def test_devices_text(capsys) -> None:
    assert cli.main(["devices"]) == 0
    out = capsys.readouterr().out
    for heading in ("Cameras:", "Virtual camera:", "Audio inputs:", "Inference (ONNX Runtime",
                    "Compiled background effects (Numba"):  # fmt: skip
        assert heading in out


def test_devices_prints_each_fix_once() -> None:
    from pipelines.devices import format_devices
    from pipelines.outputs.virtualcam import setup_hint

    hint = setup_hint()
    info = {
        "cameras": [],
        "virtual_camera": {
            "backends": [
                {"backend": "v4l2loopback", "works": False,
                 "error": f"virtual camera is not available: {hint} (backends tried: none)"},
            ],
            "works": False,
            "hint": hint,
        },
        "audio": {"works": False, "inputs": [], "error": "no input", "hint": "plug one in"},
        "inference": {"onnxruntime": "1", "listed": ["CPU"], "sessions": {}},
        "compiled": {"works": True, "numba": "0.60"},
    }  # fmt: skip
    text = format_devices(info)
    assert text.count(hint) == 1
    assert "v4l2loopback  [NOT WORKING] virtual camera is not available (backends tried" in text


@pytest.mark.parametrize(("graphs", "said"), [(True, "on for the fixed-shape"), (False, "off (")])
def test_devices_says_whether_cuda_graphs_are_on(graphs, said) -> None:
    from pipelines.devices import format_devices

    info = {
        "cameras": [],
        "virtual_camera": {"backends": [], "works": True},
        "audio": {"works": True, "inputs": []},
        "inference": {"onnxruntime": "1", "listed": ["CUDA", "CPU"], "sessions": {},
                      "cuda_graphs": graphs},
        "compiled": {"works": True, "numba": "0.60"},
    }  # fmt: skip
    assert f"  CUDA graphs: {said}" in format_devices(info)
    del info["inference"]["cuda_graphs"]  # a build without CUDA: nothing said
    assert "CUDA graphs" not in format_devices(info)


def test_devices_says_when_the_compiled_effects_are_off(capsys, monkeypatch) -> None:
    monkeypatch.setenv("CAMFX_NO_JIT", "1")
    assert cli.main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "[NOT WORKING] disabled by CAMFX_NO_JIT" in out
    assert "to fix: unset CAMFX_NO_JIT" in out


def test_devices_without_numba_says_how_to_add_it(monkeypatch, caplog) -> None:
    """Numba is the optional `jit` extra: without it the hint names the extra's ways in, and
    the fallback is said at info level (a choice), not as a warning on every start."""
    import logging

    from pipelines.devices import probe_compiled
    from pipelines.segmentation import fused

    monkeypatch.delenv(fused.DISABLE_ENV, raising=False)
    monkeypatch.setattr(fused, "_kernel", None)
    monkeypatch.setattr(fused, "_unavailable", None)

    def no_numba() -> None:
        raise ModuleNotFoundError("No module named 'numba'")

    monkeypatch.setattr(fused, "_compile", no_numba)
    with caplog.at_level(logging.INFO, logger="pipelines.segmentation.fused"):
        info = probe_compiled()
    assert info["works"] is False and "numba" in info["error"]
    assert info["hint"].startswith("pip install numba (or installer/bootstrap.sh --jit)")
    records = [r for r in caplog.records if r.name == "pipelines.segmentation.fused"]
    assert [r.levelno for r in records] == [logging.INFO]
    assert "installer/bootstrap.sh --jit" in records[0].getMessage()
    # In `camfx devices` an extra not installed is off, not a fault.
    from pipelines.devices import compiled_lines

    text = "\n".join(compiled_lines(info))
    assert "[off] an optional extra" in text and "NOT WORKING" not in text, text


@pytest.fixture
def no_portaudio(tmp_path: Path) -> dict[str, str]:
    """An environment where `import sounddevice` fails as it does without PortAudio."""
    fake = tmp_path / "fake_site"
    fake.mkdir()
    (fake / "sounddevice.py").write_text('raise OSError("PortAudio library not found")\n')
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(fake), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def test_missing_portaudio_breaks_only_audio(no_portaudio: dict[str, str], tmp_path: Path) -> None:
    result = camfx("devices", "--json", env=no_portaudio)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["audio"]["works"] is False
    assert "PortAudio library not found" in info["audio"]["error"]
    if sys.platform.startswith("linux"):
        assert "libportaudio2" in info["audio"]["hint"]
    _check_devices(info)  # everything else still answers
    text = camfx("devices", env=no_portaudio)
    assert text.returncode == 0 and "to fix: install PortAudio" in text.stdout
    out = tmp_path / "x.mp4"
    run = camfx(
        "run", "--output", str(out), "--frames", "3", "--size", "64x48", "--fps", "120",
        env=no_portaudio,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert frames_of(out)[0] == 3


def test_run_with_a_talking_head_builds_one_tracker_and_sets_the_length() -> None:
    import dataclasses

    from pipelines.audio.inputs import read_audio_file
    from pipelines.build import build_engine

    wav = str(Path(__file__).resolve().parents[1] / "pipelines/assets/talking_head_speech.wav")
    args = cli.build_parser().parse_args(
        ["run", "--preset", "track", "--talking-head", "--audio", wav, "--output", "null",
         "--size", "64x48", "--source", "demo"]
    )  # fmt: skip
    config = cli.run_config(args)
    assert config.talking_head is not None and config.talking_head.audio_file == wav
    data, rate = read_audio_file(wav)
    assert config.seconds_of_audio() == pytest.approx(len(data) / rate)
    assert config.run_length().seconds == config.seconds_of_audio() > 1.0
    run = build_engine(config, start=False)
    try:
        # The preset tracks faces already: the talking head reuses its tracker.
        assert run.engine.pipeline.names() == ["face_tracker", "audio_mouth", "talking_head"]
    finally:
        run.close()
    # Without one, the talking head brings its own.
    bare = build_engine(dataclasses.replace(config, preset="off"), start=False)
    try:
        assert bare.engine.pipeline.names() == ["face_tracker", "audio_mouth", "talking_head"]
    finally:
        bare.close()


@pytest.mark.parametrize("as_json", [False, True])
def test_devices_fails_when_a_model_does_not_work(
    as_json: bool, tmp_path: Path, capsys, monkeypatch
) -> None:
    from pipelines.inference import model

    shipped = model.models_dir()
    (tmp_path / "manifest.json").write_bytes((shipped / "manifest.json").read_bytes())
    for path in shipped.glob("*.onnx"):
        if path.name != "iris_landmark.onnx":  # the one model left out
            (tmp_path / path.name).symlink_to(path)
    monkeypatch.setattr(model, "models_dir", lambda: tmp_path)
    assert cli.main(["devices", *(["--json"] if as_json else [])]) == 1
    captured = capsys.readouterr()
    [line] = [x for x in captured.err.splitlines() if "NOT WORKING" in x]
    # From a checkout the models come back from git (no command that needs the network, no
    # package camfx does not publish: qa64), elsewhere by installing camfx again.
    assert "iris_landmark" in line and model.restore_hint() in line
    assert "pip install" not in line and "onnx_models.convert" not in line
    assert ("checkout -- onnx_models/" in line) == (Path(cli.__file__).parents[1] / ".git").exists()
    assert "face_landmark," not in line  # only the broken one is named
    if as_json:
        assert json.loads(captured.out)["models"]["works"] is False
    else:
        assert "iris_landmark" in captured.out and "NOT WORKING" in captured.out


def test_outputs_are_checked_before_anything_is_built(tmp_path: Path) -> None:
    """The same recording named twice is refused (two writers used one file), and a render
    into a folder that is not there is refused before the avatar's build (it took ~5 s to say
    so; found by a QA pass). One line, exit 2, nothing written."""
    twice = tmp_path / "a.mp4"
    result = camfx("run", "--source", "demo", "--frames", "5", "--output", str(twice),
                   "--output", str(twice))  # fmt: skip
    assert result.returncode == 2
    assert "is named twice" in _one_error_line(result.stderr)
    assert not twice.exists()
    portrait = str(Path(__file__).resolve().parent / "data" / "faces" / "astronaut.jpg")
    missing = tmp_path / "nowhere" / "x.mp4"
    t0 = time.monotonic()
    result = camfx("talking-head", "render", "--portrait", portrait, "--audio", "none",
                   "--frames", "5", "--output", str(missing))  # fmt: skip
    took = time.monotonic() - t0
    assert result.returncode == 2
    assert "does not exist; create it first" in _one_error_line(result.stderr)
    assert took < 4.0, f"refused after {took:.1f} s"


def test_the_talking_head_preset_on_the_demo_speaks_its_clip_says_so_and_records_it(
    tmp_path: Path, capsys
) -> None:
    # Before: the bundled clip spoke, nothing was said, and the recording had no sound track.
    import av

    out = tmp_path / "th.mp4"
    code = cli.main(["run", "--source", "demo", "--preset", "talking-head", "--output",
                     str(out), "--size", "160x96", "--frames", "45"])  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if "talking head speaks" in x]
    assert "talking_head_speech.wav" in line and "not the microphone" in line
    assert "--audio mic" in line
    with av.open(str(out)) as container:
        assert container.streams.audio, "the recording has no sound track"
        sound = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert float(np.sqrt(np.mean(np.square(sound)))) > 0.01  # the clip's voice, not silence


@pytest.mark.parametrize("source", ["camera", "camera:0"])
def test_the_talking_head_preset_on_a_camera_listens_to_the_microphone(source: str) -> None:
    # As --audio's help says (default: mic); before, the bundled clip spoke over the camera.
    from pipelines.build import preset_stages

    args = cli.build_parser().parse_args(["run", "--source", source, "--preset", "talking-head"])
    config, note = cli.preset_voice(cli.run_config(args))
    assert note is None  # the microphone speaks: nothing to say
    head = config.talking_head
    # ...and must be there, as with --audio mic (qa64: none gave an idle head, exit 0).
    assert head is not None and head.audio == "mic" and head.audio_required
    stages = preset_stages(config.preset_object(), head, config.fps)
    [voice] = [s for s in stages if s.name == "audio_mouth"]
    assert voice.settings.input == "mic"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["run", "--source", ""], "--source"),
        (["run", "--source", "demo", "--talking-head", "--audio", ""], "--audio"),
        (["run", "--talking-head", "", "--output", "null"], "--talking-head"),
        (["run", "--output", ""], "--output"),
        (["run", "--preset", " "], "--preset"),
        (["bench", "--source", ""], "--source"),
        (
            ["talking-head", "render", "--audio", "x.wav", "--portrait", "", "--output", "o.mp4"],
            "--portrait",
        ),
        (["talking-head", "render", "--audio", "", "--output", "o.mp4"], "--audio"),
        (["talking-head", "capture", "--source", "", "--output", "me.png"], "--source"),
        (["analyze", ""], "image"),
        (["gui", "--source", ""], "--source"),
    ],
)
def test_an_empty_value_is_refused_not_taken_as_the_default(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """qa64: an empty value (an unset shell variable) was taken as none: ``--source ""``
    recorded the demo, ``--audio ""`` rendered a silent video, ``--portrait ""`` used the demo
    portrait, exit 0. One line naming the option, exit 2; the option left out, or
    ``--talking-head`` with no value, still means its default."""
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"argument {option}: is empty" in lines[0], lines


@pytest.mark.parametrize("command", [["devices"], ["run", "--frames", "2", "--output", "null"]])
def test_an_opencv_thread_count_it_cannot_read_is_one_line(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """qa64: OPENCV_FOR_THREADS_NUM=abc ended ``camfx run`` mid-run in a cv2.error traceback
    ("stoull"), and ``camfx devices`` blamed Numba. One line naming the variable, exit 2."""
    monkeypatch.setenv("OPENCV_FOR_THREADS_NUM", "abc")
    assert cli.main(command) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "OPENCV_FOR_THREADS_NUM='abc'" in lines[0], lines


def test_devices_says_what_the_providers_asked_for_give(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """qa64: ``camfx --providers cuda devices`` printed the automatic choice, as if nothing was
    asked, and $CAMFX_PROVIDERS=nonsense printed its error twice, exit 0. Devices says what
    the asked providers give (CUDA refused here, CPU running), and an unknown one is one line,
    exit 2, for every command."""
    from pipelines.inference import session

    monkeypatch.setattr(session, "_default", None)  # (main sets the process's factory)
    assert cli.main(["--providers", "cuda", "devices", "--json"]) in (0, 1)
    info = json.loads(capsys.readouterr().out)["inference"]
    assert info["asked"] == "CUDA,CPU" and ": CPU" in info["auto"], info
    monkeypatch.setattr(session, "_default", None)
    monkeypatch.setenv("CAMFX_PROVIDERS", "nonsense")
    for command in (["devices"], ["run", "--frames", "2", "--output", "null"]):
        assert cli.main(command) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "unknown inference provider 'nonsense'" in lines[0], lines
    monkeypatch.setattr(session, "_default", None)


@pytest.mark.parametrize("suffix", [".mov", ".avi"])
def test_render_writes_the_containers_run_writes(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """qa64: ``talking-head render`` refused .mov and .avi ("use a .mp4 file") though
    ``camfx run`` records them and render wrote .mkv and .m4v. Each holds the video and the
    voice."""
    import av

    speech = Path(cli.__file__).parents[1] / "pipelines/assets/talking_head_speech.wav"
    out = tmp_path / f"talk{suffix}"
    argv = ["talking-head", "render", "--audio", str(speech), "--output", str(out)]
    assert cli.main([*argv, "--frames", "10", "--size", "320x180"]) == 0, capsys.readouterr()
    with av.open(str(out)) as container:
        kinds = sorted(s.type for s in container.streams)
        frames = sum(1 for _ in container.decode(video=0))
    assert kinds == ["audio", "video"] and frames == 10


def test_bench_refuses_gui_with_soak(capsys: pytest.CaptureFixture[str]) -> None:
    """qa64: ``bench --gui --soak`` ran the plain soak at 720p, the window left out, exit 0."""
    assert cli.main(["bench", "--gui", "--soak"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--gui and --soak" in lines[0], lines
