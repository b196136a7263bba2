"""What this machine offers: cameras, virtual cameras, audio inputs, inference providers.

Each entry says whether it *works* (opened for real), not only whether it is listed, and when
it does not, why and what to do. Used by ``camfx devices`` and the GUI's device panel.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Iterator
from typing import Any

_REINSTALL_SOUNDDEVICE = (
    "reinstall sounddevice (its wheel bundles PortAudio): pip install --force-reinstall sounddevice"
)
log = logging.getLogger(__name__)

PORTAUDIO_HINT = {
    "linux": "install PortAudio: sudo apt install libportaudio2 (Fedora: dnf install portaudio)",
    "darwin": _REINSTALL_SOUNDDEVICE,
    "win32": _REINSTALL_SOUNDDEVICE,
}


def _platform_key() -> str:
    return "linux" if sys.platform.startswith("linux") else sys.platform


def probe_cameras() -> list[dict[str, Any]]:
    from pipelines.sources.camera import OpenCVBackend, list_cameras

    result = []
    for cam in list_cameras():
        entry: dict[str, Any] = {"device": cam.device, "name": cam.name, "path": cam.path}
        try:
            handle = OpenCVBackend().open(cam.device, 1280, 720, 30)
            try:
                frame = handle.read()
                w, h, fps = handle.actual()
            finally:
                handle.release()
            entry.update(works=frame is not None, mode=f"{w}x{h}@{fps:g}")
            if frame is None:
                entry["error"] = "opened but delivered no frame (a metadata node, or busy)"
        except Exception as exc:  # one bad device must not hide the others
            entry.update(works=False, error=str(exc))
        result.append(entry)
    return result


def probe_virtual_cameras() -> dict[str, Any]:
    from pipelines.errors import OutputError
    from pipelines.outputs.virtualcam import VirtualCameraOutput, available_backends, setup_hint

    backends = []
    for name in available_backends():
        out = VirtualCameraOutput(backend=name)
        try:
            out.open(64, 48, 30)
            backends.append({"backend": name, "works": True, "device": out.camera.device})
        except OutputError as exc:
            backends.append({"backend": name, "works": False, "error": str(exc)})
        finally:
            out.close()
    return {
        "backends": backends,
        "works": any(b["works"] for b in backends),
        "hint": setup_hint(),
    }


def probe_audio() -> dict[str, Any]:
    try:
        import sounddevice as sd
    except ImportError as exc:
        return {
            "works": False,
            "inputs": [],
            "error": f"sounddevice is not installed ({exc})",
            "hint": "pip install sounddevice",
        }
    except OSError as exc:  # PortAudio missing: the audio features alone are unavailable
        return {
            "works": False,
            "inputs": [],
            "error": f"sounddevice cannot load PortAudio ({exc})",
            "hint": PORTAUDIO_HINT.get(_platform_key(), "install PortAudio"),
        }
    try:
        devices = sd.query_devices()
        default_in = sd.default.device[0]
    except Exception as exc:
        return {"works": False, "inputs": [], "error": str(exc)}
    inputs = [
        {
            "index": i,
            "name": d["name"],
            "channels": d["max_input_channels"],
            "default": i == default_in,
        }
        for i, d in enumerate(devices)
        if d["max_input_channels"] > 0
    ]
    out: dict[str, Any] = {"works": bool(inputs), "inputs": inputs}
    if not inputs:
        out["error"] = "no audio input device; plug in a microphone (the talking head idles)"
    return out


@contextlib.contextmanager
def _quiet_inference() -> Iterator[None]:
    """ONNX Runtime's Python layer prints "EP Error" banners to stdout (which would corrupt
    ``camfx devices --json``) and the session factory logs a warning per fallback; what they
    say is in the report already."""
    session_log = logging.getLogger("pipelines.inference.session")
    level = session_log.level
    session_log.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        session_log.setLevel(level)


def probe_providers() -> dict[str, Any]:
    with _quiet_inference():
        return _probe_providers()


def _probe_providers() -> dict[str, Any]:
    import onnxruntime as ort

    from pipelines.errors import ModelError
    from pipelines.inference.model import load_manifest, verified_model_path
    from pipelines.inference.session import (
        PREFERENCE,
        SessionFactory,
        default_factory,
        short_name,
    )

    available = [p for p in ort.get_available_providers() if p in PREFERENCE]
    result: dict[str, Any] = {
        "onnxruntime": ort.__version__,
        "listed": [short_name(p) for p in available],
        "sessions": {},
    }
    try:
        manifest = load_manifest()
        # The smallest model is enough to see whether a provider really loads.
        name = min(manifest, key=lambda n: manifest[n].get("size_bytes", 1 << 40))
        path = verified_model_path(name)
    except ModelError as exc:
        result["error"] = str(exc)
        return result
    for provider in available:
        factory = SessionFactory([provider])
        _, report = factory.create(str(path), name)
        got = report.provider
        result["sessions"][short_name(provider)] = {
            "works": got == provider,
            "got": short_name(got),
            "reason": report.refused.get(provider, ""),
        }
    # What the commands run with: ``--providers`` or $CAMFX_PROVIDERS where given (it said
    # the automatic choice whatever was asked: qa64).
    chosen = default_factory()
    _, report = chosen.create(str(path), name)
    result["auto"] = report.summary()
    if chosen.requested is not None:
        result["asked"] = ",".join(short_name(p) for p in chosen.requested)
    if "CUDAExecutionProvider" in available:
        result["cuda_graphs"] = chosen.cuda_graph
    return result


def probe_models(directory: str | None = None) -> dict[str, Any]:
    """Every model in the manifest checked against its sha256, not only those a preset loads:
    a changed or missing file is found here before the effect that needs it is chosen."""
    from pipelines.errors import ModelError
    from pipelines.inference.model import load_manifest, models_dir, verified_model_path

    folder = str(directory or models_dir())
    try:
        manifest = load_manifest(directory)
    except ModelError as exc:
        return {"works": False, "folder": folder, "models": [], "error": str(exc)}
    models = []
    for name, entry in manifest.items():
        item: dict[str, Any] = {"name": name, "file": entry.get("file", f"{name}.onnx")}
        try:
            verified_model_path(name, directory)
            item["works"] = True
        except ModelError as exc:
            item.update(works=False, error=str(exc))
        models.append(item)
    return {"works": all(m["works"] for m in models), "folder": folder, "models": models}


def collect_devices() -> dict[str, Any]:
    """Every probe runs even when another one fails: a broken part is reported, not fatal."""
    return {
        "cameras": _guarded(probe_cameras, []),
        "virtual_camera": _guarded(
            probe_virtual_cameras, {"backends": [], "works": False, "hint": _vc_hint()}
        ),
        "audio": _guarded(probe_audio, {"works": False, "inputs": []}),
        "inference": _guarded(probe_providers, {"onnxruntime": "?", "listed": [], "sessions": {}}),
        "compiled": _guarded(probe_compiled, {"works": False, "numba": None}),
        "models": _guarded(probe_models, {"works": False, "folder": "?", "models": []}),
    }


def probe_compiled() -> dict[str, Any]:
    """Whether the background effects' compiled kernels work (they compile, or load from
    Numba's cache, here), and why not."""
    from pipelines.segmentation import fused

    works = fused.available()
    try:
        from importlib.metadata import version

        numba_version: str | None = version("numba")
    except Exception:
        numba_version = None
    info: dict[str, Any] = {"works": works, "numba": numba_version}
    if not works:
        info["error"] = fused.unavailable_reason() or "unknown"
        info["hint"] = (
            f"unset {fused.DISABLE_ENV}"
            if fused.DISABLE_ENV in (info["error"] or "")
            else f"{fused.INSTALL_HINT}: background effects run slower without it"
        )
    return info


def _vc_hint() -> str:
    from pipelines.outputs.virtualcam import setup_hint

    return setup_hint()


def _guarded(probe: Any, fallback: Any) -> Any:
    try:
        return probe()
    except Exception as exc:
        log.warning("%s failed: %s", probe.__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        if isinstance(fallback, dict):
            return {**fallback, "error": f"{type(exc).__name__}: {exc}"}
        return fallback


def format_devices(info: dict[str, Any]) -> str:
    ok = {True: "ok", False: "NOT WORKING"}
    lines = ["Cameras:"]
    if not info["cameras"]:
        lines.append("  none found (the demo source works without one: --source demo)")
    for cam in info["cameras"]:
        state = ok[cam["works"]]
        detail = cam.get("mode") if cam["works"] else cam.get("error")
        lines.append(f"  camera:{cam['device']}  {cam['name']}  [{state}] {detail or ''}")
    vc = info["virtual_camera"]
    lines.append("Virtual camera:")
    hint = vc.get("hint") or ""
    for b in vc["backends"]:
        detail = b.get("device") if b["works"] else b.get("error")
        if not b["works"] and hint and detail and not vc["works"]:
            # The backend's error repeats the fix; it is printed once, below.
            detail = detail.replace(f": {hint}", "").replace(hint, "").strip()
        lines.append(f"  {b['backend']}  [{ok[b['works']]}] {detail}")
    if not vc["works"]:
        lines.append(f"  to fix: {vc['hint']}")
    au = info["audio"]
    lines.append("Audio inputs:")
    for d in au["inputs"]:
        lines.append(f"  {d['index']}: {d['name']}{' (default)' if d['default'] else ''}")
    if not au["works"]:
        lines.append(f"  none usable: {au.get('error', '')}")
        if au.get("hint"):
            lines.append(f"  to fix: {au['hint']}")
    inf = info["inference"]
    lines.append(f"Inference (ONNX Runtime {inf['onnxruntime']}):")
    lines.append(f"  listed by ONNX Runtime: {', '.join(inf['listed'])}")
    for name, s in inf.get("sessions", {}).items():
        detail = f"runs on {s['got']}" + (f": {s['reason']}" if s["reason"] else "")
        lines.append(f"  {name:<10} [{ok[s['works']]}] {detail}")
    if "auto" in inf:
        asked = inf.get("asked")
        label = f"as asked ({asked})" if asked else "automatic choice"
        lines.append(f"  {label}: {inf['auto']}")
    if "cuda_graphs" in inf:
        said = (
            "on for the fixed-shape networks (CAMFX_CUDA_GRAPH=0 turns them off)"
            if inf["cuda_graphs"]
            else "off (CAMFX_CUDA_GRAPH=0)"
        )
        lines.append(f"  CUDA graphs: {said}")
    if "error" in inf:
        lines.append(f"  {inf['error']}")
    models = info.get("models")
    if models is not None:
        lines.append(f"Models (sha256 against the manifest in {models['folder']}):")
        for m in models["models"]:
            lines.append(
                f"  {m['name']:<30} [{ok[m['works']]}]" + (f" {m['error']}" if "error" in m else "")
            )
        if "error" in models:
            lines.append(f"  {models['error']}")
    lines += compiled_lines(info["compiled"])
    return "\n".join(lines)


def compiled_lines(comp: dict[str, Any]) -> list[str]:
    """``camfx devices``' lines on the compiled effects (:func:`probe_compiled`'s ``comp``)."""
    lines = [f"Compiled background effects (Numba {comp.get('numba') or 'not installed'}):"]
    if not comp["works"] and "No module named 'numba'" in comp.get("error", ""):
        # Numba is the optional `jit` extra (208 MB): not having it is a choice, not a fault.
        lines.append("  [off] an optional extra: the background effects use OpenCV (slower)")
        if comp.get("hint"):
            lines.append(f"  to add it: {comp['hint']}")
        return lines
    lines.append(f"  [{'ok' if comp['works'] else 'NOT WORKING'}] {comp.get('error', '')}".rstrip())
    if comp.get("hint"):
        lines.append(f"  to fix: {comp['hint']}")
    return lines
