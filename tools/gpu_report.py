"""Issue 15's GPU figures in one run, for the day a GPU machine is lent.

    PYTHONPATH=. python3 tools/gpu_report.py --out DIR [--sizes 1920x1080,3840x2160]
        [--frames 150] [--model-runs 100] [--providers tensorrt,cuda,cpu]
        [--studio-providers auto,cpu] [--budget-s 300]

Writes ``DIR/gpu_report.json`` and ``DIR/gpu_report.md`` after every row it measures (a run
stopped from outside still leaves what it measured), prints a line per row to stderr as it
goes, and prints the whole markdown at the end. It runs
anywhere (on this project's 2-core machine it reports the GPU providers as refused, with
ONNX Runtime's reason, and times the CPU), so it is tested here
(``tests/test_gpu_report.py``) and ready as the one prepared script that issue 15 asks a lent
GPU to run. Three parts:

- **machine**: Python, ONNX Runtime (package, version, providers its build has), the NVIDIA
  driver (:func:`pipelines.inference.gpu.nvidia_driver`) and ``nvidia-smi``'s GPU line.
- **models**: every model of ``onnx_models/manifest.json`` on each of ``--providers``, alone
  (a factory asked for that provider only; one that does not load is reported with the
  factory's reason, never timed as the CPU). Median and p95 of ``--model-runs`` runs after 20
  warm-up runs, on zeros of the manifest's input shapes, two ways:

  * ``host``: ``OnnxModel.run_raw`` as the stages call it, inputs from and outputs to host
    memory (on CUDA the IO binding path: one upload, one download);
  * ``device``: inputs already in the provider's memory and outputs left there (CUDA and
    TensorRT only): the network's own latency, what a pipeline with device-resident frames
    would pay.

  A provider named with ``+graph`` (``cuda+graph``) is timed with the fixed-shape models run
  as CUDA graphs (``$CAMFX_CUDA_GRAPH``); a model ONNX Runtime will not capture says why.

- **studio**, per ``--sizes`` and per ``--studio-providers`` (``$CAMFX_PROVIDERS`` for a child
  process; ``auto`` is what a user gets; ``auto+graph`` the same with CUDA graphs):

  * ``camfx bench --preset studio --json`` at the camera's pace: CPU per frame (source
    excluded), median latency, the engine's providers and any fallback;
  * flat out, in-process, on frames rendered beforehand (``tools/peer_bench.py``'s camfx
    side: the engine fed copies of saved frames, so the demo's own rendering, 10-30 ms a 4K
    frame on a CPU, does not cap it): fps and CPU per frame. Issue 15's GPU goal is 1080p
    Studio at >=500 fps this way with <=1 ms of CPU per frame.

**Time.** A lent machine is lent for minutes (15 of device time on 2026-12-04, start and
transfers included), and the first full run there (300 frames, 200 runs) outran its 450 s
without writing a figure: each Studio child opens every network on CUDA afresh (about 2.5 s
for a model's first run) and renders its 4K frames on the CPU. So the parts run in the order
of what they tell (the GPU's models, then each size's Studio on ``auto`` before the CPU
baseline), and a part that would start after ``--budget-s`` seconds is skipped and named.

Exit status 0 when every part ran, 1 when one failed or was skipped (its line in the report
says why; the rest is still measured and written), 2 for bad arguments. On the lent machine
it needs the CUDA build of ONNX Runtime and camfx's small dependencies; ``tools/gpu_payload.sh``
makes them into parts that travel with the working tree and says how to run this there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CUDA_GRAPH_ENV = "CAMFX_CUDA_GRAPH"  # pipelines.inference.session's: this file imports late
PEER_BENCH = ROOT / "tools" / "peer_bench.py"
sys.path.insert(0, str(PEER_BENCH.parent))
from peer_bench import frame_size, nonnegative_int, positive_int, render_demo  # noqa: E402

WARMUP_RUNS = 20
FLAT_OUT_WARMUP = 10
DEVICE_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")
EXIT_PART_FAILED = 1
EXIT_USAGE = 2
CHILD_TIMEOUT_S = 600
CHILD_GRACE_S = 60  # a child may run this far past the budget before it is stopped
GRAPH_SUFFIX = "+graph"
"""``cuda+graph``, ``auto+graph``: the same with fixed-shape models run as CUDA graphs
(:data:`pipelines.inference.session.CUDA_GRAPH_ENV`)."""


def frame_sizes(text: str) -> list[tuple[int, int]]:
    """``WxH[,WxH...]``, each checked as peer_bench's ``--size``."""
    return [frame_size(item) for item in text.split(",")]


def provider_list(text: str) -> list[str]:
    from pipelines.errors import ModelError
    from pipelines.inference.session import parse_providers

    items = [s.strip() for s in text.split(",") if s.strip()]
    for item in items:
        base = item.removesuffix(GRAPH_SUFFIX)
        if base != item and base not in ("auto", "cuda"):
            raise argparse.ArgumentTypeError(f"{item}: CUDA graphs run on cuda (or auto) only")
        if base != "auto":
            try:
                parse_providers(base)
            except ModelError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from exc
    if not items:
        raise argparse.ArgumentTypeError("name at least one provider")
    return items


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gpu_report", description="Issue 15's GPU figures: models and Studio."
    )
    p.add_argument("--out", required=True, help="folder for gpu_report.json and .md")
    p.add_argument("--sizes", type=frame_sizes, default=frame_sizes("1920x1080,3840x2160"))
    p.add_argument("--frames", type=positive_int, default=150, help="Studio frames per run")
    p.add_argument("--model-runs", type=positive_int, default=100)
    p.add_argument("--providers", type=provider_list, default=["tensorrt", "cuda", "cpu"])
    p.add_argument("--studio-providers", type=provider_list, default=["auto", "cpu"])
    p.add_argument(
        "--budget-s",
        type=nonnegative_int,
        default=300,
        help="seconds after which no further part starts (those left are named as skipped)",
    )
    return p


class Report:
    """The report as it grows: each row is written out as soon as it is measured, so that a
    run stopped from outside (a lent machine's time running out) still leaves its figures."""

    def __init__(self, out: Path, budget_s: float) -> None:
        self.out = out
        self.deadline = time.monotonic() + budget_s
        self.budget_s = budget_s
        self.data: dict[str, Any] = {"machine": {}, "models": [], "studio": [], "failures": []}

    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    def over_budget(self, part: str) -> bool:
        """True (and the part named as skipped) once the budget is spent."""
        if self.time_left() > 0:
            return False
        self.fail(f"{part}: skipped, past --budget-s {self.budget_s:g}")
        return True

    def add(self, section: str, row: dict[str, Any]) -> None:
        self.data[section].append(row)
        self.save()  # before the line, so that what a reader sees is already on disk
        print(f"gpu_report: {section}: {json.dumps(row)}", file=sys.stderr, flush=True)

    def fail(self, line: str) -> None:
        self.data["failures"].append(line)
        self.save()
        print(f"gpu_report: FAILED {line}", file=sys.stderr, flush=True)

    def save(self) -> None:
        (self.out / "gpu_report.json").write_text(json.dumps(self.data, indent=2) + "\n")
        (self.out / "gpu_report.md").write_text(markdown(self.data))


# --- the machine --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    from pipelines.inference import gpu
    from pipelines.inference.session import _onnxruntime

    ort = _onnxruntime()
    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load": round(os.getloadavg()[0], 2),
        "onnxruntime": f"{gpu.installed_runtime() or 'onnxruntime'} {ort.__version__}",
        "available_providers": list(ort.get_available_providers()),
        "nvidia_driver": gpu.nvidia_driver(),
        "gpu": None,
    }
    smi = shutil.which("nvidia-smi")
    if smi:
        done = subprocess.run(
            [smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        info["gpu"] = done.stdout.strip() or done.stderr.strip() or None
    return info


# --- the models ---------------------------------------------------------------------------------


def _zeros(spec: dict[str, Any]) -> Any:
    import numpy as np

    # A graph whose sizes are free may name an "example" size to be timed at (the background
    # blur's graphs: Studio's 1080p; the room graph's borders need 4 pixels or more);
    # otherwise free sizes are 1.
    shape = spec.get("example") or [d if isinstance(d, int) else 1 for d in spec["shape"]]
    if spec["dtype"] == "int64" and not shape:
        return np.array(16000, np.int64)  # silero's sample rate, its one scalar input
    return np.zeros(shape, np.dtype(spec["dtype"]))


def _median_p95(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 3), "p95_ms": round(p95, 3)}


def _timed(call: Any, runs: int) -> dict[str, float]:
    for _ in range(WARMUP_RUNS):
        call()
    samples = []
    # The process's CPU time over the runs, every thread: what a network costs the CPU on each
    # provider (a GPU's launches and its waits for results are CPU work too), beside its latency.
    cpu0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000.0)
    cpu_ms = (time.process_time() - cpu0) * 1000.0 / runs
    return {**_median_p95(samples), "cpu_ms_per_run": round(cpu_ms, 3)}


def time_model(
    name: str, entry: dict[str, Any], provider: str, runs: int, *, cuda_graph: bool = False
) -> dict[str, Any]:
    """One model on one provider: what it really ran on, and its latencies there."""
    from pipelines.inference.model import OnnxModel
    from pipelines.inference.session import SessionFactory, short_name

    class Bare(OnnxModel):
        model_name = name

    model = Bare(SessionFactory(provider, cuda_graph=cuda_graph))
    got = model.report.provider
    row: dict[str, Any] = {
        "model": name,
        "asked": short_name(provider) + (" graph" if cuda_graph else ""),
        "got": short_name(got) + (" graph" if model.report.cuda_graph else ""),
        "refused": {short_name(p): r for p, r in model.report.refused.items()},
    }
    if model.report.graph_refused:
        row["refused"]["graph"] = model.report.graph_refused
    if got != provider:
        return row  # a refusal, not a figure: the CPU is timed in its own row
    if cuda_graph and not model.report.cuda_graph:
        return row  # the plain session is timed in its own row
    feeds = {spec["name"]: _zeros(spec) for spec in entry["inputs"]}
    row["host"] = _timed(lambda: model.run_raw(feeds), runs)
    if model.report.cuda_graph:
        # A graph replays what it captured: it must still follow new inputs (the CPU's answer).
        row["max_abs_vs_cpu"] = _largest_difference_from_cpu(model, entry, Bare)
        # The buffers the graph was captured with: replayed on inputs already there.
        binding = model.fixed_binding.binding  # type: ignore[union-attr]  # bound by the runs above
        row["device"] = _timed(lambda: model.session.run_with_iobinding(binding), runs)
    elif got in DEVICE_PROVIDERS:
        row["device"] = _timed(_device_resident(model, feeds), runs)
    return row


def _largest_difference_from_cpu(model: Any, entry: dict[str, Any], cls: Any) -> float:
    """The largest output difference between ``model`` and the same network on the CPU, over
    two random inputs run one after the other."""
    import numpy as np

    from pipelines.inference.session import SessionFactory

    on_cpu = cls(SessionFactory("cpu", intra_op_threads=1))
    rng = np.random.default_rng(15)
    worst = 0.0
    for _ in range(2):
        feeds = {
            spec["name"]: (
                rng.uniform(0, 1, spec["shape"]).astype(np.float32)
                if spec["dtype"] == "float32"
                else _zeros(spec)
            )
            for spec in entry["inputs"]
        }
        got, want = model.run_raw(feeds), on_cpu.run_raw(feeds)
        for name, value in want.items():
            worst = max(worst, float(np.max(np.abs(np.asarray(got[name]) - value))))
    return round(worst, 6)


def _device_resident(model: Any, feeds: dict[str, Any]) -> Any:
    """A call that runs the model on inputs uploaded once, its outputs left on the device."""
    from pipelines.inference.session import _onnxruntime

    ort = _onnxruntime()
    binding = model.session.io_binding()
    values = {k: ort.OrtValue.ortvalue_from_numpy(v, "cuda", 0) for k, v in feeds.items()}
    for k, v in values.items():
        binding.bind_ortvalue_input(k, v)
    for out in model.output_names:
        binding.bind_output(out, "cuda")

    def run() -> None:
        model.session.run_with_iobinding(binding)

    return run


def models(report: Report, providers: list[str], runs: int) -> None:
    """Every model on each provider, provider by provider (the GPU's first, as asked)."""
    from pipelines.inference.model import load_manifest
    from pipelines.inference.session import parse_providers

    for spec in providers:
        base = spec.removesuffix(GRAPH_SUFFIX)
        provider = (parse_providers(base) or ["CPUExecutionProvider"])[0]
        for name, entry in load_manifest().items():
            if report.over_budget(f"model {name} on {spec}"):
                continue
            try:
                row = time_model(name, entry, provider, runs, cuda_graph=spec != base)
                report.add("models", row)
            except Exception as exc:
                report.fail(f"model {name} on {spec}: {exc}")
                report.add("models", {"model": name, "asked": spec, "error": str(exc)})


# --- Studio -------------------------------------------------------------------------------------


def _child(command: list[str], providers: str, timeout_s: float) -> dict[str, Any]:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    base = providers.removesuffix(GRAPH_SUFFIX)
    env[CUDA_GRAPH_ENV] = "1" if base != providers else "0"
    if base == "auto":
        env.pop("CAMFX_PROVIDERS", None)
    else:
        env["CAMFX_PROVIDERS"] = base
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout_s, check=False
    )
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        raise RuntimeError(lines[-1].strip() if lines else f"exit status {done.returncode}")
    # bench --json prints one indented object; peer_bench's side one line after any banners.
    text = done.stdout.strip()
    start = text.find("{") if text.startswith("{") else text.rfind("\n{") + 1
    result: dict[str, Any] = json.loads(text[start:])
    return result


def studio(report: Report, sizes: list[tuple[int, int]], providers: list[str], frames: int) -> None:
    import numpy as np

    def child_timeout() -> float:
        return max(1.0, min(CHILD_TIMEOUT_S, report.time_left() + CHILD_GRACE_S))

    for w, h in sizes:
        size = f"{w}x{h}"
        if report.over_budget(f"studio {size}"):
            continue
        handle, path = tempfile.mkstemp(prefix=f"camfx-gpu-{size}-", suffix=".npy")
        os.close(handle)
        try:
            np.save(path, render_demo(FLAT_OUT_WARMUP + frames, (w, h)))
            for spec in providers:
                if report.over_budget(f"studio {size} on {spec}"):
                    continue
                row: dict[str, Any] = {"size": size, "providers": spec}
                try:
                    # Flat out first: it is issue 15's GPU goal (>=500 fps at 1080p).
                    flat = _child(
                        [sys.executable, str(PEER_BENCH), "--camfx-side", path,
                         "--warmup", str(FLAT_OUT_WARMUP)],
                        spec, child_timeout(),
                    )  # fmt: skip
                    row["flat_out"] = {
                        "fps": flat["fps"],
                        "cpu_ms_per_frame": flat["cpu_ms_per_frame"],
                    }
                    bench = _child(
                        [sys.executable, "-m", "app.cli", "bench", "--preset", "studio",
                         "--size", size, "--frames", str(frames), "--json"],
                        spec, child_timeout(),
                    )  # fmt: skip
                    row["paced"] = {
                        "cpu_ms_per_frame": round(bench["cpu"]["ms_per_frame"], 3),
                        "latency_median_ms": round(bench["latency"]["median_ms"], 2),
                        "providers": bench["providers"],
                        "fallbacks": bench.get("provider_fallbacks", {}),
                        "graph_refusals": bench.get("graph_refusals", {}),
                    }
                except Exception as exc:
                    report.fail(f"studio {size} on {spec}: {exc}")
                    row["error"] = str(exc)
                report.add("studio", row)
        finally:
            Path(path).unlink(missing_ok=True)


# --- the report ---------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# camfx GPU report, {m['date']}",
        "",
        f"- GPU: {m['gpu'] or 'none found'}; driver: {m['nvidia_driver'] or 'none'}",
        f"- {m['onnxruntime']}, providers in the build: {', '.join(m['available_providers'])}",
        f"- Python {m['python']}, {m['cpus']} CPUs, 1-min load {m['load']} at the start",
        "",
        "## Models (ms per run: host = inputs and outputs in host memory; device = resident)",
        "",
        "| model | asked | ran on | host median | host p95 | host CPU/run | device median | "
        "device CPU/run | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["models"]:
        host, device = r.get("host", {}), r.get("device", {})
        why = r.get("error") or "; ".join(f"{p}: {w}" for p, w in r.get("refused", {}).items())
        if "max_abs_vs_cpu" in r:
            why = f"largest difference from the CPU {r['max_abs_vs_cpu']:g}; {why}".rstrip("; ")
        lines.append(
            f"| {r['model']} | {r['asked']} | {r.get('got', '-')} | "
            f"{host.get('median_ms', '-')} | {host.get('p95_ms', '-')} | "
            f"{host.get('cpu_ms_per_run', '-')} | {device.get('median_ms', '-')} | "
            f"{device.get('cpu_ms_per_run', '-')} | {why} |"
        )
    lines += [
        "",
        "## Studio",
        "",
        "| size | providers | ran on | CPU ms/frame at 30 fps | latency median ms | "
        "flat-out fps | flat-out CPU ms/frame | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["studio"]:
        paced, flat = r.get("paced", {}), r.get("flat_out", {})
        ran = ", ".join(sorted(set(paced.get("providers", {}).values()))) or "-"
        note = r.get("error") or "; ".join(
            f"{p}: {w}" for p, w in paced.get("fallbacks", {}).items()
        )
        lines.append(
            f"| {r['size']} | {r['providers']} | {ran} | {paced.get('cpu_ms_per_frame', '-')} | "
            f"{paced.get('latency_median_ms', '-')} | {flat.get('fps', '-')} | "
            f"{flat.get('cpu_ms_per_frame', '-')} | {note} |"
        )
    if report["failures"]:
        lines += ["", "## Failed parts", ""] + [f"- {f}" for f in report["failures"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(
            f"gpu_report: cannot write to {out}: {exc.strerror}; name another --out",
            file=sys.stderr,
        )
        return EXIT_USAGE
    report = Report(out, args.budget_s)
    report.data["machine"] = machine()
    report.save()
    models(report, args.providers, args.model_runs)
    studio(report, args.sizes, args.studio_providers, args.frames)
    print(markdown(report.data), end="")
    return EXIT_PART_FAILED if report.data["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
