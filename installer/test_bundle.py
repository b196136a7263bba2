#!/usr/bin/env python3
"""Test the Linux bundle the way a new user gets it, in a clean environment.

    .venv/bin/python installer/test_bundle.py dist/camfx-0.1.0-linux-x86_64.tar.gz [--out DIR]

1. Unpacks the tarball in a temporary folder and runs its ``install.sh`` under ``env -i`` with
   a fresh ``$HOME`` (no venv, no checkout on any path): ``camfx`` must land on the PATH
   (``~/.local/bin``), with a menu entry and its icon.
2. Runs the installed ``camfx`` (``env -i`` again, from an empty folder) on the demo through
   the Studio preset into an mp4, and checks the file: every frame, the size, a picture.
   Also ``camfx devices``: the compiled kernels (Numba) and ONNX Runtime must work in the
   bundle; and ``camfx setup virtual-camera --dry-run`` must answer.
3. Opens the window under Xvfb, waits for the demo to play in it, screenshots it
   (``DIR/bundle-window.png``) and checks its pixels.
4. Runs ``uninstall.sh``: the link, the menu entry and the app are gone.

Prints the bundle's size and its start-up times (to the first frame written, and to the window
showing frames). Exits 1 with the failing check named. This process uses the checkout's venv
(PyAV to read the mp4, Qt to grab the screen); the bundle never sees it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRAMES = 60
# The bundle must carry these (PyInstaller names the folders after the packages).
REQUIRED = ("onnx_models", "numba", "llvmlite", "onnxruntime", "cv2", "PySide6", "av")


class Failed(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Failed(what)
    print(f"ok: {what}")


def clean_env(home: Path, **extra: str) -> list[str]:
    """``env -i`` with only what a desktop session gives a program."""
    env = {
        "HOME": str(home),
        "PATH": f"{home}/.local/bin:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        **extra,
    }
    return ["env", "-i", *(f"{k}={v}" for k, v in env.items())]


def run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
    return done


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def check_mp4(path: Path) -> None:
    import av
    import numpy as np

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
    check(len(frames) == FRAMES, f"the mp4 has all {FRAMES} frames (got {len(frames)})")
    h, w = frames[0].shape[:2]
    check((w, h) == (1280, 720), f"the mp4 is 1280x720 (got {w}x{h})")
    middle = frames[len(frames) // 2].astype(np.float32)
    check(float(middle.std()) > 20, f"the frames hold a picture (std {middle.std():.1f})")
    moved = float(np.abs(frames[-1].astype(np.float32) - frames[0]).mean())
    check(moved > 1, f"the demo moves between the first and last frame (mean diff {moved:.1f})")


def grab(display: str) -> object:
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(["camfx-bundle-test"])
    screen = app.primaryScreen()
    return screen.grabWindow(0).toImage()


def to_array(image: object) -> object:
    import numpy as np
    from PySide6.QtGui import QImage

    assert isinstance(image, QImage)
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    ptr = rgb.constBits()
    data = np.frombuffer(ptr, np.uint8, rgb.sizeInBytes()).reshape(rgb.height(), rgb.bytesPerLine())
    return data[:, : rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3).copy()


def check_window(camfx: Path, home: Path, work: Path, out: Path) -> float:
    """Start the window on the demo; seconds until it shows moving frames."""
    import numpy as np

    from app.gui.headless import DisplayUnavailable, virtual_display

    try:
        ctx = virtual_display((1280, 800), tray=False)
        display = ctx.__enter__()
    except DisplayUnavailable as exc:
        raise Failed(f"no virtual display for the window test: {exc}") from exc
    proc = None
    try:
        argv = [
            *clean_env(home, DISPLAY=display),
            str(camfx),
            "gui",
            "--source",
            "demo",
            "--no-hotkeys",
        ]
        start = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        previous = to_array(grab(display))
        first_frame = None
        changes = 0
        while time.monotonic() - start < 90 and changes < 3:
            if proc.poll() is not None:
                raise Failed(f"the window exited with {proc.returncode}: {proc.stdout.read()}")
            time.sleep(0.2)
            current = to_array(grab(display))
            # The preview (the left part of the window) holds a photo once a frame is shown:
            # thousands of colours, where the empty preview and the controls have a few.
            left = current[:, : current.shape[1] * 11 // 20].reshape(-1, 3)[::3]
            if first_frame is None and len(np.unique(left, axis=0)) > 2000:
                first_frame = time.monotonic() - start
            changed = float((np.abs(current.astype(int) - previous).max(axis=2) > 12).mean())
            previous = current
            # Then the demo plays: part of the screen changes from one grab to another.
            if first_frame is not None and changed > 0.005:
                changes += 1
        check(first_frame is not None, "the window shows a frame of the demo")
        check(changes >= 3, "the demo plays in the window")
        time.sleep(1.0)
        image = grab(display)
        out.mkdir(parents=True, exist_ok=True)
        shot = out / "bundle-window.png"
        image.save(str(shot))  # type: ignore[attr-defined]
        pixels = to_array(image)
        colours = len(np.unique(pixels.reshape(-1, 3)[::7], axis=0))
        check(colours > 500, f"the window has a real picture ({colours} colours; {shot})")
        assert first_frame is not None
        return first_frame
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        ctx.__exit__(None, None, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tarball", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts", help="screenshot folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--no-window", action="store_true", help="skip the Xvfb window test")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="camfx-bundle-test-"))
    home, unpacked, work = tmp / "home", tmp / "unpacked", tmp / "work"
    for folder in (home, unpacked, work):
        folder.mkdir()
    try:
        with tarfile.open(args.tarball) as tar:
            tar.extractall(unpacked, filter="tar")
        bundle = unpacked / "camfx"
        internal = bundle / "_internal"
        for name in REQUIRED:
            check((internal / name).is_dir(), f"the bundle carries {name}")
        size = du(bundle)
        packed = args.tarball.stat().st_size

        done = run([*clean_env(home), "sh", str(bundle / "install.sh")], cwd=work)
        check(done.returncode == 0, "install.sh succeeds under env -i")
        app_dir = home / ".local/share/camfx/app"
        link = home / ".local/bin/camfx"
        check(link.is_symlink() and link.resolve() == app_dir / "camfx", "camfx is on the PATH")
        menu = home / ".local/share/applications/camfx.desktop"
        check(f"Exec={app_dir / 'camfx'}" in menu.read_text(), "the menu entry starts it")
        icon = home / ".local/share/icons/hicolor/256x256/apps/camfx.png"
        check(icon.read_bytes()[:4] == b"\x89PNG", "the menu entry has its icon")

        # `camfx` by name, as a user types it: found through ~/.local/bin on the PATH.
        video = work / "demo.mp4"
        studio = ["camfx", "run", "--source", "demo", "--preset", "studio"]
        start = time.monotonic()
        done = run(
            [*clean_env(home), *studio, "--output", str(video), "--frames", str(FRAMES)],
            cwd=work,
        )
        demo_s = time.monotonic() - start
        check(done.returncode == 0, f"camfx run on the demo succeeds ({demo_s:.1f} s)")
        check_mp4(video)
        start = time.monotonic()
        done = run([*clean_env(home), *studio, "--output", "null", "--frames", "1"], cwd=work)
        first_frame_cli = time.monotonic() - start
        check(done.returncode == 0, f"one frame through Studio: {first_frame_cli:.2f} s")
        done = run([*clean_env(home), "camfx", "devices"], cwd=work)
        check(done.returncode == 0, "camfx devices succeeds")
        text = done.stdout
        compiled = text.split("Compiled background effects", 1)[-1]
        check("[ok]" in compiled, "the compiled background effects work in the bundle")
        check("CPU        [ok]" in text, "ONNX Runtime runs the models in the bundle")

        done = run([*clean_env(home), "camfx", "setup", "virtual-camera", "--dry-run"], cwd=work)
        check(
            done.returncode in (0, 2) and "Traceback" not in done.stderr,
            f"camfx setup virtual-camera --dry-run answers (exit {done.returncode})",
        )
        check("Secure Boot:" in done.stdout, "the set-up reports what it found")

        window_s = None
        if not args.no_window:
            window_s = check_window(link, home, work, args.out)

        done = run([*clean_env(home), "sh", str(app_dir / "uninstall.sh")], cwd=work)
        check(done.returncode == 0, "uninstall.sh succeeds")
        check(not link.exists() and not link.is_symlink(), "the link is gone")
        check(not menu.exists() and not icon.exists(), "the menu entry and icon are gone")
        check(not app_dir.exists(), "the app folder is gone")

        print(
            f"bundle: {size / 2**20:.0f} MiB installed, {packed / 2**20:.0f} MiB packed; "
            f"start-up to the first frame: {first_frame_cli:.1f} s (command line, incl. exit)"
            + (f", {window_s:.1f} s (window showing the demo)" if window_s else "")
            + f"; {FRAMES} Studio frames to mp4 in {demo_s:.1f} s"
        )
        return 0
    except Failed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
