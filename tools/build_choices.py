"""The talking head's build-time choices on other CPUs, simulated on this one (issue 13).

The avatar's build reads its own renders with the face tracker and chooses on the readings
(the rest mouth's closing passes, :mod:`pipelines.avatar.rest`; the shut lids' depth and shape,
:mod:`pipelines.avatar.lids`; noted by :mod:`pipelines.avatar.choices`). ONNX Runtime's CPU
kernels sum in another order per instruction set (AVX2, AVX-512, ...), so every network output
differs in its last digits from CPU to CPU. Another CPU is simulated here (:func:`simulated_cpu`):

* ``blocked``: the tracker's reference mesh replaced by its blocked conversion
  (:class:`~pipelines.tracking.mesh.BlockedFaceMesh`), another kernel layout of the same
  network, as another CPU's kernels are: its raw outputs differ from the reference's by
  0.5-1.5e-5 px rms of the 192-px input (at most 6e-5; 1-4 float32 ulps at values 70-120,
  relative ~1e-7), measured on canonman_glasses, brothers_sepia and astronaut.
* ``ulpN``: every network's float outputs (mesh and detector) with seeded noise of
  :data:`ULP_NOISE` of each value (seed N), the same size as the blocked-vs-reference
  difference: a CPU whose digits differ from this one's as much as another layout's do.

For each portrait and condition the avatar is built and each noted choice printed with its
reading; a choice that differs from this host's is marked ``*``. ``--load`` simulates the CPU
for the portrait's own landmarks too (the rig is built on them; by default they are this
host's, so only the build's choices are compared).

    PYTHONPATH=. .venv/bin/python tools/build_choices.py [--only NAME ...] [--cpus ...]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from avatar_real_tuning import HELD_OUT, REAL_TUNING, STAND_INS

from pipelines.avatar.choices import Choice, recorded

FACES = Path(__file__).resolve().parents[1] / "tests" / "data" / "faces"
ULP_NOISE = 1.5e-7
"""Relative size (sigma over the value) of the seeded noise a ``ulpN`` CPU puts on every
float output of every network: the blocked graph's outputs differ from the reference's by
0.5-1.5e-5 px rms at values of 70-120 px, 0.6-1.5e-7 of the value."""
CPUS = ("blocked", "ulp1", "ulp2", "ulp3")
"""The simulated CPUs the table compares with this host's."""
HASH_WEIGHTS: tuple[dict[str, float], ...] = (
    {},
    {"blink_left": 1.0, "blink_right": 1.0},
    {"jaw_open": 0.6},
    {"yaw_right": 0.6, "pitch_down": 0.4, "blink_left": 1.0, "blink_right": 1.0},
)
"""Renders hashed per build (``--hash``): the rest face, shut lids, an open mouth, turned."""


@contextmanager
def simulated_cpu(cpu: str | None) -> Iterator[None]:
    """Inside the block every network runs as on another CPU (module docstring): ``None`` or
    ``"host"`` this one's, ``"blocked"`` the blocked mesh for the reference one, ``"ulpN"``
    seeded last-digit noise (seed N). For tools and tests only."""
    from pipelines.inference.model import OnnxModel
    from pipelines.tracking import mesh

    if cpu in (None, "host"):
        yield
        return
    if cpu == "blocked":
        saved = mesh.MESH_GRAPHS["reference"]
        mesh.MESH_GRAPHS["reference"] = mesh.BlockedFaceMesh
        try:
            yield
        finally:
            mesh.MESH_GRAPHS["reference"] = saved
        return
    if not cpu.startswith("ulp"):
        raise ValueError(f"unknown simulated CPU {cpu!r}: host, blocked or ulpN")
    rng = np.random.default_rng(int(cpu[3:]))
    run_raw = OnnxModel.run_raw

    def noisy(self: OnnxModel, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = run_raw(self, feeds)
        for name, value in out.items():
            if value.dtype == np.float32:
                noise = rng.standard_normal(value.shape) * (ULP_NOISE * np.abs(value))
                out[name] = (value + noise).astype(np.float32)
        return out

    OnnxModel.run_raw = noisy  # type: ignore[method-assign]
    try:
        yield
    finally:
        OnnxModel.run_raw = run_raw  # type: ignore[method-assign]


def build_choices(
    name: str, cpu: str | None, at_load: bool = False
) -> tuple[list[Choice], float, str]:
    """The tuning portrait ``name``'s build under ``cpu``: its noted choices, the build's
    seconds and a hash of :data:`HASH_WEIGHTS`' renders."""
    from pipelines.avatar.portrait import load_portrait
    from pipelines.avatar.stage import Avatar

    if name in HELD_OUT:
        raise SystemExit(f"{name} is held out (tools/avatar_real_tuning.py HELD_OUT)")
    with simulated_cpu(cpu if at_load else None):
        portrait = load_portrait(FACES / f"{name}.jpg")
    with simulated_cpu(cpu), recorded() as choices:
        start = time.perf_counter()
        avatar = Avatar.build(portrait)
        took = time.perf_counter() - start
    digest = hashlib.sha256(avatar.portrait.image.tobytes())
    for weights in HASH_WEIGHTS:
        digest.update(np.ascontiguousarray(avatar.renderer.render(weights)).tobytes())
    return choices, took, digest.hexdigest()[:12]


def _cell(choice: Choice | None) -> str:
    if choice is None:
        return "-"
    if np.isnan(choice.reading):
        return choice.chosen
    return f"{choice.chosen} ({choice.reading:.4f})"


def table(name: str, cpus: Sequence[str], at_load: bool) -> int:
    """Print ``name``'s choices on this host and on ``cpus``; the number that flip."""
    runs = {cpu: build_choices(name, cpu, at_load) for cpu in ("host", *cpus)}
    by_cpu = {cpu: {c.name: c for c in run[0]} for cpu, run in runs.items()}
    names: list[str] = []
    for choices in by_cpu.values():
        names += [n for n in choices if n not in names]
    print(f"\n{name}: build s " + ", ".join(f"{cpu} {run[1]:.1f}" for cpu, run in runs.items()))
    print("  renders " + ", ".join(f"{cpu} {run[2]}" for cpu, run in runs.items()))
    flips = 0
    for choice in names:
        host = by_cpu["host"].get(choice)
        cells = []
        for cpu in cpus:
            got = by_cpu[cpu].get(choice)
            flipped = (got is None) != (host is None) or (
                got is not None and host is not None and got.chosen != host.chosen
            )
            flips += flipped
            cells.append(("*" if flipped else " ") + _cell(got))
        line = by_cpu["host"][choice].line if host else np.nan
        print(f"  {choice:24s} line {line:7.4f} | host {_cell(host):26s} | " + " | ".join(cells))
    kept = {cpu: by_cpu[cpu].get("lids.kept") for cpu in runs}
    final = {cpu: (k.chosen if k else "-") for cpu, k in kept.items()}
    print(f"  flips {flips}; lids kept " + ", ".join(f"{c} {k}" for c, k in final.items()))
    return flips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="these tuning portraits only")
    parser.add_argument("--cpus", nargs="*", default=list(CPUS), help="simulated CPUs")
    parser.add_argument("--load", action="store_true", help="simulate the portrait's load too")
    args = parser.parse_args()
    names = args.only or [n for n in (*REAL_TUNING, *STAND_INS) if n not in HELD_OUT]
    total = 0
    for name in names:
        total += table(name, args.cpus, args.load)
    print(f"\nchoices that flip on a simulated CPU: {total} over {len(names)} portraits")


if __name__ == "__main__":
    main()
