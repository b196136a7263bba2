"""tools/gpu_report.py, issue 15's prepared script for a lent GPU, run here on the CPU: every
model is timed on the CPU and its GPU row is a refusal with ONNX Runtime's reason (never a
CPU figure under a GPU's name); Studio is measured paced and flat out; bad arguments are one
line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.inference.model import load_manifest

TIMEOUT_S = 300


def run_report(repo_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(repo_root))
    env.pop("CAMFX_PROVIDERS", None)
    return subprocess.run(
        [sys.executable, str(repo_root / "tools" / "gpu_report.py"), *args],
        capture_output=True, text=True, env=env, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def report(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("gpu")
    done = run_report(
        repo_root, "--out", str(out), "--sizes", "320x180", "--frames", "20",
        "--model-runs", "5", "--providers", "cuda,cuda+graph,cpu", "--studio-providers", "auto",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    data: dict[str, Any] = json.loads((out / "gpu_report.json").read_text())
    data["_markdown"] = (out / "gpu_report.md").read_text()
    data["_stdout"] = done.stdout
    return data


def test_every_model_is_timed_on_the_cpu_and_refused_on_cuda_with_a_reason(report) -> None:
    rows = {(r["model"], r["asked"]): r for r in report["models"]}
    for name in load_manifest():
        cpu = rows[(name, "CPU")]
        assert cpu["got"] == "CPU" and cpu["host"]["median_ms"] > 0, cpu
        assert cpu["host"]["p95_ms"] >= cpu["host"]["median_ms"]
        assert "device" not in cpu  # resident timing is for GPU providers only
        cuda = rows[(name, "CUDA")]
        assert cuda["got"] == "CPU" and cuda["refused"]["CUDA"], cuda
        assert "host" not in cuda  # a refused provider is not timed as the CPU
        graph = rows[(name, "CUDA graph")]  # CUDA graphs asked for: refused with CUDA
        assert graph["got"] == "CPU" and graph["refused"]["CUDA"] and "host" not in graph
    # The CPU a network costs is measured beside its latency: on the CPU provider (one
    # intra-op thread) the runs are CPU work, so the two are of a size.
    cpu_rows = [rows[(name, "CPU")]["host"] for name in load_manifest()]
    assert all(r["cpu_ms_per_run"] > 0 for r in cpu_rows), cpu_rows
    assert sum(r["cpu_ms_per_run"] for r in cpu_rows) >= 0.3 * sum(
        r["median_ms"] for r in cpu_rows
    ), cpu_rows
    assert "host CPU/run" in report["_markdown"]


def test_studio_is_measured_paced_and_flat_out(report) -> None:
    (row,) = report["studio"]
    assert row["size"] == "320x180" and row["providers"] == "auto"
    assert set(row["paced"]["providers"].values()) == {"CPU"}
    assert row["paced"]["cpu_ms_per_frame"] > 0 and row["paced"]["latency_median_ms"] > 0
    assert row["flat_out"]["fps"] > 0 and row["flat_out"]["cpu_ms_per_frame"] > 0
    assert report["failures"] == []


def test_the_markdown_is_printed_and_written(report) -> None:
    text = report["_markdown"]
    assert text == report["_stdout"]
    assert "| face_landmark_with_attention_blocked | CUDA | CPU | - |" in text
    assert "| 320x180 | auto | CPU |" in text
    assert report["machine"]["available_providers"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--sizes", "big"], "must be WIDTHxHEIGHT"),
        (["--providers", "quantum"], "unknown inference provider"),
        (["--frames", "0"], "must be a whole number >= 1"),
        (["--providers", "cpu+graph"], "CUDA graphs run on cuda"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(repo_root: Path, tmp_path: Path, args, said) -> None:
    done = run_report(repo_root, "--out", str(tmp_path), *args)
    assert done.returncode == 2
    assert said in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "gpu_report.json").exists()


def test_an_unwritable_out_folder_is_one_line_and_exit_2(repo_root: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = run_report(repo_root, "--out", str(blocker / "sub"))
    assert done.returncode == 2
    assert done.stderr.startswith("gpu_report: cannot write to") and "Traceback" not in done.stderr


def test_parts_past_the_budget_are_skipped_and_named(repo_root: Path, tmp_path: Path) -> None:
    """A lent machine's minutes are few: once --budget-s is spent no further part starts, the
    skipped ones are named, what ran is written, and the exit status says a part is missing.
    (A budget of 0 skips them all: how many fit in a second depends on the machine.)"""
    done = run_report(
        repo_root, "--out", str(tmp_path), "--budget-s", "0", "--model-runs", "5",
        "--providers", "cpu", "--sizes", "320x180", "--studio-providers", "auto",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    data = json.loads((tmp_path / "gpu_report.json").read_text())
    assert data["machine"]["available_providers"]
    assert data["studio"] == []
    assert data["models"] == []
    assert data["failures"] == [
        *(f"model {name} on cpu: skipped, past --budget-s 0" for name in load_manifest()),
        "studio 320x180: skipped, past --budget-s 0",
    ]
    assert "## Failed parts" in (tmp_path / "gpu_report.md").read_text()


def test_a_run_stopped_from_outside_leaves_its_figures(repo_root: Path, tmp_path: Path) -> None:
    """Killed after its first measured row (as a lent machine's time limit would), the report
    already on disk holds that row."""
    env = dict(os.environ, PYTHONPATH=str(repo_root))
    env.pop("CAMFX_PROVIDERS", None)
    child = subprocess.Popen(
        [sys.executable, str(repo_root / "tools" / "gpu_report.py"), "--out", str(tmp_path),
         "--providers", "cpu", "--model-runs", "5"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        assert child.stderr is not None
        for line in child.stderr:
            if line.startswith("gpu_report: models: "):
                first = json.loads(line.removeprefix("gpu_report: models: "))
                break
        else:
            pytest.fail("no model row was reported")
    finally:
        child.kill()
        child.wait(timeout=TIMEOUT_S)
    data = json.loads((tmp_path / "gpu_report.json").read_text())
    assert data["models"][0] == first and first["host"]["median_ms"] > 0
    assert "| CPU | CPU |" in (tmp_path / "gpu_report.md").read_text()
