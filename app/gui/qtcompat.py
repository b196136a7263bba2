"""Work-arounds for bugs in the Qt binding, each detected at run time, not assumed.

PySide6 6.12.0: ``SignalInstance.emit()`` returns ``True`` without taking a reference to it.
On Python 3.11 (where ``True`` is not immortal) every emit from Python lowers ``True``'s
reference count by one, and after some hundreds of emits the interpreter aborts at exit
("Fatal Python error: bool_dealloc"), or earlier. :func:`emit` gives the reference back when
(and only when) a probe at import shows the leak, so a fixed PySide6, or Python 3.12+, costs
nothing. All of ``app.gui`` emits through it.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    ping = Signal()


def _emit_leaks_true(rounds: int = 64) -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    results = 0
    emit_ping: Any = probe.ping.emit  # typed as returning None; it returns a bool
    for _ in range(rounds):
        if emit_ping() is True:
            results += 1
    lost = before - sys.getrefcount(True)
    leaks = results == rounds and lost >= rounds * 3 // 4
    if leaks:
        for _ in range(lost):  # pay back what the probe itself took
            _incref(True)
    return leaks


EMIT_LEAKS_TRUE = _emit_leaks_true()


def emit(signal: Any, *args: Any) -> None:
    """``signal.emit(*args)``, without the reference leak described above."""
    result = signal.emit(*args)
    if EMIT_LEAKS_TRUE and result is True:
        _incref(result)
