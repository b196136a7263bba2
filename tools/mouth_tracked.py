"""How the project's tracker reads the rendered mouth, on TUNING portraits only.

    nice -n 10 .venv/bin/python tools/mouth_tracked.py [--voices] [--drawn] [NAME ...]

For each portrait (default: every tuning portrait, :data:`TUNING`): a jaw sweep (0 … 1 in
twentieths, one tracker reading the frames in order) with the tracked opening (inner-lip
distance over face height, :func:`pipelines.avatar.measure.opening`), the drawn one, the
sweep's Pearson r and its largest fall from one step to the next; with ``--voices``, the
frames driven by tools/train_mouth.py's validation voices (four sentences of its extra
training list, continuous): r of the tracked against the asked opening and of each against
the loudness (:func:`pipelines.avatar.judge.figures_from`). With ``--drawn`` the portraits
are rendered without their own teeth (drawn teeth, as a portrait with a closed mouth gets:
every tuning portrait but ``cameraman`` shows its own).

Why: the grey moustached tuning portrait alone stood for held-out einstein_midword, and a
tongue drawn higher that made its sweep follow the jaw (r 0.917 -> 0.947) cost Einstein r
0.79/0.75 -> 0.76/0.64 (mouth14, 2026-12-03; render.TONGUE_TOP): judge a change on all of
them. Never the held-out portraits (tests/data/faces/README.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))

FACES = ROOT / "tests" / "data" / "faces"
TUNING = (
    "astronaut",
    "astronaut_rot30",
    "astronaut_small",
    "astronaut_grey_small",
    "astronaut_grey_moustache",
    "astronaut_turned",
    "astronaut_turned_far",
    "astronaut_rims",
    "cameraman",
)
JAWS = np.linspace(0.0, 1.0, 21)
VOICES = ("espeak:en-us-nyc", "festival:kal_diphone@1.15")


class Reader:
    """The tracker as the judge runs it (no smoothing, the mesh every frame)."""

    def __init__(self) -> None:
        from pipelines.tracking.tracker import FaceTracker, FaceTrackerSettings

        self.tracker = FaceTracker(
            FaceTrackerSettings(max_faces=1, smoothing=0.0, primary="largest", mesh_interval=1)
        )
        self.tracker.open()
        self.index = 0

    def __call__(self, frame: np.ndarray) -> float:
        from pipelines.avatar.measure import opening
        from pipelines.frame import FrameContext

        ctx = FrameContext(timestamp=self.index / 30.0, index=self.index)
        self.index += 1
        self.tracker.process(frame, ctx)
        face = ctx.primary_face
        return float("nan") if face is None else opening(np.asarray(face.landmarks, np.float64))

    def close(self) -> None:
        self.tracker.close()


def main(argv: list[str] | None = None) -> int:
    from pipelines.audio.resample import ANALYSIS_RATE
    from pipelines.avatar.judge import continuous, figures_from
    from pipelines.avatar.measure import mouth_track
    from pipelines.avatar.motion import Animator, MotionSettings
    from pipelines.avatar.portrait import load_portrait
    from pipelines.avatar.render import INNER, AvatarRenderer
    from pipelines.avatar.stage import Avatar

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=list(TUNING))
    parser.add_argument("--voices", action="store_true")
    parser.add_argument("--drawn", action="store_true", help="drawn teeth, not the portrait's")
    args = parser.parse_args(argv)
    missing = [n for n in args.names if not (FACES / f"{n}.jpg").exists()]
    if missing:
        print(f"mouth_tracked: no portrait {', '.join(missing)} in {FACES}", file=sys.stderr)
        return 2
    clips = []
    if args.voices:
        from train_mouth import MORE_SENTENCES, utterances

        clips = [continuous(v, utterances(v, MORE_SENTENCES[:4]), 0.3, 0.3) for v in VOICES]
    ring = list(INNER)
    for name in args.names:
        avatar = Avatar.build(load_portrait(FACES / f"{name}.jpg"))
        if args.drawn:
            avatar.renderer = AvatarRenderer(avatar.renderer.portrait, avatar.rig)
            name = f"{name} (drawn)"
        read = Reader()
        try:
            got = np.array([read(avatar.renderer.render({"jaw": j}).copy()) for j in JAWS])
            fh = avatar.rig.geometry.face_h
            drawn = []
            for j in JAWS:
                at = avatar.renderer.mouth_outline({"jaw": float(j)})
                drawn.append(float(np.linalg.norm(at[ring.index(14)] - at[ring.index(13)])) / fh)
            ok = ~np.isnan(got)
            r = float(np.corrcoef(JAWS[ok], got[ok])[0, 1])
            fall = float(max(0.0, -np.diff(got[ok]).min()))
            print(f"{name:<26} sweep r {r:.3f}  largest fall {fall:.3f}", flush=True)
            print(f"{'  tracked':<26} " + " ".join(f"{v:.3f}" for v in got[::2]))
            print(f"{'  drawn':<26} " + " ".join(f"{v:.3f}" for v in drawn[::2]))
            for clip in clips:
                params, _, _ = mouth_track(clip.samples, ANALYSIS_RATE, 30.0, None)
                anim = Animator(MotionSettings(seed=1))
                asked = np.empty(len(params))
                seen = np.empty(len(params))
                for i, p in enumerate(params):
                    w = anim.update(i / 30.0, p, None)
                    asked[i] = w.get("jaw", 0.0)
                    seen[i] = read(avatar.renderer.render(w).copy())
                ok = ~np.isnan(seen)
                r_ta = float(np.corrcoef(asked[ok], seen[ok])[0, 1])
                r_seen, _, p95, _, _ = figures_from(clip, seen)
                r_asked = figures_from(clip, asked)[0]
                print(
                    f"  {clip.name:<24} tracked~asked r {r_ta:.3f}  loudness r {r_seen:.3f} "
                    f"(asked {r_asked:.3f})  p95 {p95:.3f}",
                    flush=True,
                )
        finally:
            read.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
