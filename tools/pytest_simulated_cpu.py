"""A pytest plugin that runs a whole test session as on another CPU.

The talking head's build makes choices on the face tracker's reading, and the tracker's last
digits differ from one instruction set to another (tests/host_cpu.py). To see which tests turn
on them without another machine, enter :func:`tools.build_choices.simulated_cpu` for the whole
session::

    SIMCPU=blocked PYTHONPATH=tools .venv/bin/python -m pytest -p pytest_simulated_cpu -k avatar

``SIMCPU``: ``blocked`` (the face mesh's blocked kernel layout for the reference one:
deterministic, raw outputs 1-4 float32 ulps apart) or ``ulpN`` (seeded noise of that size on
every network output; not the same for the same input twice, so tests that compare two reads
may fail for that alone). Unset: the session runs as usual. 2026-12-06, on the code of that day:
5 of 410 avatar tests failed under ``blocked`` and 7 under ``ulp1`` (the session's note); after the
rig's fold guard (rig.Rig.mix) and its flat slit triangles (rig.SLIT_FLAT_SHARE), 1 of 427 under
``blocked`` (astronaut_grey_small's lash line).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def pytest_configure(config: Any) -> None:
    cpu = os.environ.get("SIMCPU")
    if not cpu:
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tools.build_choices import simulated_cpu

    entered = simulated_cpu(cpu)
    entered.__enter__()
    config.add_cleanup(lambda: entered.__exit__(None, None, None))
