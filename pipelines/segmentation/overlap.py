"""Two pieces of one frame's work at once, on two cores.

OpenCV and ONNX Runtime release the GIL while they work, so a stage whose frame needs two
independent jobs (the network and the frame's share of the refinement; the blurred background
and the blend's weights) can run one on a worker thread while the calling thread runs the
other. The calling thread should take the longer job: a thread that blocks waiting for the
other is woken late (about half a millisecond on a virtual machine whose idle core halts).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")


class Overlap:
    """A one-thread worker for a stage; :meth:`close` it with the stage."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._pool: ThreadPoolExecutor | None = None

    def run(self, here: Callable[[], A], there: Callable[[], B]) -> tuple[A, B]:
        """``(here(), there())``, ``there`` on the worker thread while ``here`` runs on this
        one. An exception from either is raised here, after both have finished."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"camfx-{self.name}")
        job = self._pool.submit(there)
        try:
            mine = here()
        finally:
            theirs = job.result()
        return mine, theirs

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


__all__ = ["Overlap"]
