"""One camfx window per config folder: a second ``camfx`` brings the running one's window up.

Two windows on one config each held their own copy of the presets and settings, so each
saved over the other's (qa7: two files of one preset name), and both wanted the one camera.
A user who starts camfx from the menu while it sits in the tray expects its window, as other
tray apps do, not a second camfx; so the second start asks the first to show its window, says
so in one line and exits 0 (what it was asked for is done). ``--minimized`` (the login
autostart) only says camfx already runs.

The two talk over a ``QLocalServer``: a Unix socket (a named pipe on Windows) only this user
can open, named after the config folder, so a test's or a portable install's own
``$CAMFX_CONFIG_DIR`` is an instance of its own. No network socket is opened.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.gui.qtcompat import emit

SHOW = b"show\n"
ASK_ONLY = b"ping\n"
ANSWER_TIMEOUT_MS = 1000
"""How long a start waits for a running camfx's socket to take a connection: the accept is the
kernel's, not camfx's event loop, so a busy camfx still answers at once."""


def server_name(config: Path) -> str:
    """The socket's name for the config folder ``config`` (and this user)."""
    folder = str(Path(config).expanduser().resolve())
    digest = hashlib.sha256(folder.encode("utf-8")).hexdigest()[:16]
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    return f"camfx-{user}-{digest}"


def ask_running(name: str, *, show: bool) -> bool:
    """True when a camfx listens at ``name``; it was asked to show its window when ``show``."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(ANSWER_TIMEOUT_MS):
        return False
    socket.write(SHOW if show else ASK_ONLY)
    socket.waitForBytesWritten(ANSWER_TIMEOUT_MS)
    socket.disconnectFromServer()
    return True


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
        if SHOW.strip() in bytes(socket.readAll().data()):
            emit(self.showRequested)


def claim(config: Path, *, show: bool) -> InstanceServer | None:
    """This process's :class:`InstanceServer` for ``config``, or None when a camfx already
    runs on it (asked to show its window when ``show``). Without a socket of its own (the
    folder for it is not writable) camfx still starts, as before this guard."""
    name = server_name(config)
    if ask_running(name, show=show):
        return None
    server = InstanceServer(name)
    server.listen()
    return server
