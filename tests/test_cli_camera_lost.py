"""``camfx run --source camera`` when the camera is unplugged mid-run.

On main (12480f0) the window sent a "Camera disconnected" card, but the command line (the
usual way the virtual camera runs headless) left the outputs on the last frame frozen, said
only a logger's warning ("WARNING pipelines.sources.camera: camera 0 stopped delivering
frames; reconnecting"), and reconnected for ever. Now the run sends the same card (the camera
source makes it, for both), says one line when the camera goes and one when it is back, and
ends with one line and exit code 1 when it is not back within ``--reconnect-limit``, keeping
the recording.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from app import cli
from pipelines.sources import camera as camera_module
from pipelines.sources.camera import RecordedBackend
from pipelines.sources.cards import CARD_GREY

SIZE = (160, 120)
GREEN = (0, 200, 0)


def is_card(image: np.ndarray) -> bool:
    """Mostly the card's grey, with white text (an H.264 round trip moves grey by a level or
    two)."""
    share_grey = float(np.mean(np.all(np.abs(image.astype(int) - CARD_GREY) <= 6, axis=2)))
    return share_grey > 0.8 and int(image.max()) > 150


def is_green(image: np.ndarray) -> bool:
    b, g, r = (float(c) for c in image.reshape(-1, 3).mean(axis=0))
    return g > 150 and b < 60 and r < 60


def recorded_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> RecordedBackend:
    """Camera 0 is this recorded camera (a green picture, 30 fps) in the run."""
    green = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    green[:] = GREEN
    recorded = RecordedBackend([green], fps=30.0)

    def open_recorded(self: Any, device: str, width: int, height: int, fps: float) -> Any:
        return recorded.open(device, width, height, fps)

    monkeypatch.setattr(camera_module.OpenCVBackend, "open", open_recorded)
    # The run's reconnect attempts come every 0.2 s, not every 1 s: the test is shorter.
    monkeypatch.setattr(camera_module.CameraSource, "reconnect_interval", 0.2)
    return recorded


def unplug(backend: RecordedBackend, after_reads: int, back_after_s: float | None) -> None:
    def cable() -> None:
        deadline = time.monotonic() + 30
        while backend.reads < after_reads and time.monotonic() < deadline:
            time.sleep(0.01)
        backend.unplugged = True
        if back_after_s is not None:
            time.sleep(back_after_s)
            backend.unplugged = False

    threading.Thread(target=cable, daemon=True).start()


def run(out: Path, *extra: str) -> int:
    return cli.main(
        [
            "run",
            "--source",
            "camera",
            "--output",
            str(out),
            "--size",
            f"{SIZE[0]}x{SIZE[1]}",
            "--fps",
            "30",
            "--preset",
            "off",
            *extra,
        ]
    )


def test_unplugged_and_back_sends_the_card_and_says_both(
    backend: RecordedBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "meeting.mp4"
    unplug(backend, after_reads=15, back_after_s=1.5)
    code = run(out, "--frames", "120")
    err = capsys.readouterr().err
    assert code == 0, err
    gone = [line for line in err.splitlines() if "disconnected" in line]
    back = [line for line in err.splitlines() if "is back" in line]
    assert len(gone) == 1 and gone[0].startswith("camfx: camera 0 disconnected"), err
    assert len(back) == 1 and back[0].startswith("camfx: camera 0 is back after"), err
    assert "WARNING" not in err and "Traceback" not in err, err
    frames = recorded_frames(out)
    kinds = ["card" if is_card(f) else "green" if is_green(f) else "other" for f in frames]
    # The picture, then the card (not the last picture, frozen) while unplugged, then the
    # picture again: the card is sent unprocessed and only while the camera is gone.
    assert "other" not in kinds, kinds
    first_card, last_card = kinds.index("card"), len(kinds) - 1 - kinds[::-1].index("card")
    assert kinds[:first_card] == ["green"] * first_card and first_card >= 10, kinds
    assert set(kinds[first_card : last_card + 1]) == {"card"}, kinds
    assert last_card - first_card >= 20, kinds  # ~1.5 s of cards at 30 fps
    assert kinds[last_card + 1 :] and set(kinds[last_card + 1 :]) == {"green"}, kinds


def test_a_camera_that_never_comes_back_ends_the_run_and_keeps_the_recording(
    backend: RecordedBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "meeting.mp4"
    unplug(backend, after_reads=15, back_after_s=None)
    started = time.monotonic()
    code = run(out, "--reconnect-limit", "1")
    took = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == cli.EXIT_CAMERA_LOST == 1, err
    assert "Traceback" not in err and "WARNING" not in err and "ERROR" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("camfx: camera '0' was disconnected and did not come back within 1 s")
    assert "plug it in" in last, last
    assert sum("disconnected" in line for line in err.splitlines()) == 2, err
    assert took < 20, took
    frames = recorded_frames(out)
    assert frames and is_green(frames[0]) and is_card(frames[-1]), len(frames)


def test_fps_on_a_camera_is_not_called_a_video_rate(
    backend: RecordedBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On main the run said "camfx:  plays at its own 0 fps; --fps 30 sets the rate of a
    camera, ..." for a camera (its pace_fps is 0: it paces itself)."""
    code = run(tmp_path / "short.mp4", "--frames", "5")
    err = capsys.readouterr().err
    assert code == 0, err
    assert "plays at its own" not in err, err


def test_a_camera_unplugged_while_released_for_idle_is_lost_not_closed() -> None:
    """The engine closes the camera while nobody watches the virtual camera (``--idle-after``,
    10 s by default) and opens it again when a meeting does. Unplugged in between, that open
    raised on main and left the source closed: its next read ended the run with "camera '0'
    used while closed". It is now lost: the card, reconnects, the limit."""
    from pipelines.errors import SourceError
    from pipelines.frame import SOURCE_CARD
    from pipelines.sources.base import SourceConfig
    from pipelines.sources.camera import CameraGoneError, CameraSource, CameraState

    backend = RecordedBackend([np.zeros((SIZE[1], SIZE[0], 3), np.uint8)], fps=0)
    config = SourceConfig(
        width=SIZE[0], height=SIZE[1], fps=30.0, lost_card=True, reconnect_limit_s=0.3
    )
    camera = CameraSource("", config, backend=backend)
    backend.unplugged = True
    with pytest.raises(SourceError):
        camera.open()  # the first open still refuses a missing camera
    backend.unplugged = False
    camera.open()
    assert camera.read() is not None
    camera.close()  # idle
    backend.unplugged = True
    camera.open()  # a meeting opens the virtual camera
    assert camera.state is CameraState.LOST and camera.losses == 1
    frame = camera.read()
    assert frame is not None and frame.ctx.get(SOURCE_CARD) and is_card(frame.image)
    with pytest.raises(CameraGoneError):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            camera.read()
    camera.close()
