"""Names the window shows for sources, stages, presets and recordings (no Qt)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.outputs.repair import Outcome, RepairReport
from pipelines.sources import SOURCES
from pipelines.sources.camera import CameraInfo
from pipelines.stage import STAGES
from pipelines.userdata import display_name


def jsonable(value: Any) -> Any:
    """Tuples become lists (as JSON gives them back), so saved and live settings compare."""
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def stage_title(name: str) -> str:
    cls = STAGES.get(name) if name in STAGES else None
    return str(getattr(cls, "title", "") or display_name(name))


def source_kind(spec: str) -> tuple[str, str]:
    """(registered source name, argument) of ``spec``; ("", spec) for one no source claims."""
    return SOURCES.split_spec(spec) or ("", spec)


def is_camera(spec: str) -> bool:
    return source_kind(spec)[0] == "camera"


def source_label(spec: str, cameras: list[CameraInfo] | tuple[CameraInfo, ...] = ()) -> str:
    kind, arg = source_kind(spec)
    if kind == "demo":
        return "Demo (no camera needed)"
    if kind == "camera":
        name = next((c.name for c in cameras if c.device == arg), "")
        return f"Camera {arg or 0}: {name}" if name else f"Camera {arg or 0}"
    if kind in ("image", "video"):
        return f"{kind.title()}: {Path(arg).name}"
    return spec


def describe_source(
    spec: str, info: dict[str, Any], saved_mode: list[Any] | None
) -> tuple[str, list[tuple[Any, ...]], list[Any] | None]:
    """What the Source group says about an opened source: its line of text, the camera modes
    to offer (empty: not a camera) and the mode to select."""
    w, h = info.get("size", (0, 0))
    fps = float(info.get("fps", 0.0))
    if not info.get("camera"):
        return f"{source_label(spec)}: {w}×{h} at {fps:g} fps.", [], None
    modes = [tuple(m) for m in info.get("modes") or []]
    req = info.get("requested")
    chosen = saved_mode or (list(req) if req else None)
    selected = [chosen[0], chosen[1], float(chosen[2])] if chosen is not None else None
    text = f"The camera gives {w}×{h} at {fps:g} fps."
    if req and (req[0], req[1]) != (w, h):
        text += f" (asked for {req[0]}×{req[1]}; the picture is scaled.)"
    return text, modes, selected


def offered_modes(
    listed: Sequence[tuple[Any, ...]], selected: list[Any] | None
) -> list[tuple[int, int, float]]:
    """The Mode box's entries: the camera's modes (or the standard ones when it lists none),
    with the mode the camera was opened with first when it is not among them. Without it the
    box showed its first entry ("1920×1080 @ 30 fps") above "The camera gives 640×360": a
    camera opened at the output's size (640×360 here) is asked for a mode no list holds."""
    offered = [(int(m[0]), int(m[1]), float(m[2])) for m in listed]
    if selected is not None:
        mode = (int(selected[0]), int(selected[1]), float(selected[2]))
        if mode not in offered:
            offered.insert(0, mode)
    return offered


def source_failure(
    spec: str, message: str, fallback: str, cameras: list[CameraInfo] | tuple[CameraInfo, ...]
) -> str:
    """What to say when ``spec`` could not be opened and ``fallback`` ("" for none) runs."""
    what = source_label(spec, cameras) if spec else "The source"
    text = f"{what} could not be used: {message}"
    if fallback:
        # The message is a sentence of its own (the errors end without a full stop).
        text = text.rstrip(" .") + f". Showing {source_label(fallback, cameras)} instead."
    return text


def torn_recordings_offer(paths: Sequence[Path]) -> str:
    """What to say of recordings in the record folder that a hard stop tore."""
    why = "(camfx was stopped while recording)"
    if len(paths) == 1:
        what = f"{paths[0].name} ends in a torn fragment {why}"
    else:
        what = f"{len(paths)} recordings end in a torn fragment {why}: " + ", ".join(
            p.name for p in paths
        )
    return f"{what}. Repair saves a copy that plays; the original is kept as it is."


def repair_results(reports: Sequence[RepairReport]) -> tuple[str, str]:
    """(text, message level) of what repairing the torn recordings gave: one line each."""
    lines = [
        f"Saved {r.output.name} ({r.seconds:.0f} s kept)"
        if r.outcome is Outcome.REPAIRED and r.output is not None
        else r.line
        for r in reports
    ]
    failed = any(r.outcome in (Outcome.FAILED, Outcome.NOT_REPAIRABLE) for r in reports)
    return "\n".join(lines), "error" if failed else "info"
