"""One camfx window per config folder: a second ``camfx`` brings the running one's window up.

Two windows on one config each held their own copy of the presets and settings, so each
saved over the other's (qa7: two files of one preset name), and both wanted the one camera.
A user who starts camfx from the menu while it sits in the tray expects its window, as other
tray apps do, not a second camfx; so the second start asks the first to show its window, says
so in one line and exits 0 (what it was asked for is done). ``--minimized`` (the login
autostart) only says camfx already runs.

The first answers once its window was asked to come up (:data:`ANSWER`), from its event loop:
the kernel accepts on a frozen camfx's socket (``kill -STOP``, a hung loop) as on a working
one, so without an answer every later start claimed a window came up that never did (qa8 M2).

The two talk over a ``QLocalServer``: a Unix socket (a named pipe on Windows) only this user
can open, named after the config folder, so a test's or a portable install's own
``$CAMFX_CONFIG_DIR`` is an instance of its own. No network socket is opened.
"""

from __future__ import annotations

import hashlib
import os
import socket as pysocket
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.gui.qtcompat import emit

SHOW = b"show\n"
ASK_ONLY = b"ping\n"
ANSWER = b"done\n"
CONNECT_TIMEOUT_MS = 1000
"""How long a start waits for a running camfx's socket to take a connection: the accept is the
kernel's, not camfx's event loop, so a busy camfx still answers at once."""
REPLY_TIMEOUT_MS = 2000
"""How long a start waits for the running camfx's event loop to answer. A working one answers
within milliseconds; its loop is longest away during its start-up, from claiming the socket to
its event loop (window built, engine thread started): 29-32 ms on the 2-core machine at load
1.5 (2026-12-06, three starts), and a start 1 s after the first's was answered in 0.6 s. 2 s
leaves room for a loaded machine and still tells a frozen camfx from a slow one."""


@dataclass(frozen=True)
class RunningCamfx:
    """A camfx found listening on the config folder's socket."""

    answered: bool
    """It answered: its window was asked to come up (or, for ``ping``, it is alive)."""
    pid: int | None
    """Its process id, where the system tells a socket's peer (Linux); else None."""


def server_name(config: Path) -> str:
    """The socket's name for the config folder ``config`` (and this user)."""
    folder = str(Path(config).expanduser().resolve())
    digest = hashlib.sha256(folder.encode("utf-8")).hexdigest()[:16]
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    name = f"camfx-{user}-{digest}"
    if os.name != "posix":
        return name  # a named pipe's name
    # A full path: a bare name lies in Qt's temporary folder, $TMPDIR, and a second start with
    # another TMPDIR opened a second window on the same settings (qa64).
    base = "/tmp" if os.access("/tmp", os.W_OK | os.X_OK) else tempfile.gettempdir()
    return os.path.join(base, name)


def _peer_pid(socket: QLocalSocket) -> int | None:
    """The process id at the other end of a connected local socket (Linux's SO_PEERCRED)."""
    option = getattr(pysocket, "SO_PEERCRED", None)
    descriptor = int(socket.socketDescriptor())
    if option is None or not sys.platform.startswith("linux") or descriptor < 0:
        return None
    try:
        peer = pysocket.socket(fileno=os.dup(descriptor))
    except OSError:
        return None
    try:
        credentials = peer.getsockopt(pysocket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        return None
    finally:
        peer.close()
    pid, _uid, _gid = struct.unpack("3i", credentials)
    return pid if pid > 0 else None


def ask_running(name: str, *, show: bool) -> RunningCamfx | None:
    """The camfx listening at ``name``, or None; it was asked to show its window when
    ``show``, and :attr:`RunningCamfx.answered` says whether it answered."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
        return None
    pid = _peer_pid(socket)
    socket.write(SHOW if show else ASK_ONLY)
    socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
    received = b""
    while ANSWER not in received and socket.waitForReadyRead(REPLY_TIMEOUT_MS):
        received += bytes(socket.readAll().data())
    socket.abort()
    return RunningCamfx(answered=ANSWER in received, pid=pid)


class InstanceServer(QObject):
    """The running camfx's end: emits :attr:`showRequested` when a second start asks."""

    showRequested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_connection)

    def listen(self) -> bool:
        if self._server.listen(self.name):
            return True
        # Nobody answered there (ask_running said so): a socket file a killed camfx left.
        QLocalServer.removeServer(self.name)
        return self._server.listen(self.name)

    def close(self) -> None:
        self._server.close()

    def _on_connection(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)
            if socket.bytesAvailable():
                self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        asked = bytes(socket.readAll().data())
        if SHOW.strip() in asked:
            emit(self.showRequested)
        if SHOW.strip() in asked or ASK_ONLY.strip() in asked:
            socket.write(ANSWER)
            socket.flush()


def claim(config: Path, *, show: bool) -> InstanceServer | RunningCamfx:
    """This process's :class:`InstanceServer` for ``config``, or the camfx that already runs
    on it (asked to show its window when ``show``). Without a socket of its own (the folder
    for it is not writable) camfx still starts, as before this guard."""
    name = server_name(config)
    running = ask_running(name, show=show)
    if running is not None:
        return running
    server = InstanceServer(name)
    server.listen()
    return server
