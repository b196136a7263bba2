"""One factory for every ONNX Runtime session: picks providers, sizes threads, reports.

Providers are tried in order of preference (TensorRT, CUDA, DirectML, CoreML, then CPU). ONNX
Runtime's own answer to a provider that cannot load is a wall of C++ log lines followed by a
silent fall back to CPU; here each attempt's log is captured, the session's *real* providers
(``get_providers()``, not ``get_available_providers()``, which lists CUDA on machines without a
GPU) are checked, and the outcome is one :class:`ProviderReport` per model: what it got and,
for each refused provider, why.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines import env_flag
from pipelines.errors import ModelError
from pipelines.inference import gpu
from pipelines.inference.capture import CAPTURE_GUARD

log = logging.getLogger(__name__)

PREFERENCE: tuple[str, ...] = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "CPUExecutionProvider",
)
SHORT_NAMES = {
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cpu": "CPUExecutionProvider",
}


CUDA_GRAPH_ENV = "CAMFX_CUDA_GRAPH"
"""CUDA sessions of fixed-shape models run as CUDA graphs unless this is ``0``.

On CUDA each network costs the CPU as much time as it takes: the CPU launches its kernels one by
one (the blocked mesh: 6.9 ms wall, 7.6 ms CPU on an H200, 2026-12-04), and blocking sync did not
change that. A CUDA graph records the launches once and replays them in one call. It needs every
node on CUDA and its inputs and outputs at fixed device addresses
(:meth:`pipelines.inference.model.OnnxModel.run_raw` binds them so); a model that cannot is run
without one, and its report says why. On the H200 (2026-12-04, 16:24-16:40 UTC) graphs took
the mesh from 6.85 to 2.03 ms a run (CPU 7.13 -> 2.03) and Studio 1080p at 30 fps from 24.2-27.3
to 20.0-23.1 ms of CPU a frame in three pairs run back to back."""

_offline_checked = False
_gpu_libraries_preloaded = False


def _preload_gpu_libraries(ort: Any) -> None:
    """Load the CUDA and cuDNN libraries of NVIDIA's pip packages, once a process, before the
    first CUDA or TensorRT session.

    ``libonnxruntime_providers_cuda.so`` has no run path: it finds ``libcublas.so.13`` and the
    rest only on the loader's default path. The fix that :func:`gpu.cuda_libraries_hint`
    gives (``pip install "onnxruntime-gpu[cuda,cudnn]"``) puts them under the environment's
    ``site-packages/nvidia``, which the loader never looks in, so without this the provider
    still fails to load and the models fall back to the CPU (onnxruntime-gpu 1.31.1, read from
    its wheel on 2026-12-04). ``onnxruntime.preload_dlls`` (1.21 and later) opens them from
    there, or from a compatible PyTorch, and leaves system-wide CUDA to the loader. It prints
    its warnings: they go to the debug log, not to the user's terminal."""
    global _gpu_libraries_preloaded
    if _gpu_libraries_preloaded:
        return
    _gpu_libraries_preloaded = True
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:  # older builds: system-wide CUDA only
        return
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):
            preload()
    except Exception as exc:  # a library that cannot load is said by the session's refusal
        log.debug("onnxruntime.preload_dlls failed: %s", exc)
    for line in said.getvalue().splitlines():
        if line.strip():
            log.debug("onnxruntime.preload_dlls: %s", _ANSI.sub("", line).strip())


def _onnxruntime() -> Any:
    """``onnxruntime``, imported with its telemetry off.

    ``import pipelines`` has set ``ORT_DISABLE_TELEMETRY=1`` before any camfx module could import
    ONNX Runtime (see ``pipelines/__init__.py``), which keeps the 1DS uploader from starting.
    The runtime switch below also stops the events that Windows' ETW provider would offer to a
    trace session. If a host process imported onnxruntime before camfx, the uploader may
    already run; that is said once, loudly, since camfx promises no network connection.
    """
    global _offline_checked
    import onnxruntime as ort

    if not _offline_checked:
        _offline_checked = True
        import pipelines

        with contextlib.suppress(Exception):  # absent from some builds
            ort.disable_telemetry_events()
        if pipelines.ONNXRUNTIME_IMPORTED_EARLIER:
            log.warning(
                "onnxruntime was imported before camfx could switch its telemetry off; "
                "import camfx's pipelines first, or set ORT_DISABLE_TELEMETRY=1"
            )
    return ort


def short_name(provider: str) -> str:
    return provider.removesuffix("ExecutionProvider").replace("Tensorrt", "TensorRT")


def parse_providers(spec: str | Sequence[str] | None) -> list[str] | None:
    """``"auto"``/None → None (automatic), ``"cuda,cpu"`` → full provider names."""
    if spec is None:
        spec = os.environ.get("CAMFX_PROVIDERS", "auto")
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    if items in (["auto"], [""], []):
        return None
    out: list[str] = []
    for item in items:
        full = SHORT_NAMES.get(item.lower(), item)
        if full not in PREFERENCE:
            known = ", ".join(sorted(set(SHORT_NAMES)))
            raise ModelError(f"unknown inference provider {item!r}; use auto or one of {known}")
        if full not in out:
            out.append(full)
    if "CPUExecutionProvider" not in out:
        out.append("CPUExecutionProvider")
    return out


@dataclass
class ProviderReport:
    model: str
    provider: str
    """The provider the session really runs on (its first in ``get_providers()``)."""
    refused: dict[str, str] = field(default_factory=dict)
    """Provider → why it was not used."""
    note: str = ""
    """Why the CPU, when no provider was refused (e.g. "no NVIDIA GPU driver")."""
    cuda_graph: bool = False
    """The session replays its kernels as one CUDA graph (see :data:`CUDA_GRAPH_ENV`)."""
    graph_refused: str = ""
    """Why a CUDA graph was asked for and not made (the session runs without one)."""

    @property
    def fell_back(self) -> bool:
        return bool(self.refused)

    def summary(self) -> str:
        text = f"{self.model}: {short_name(self.provider)}"
        why = [f"{short_name(p)} refused: {r}" for p, r in self.refused.items()]
        if self.cuda_graph:
            text += " as a CUDA graph"
        if self.graph_refused:
            why.append(f"CUDA graph refused: {self.graph_refused}")
        if self.note or why:
            text += f" ({'; '.join([self.note, *why] if self.note else why)})"
        return text


# fd 2 is process-wide: two captures at once (two factories on two threads) would save each
# other's temporary file as "the real stderr" and leave fd 2 pointing at a deleted file.
_capture_lock = threading.Lock()
NATIVE_STDERR_LOCK = _capture_lock
"""Held by whatever points fd 2 elsewhere for a while and back: ONNX Runtime's capture here,
PortAudio's initialisation at ``import sounddevice`` (:func:`pipelines.audio.inputs.
_sounddevice`), which points it at /dev/null."""
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ORT_LOG_LINE = re.compile(r"\[[VIWEF]:onnxruntime:")


@contextlib.contextmanager
def captured_native_stderr(said_by: re.Pattern[str] = _ORT_LOG_LINE) -> Iterator[list[str]]:
    """Collect what native code writes to fd 2 (ONNX Runtime's logger, or the lines
    ``said_by`` matches: a picture decoder's) into a list of lines.

    Lines that are not its own (another thread's log record written meanwhile) are written to
    the real stderr once the capture ends, so nothing else is lost.
    """
    lines: list[str] = []
    with _capture_lock:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 (some GUI launches): nothing to capture
            yield lines
            return
        with tempfile.TemporaryFile(mode="w+b") as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                yield lines
            finally:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                text = _ANSI.sub("", tmp.read().decode("utf-8", "replace"))
                lines.extend(line for line in text.splitlines() if line.strip())
        others = [line for line in lines if not said_by.search(line)]
        if others:
            with contextlib.suppress(Exception):
                sys.stderr.write("\n".join(others) + "\n")
                sys.stderr.flush()
        for line in lines:
            log.debug("native: %s", line)


_ERROR_LINE = re.compile(r"\[E:onnxruntime:[^\]]*\]\s*(.*)")
_LIBRARY_ERROR = re.compile(r"(lib[\w.\-]+\.so[\w.]*|[\w.\-]+\.dll): ([^\n]+)")
_REQUIREMENT = re.compile(r"(Require [\w-]+ \d+\.\*(?: and [\w-]+ \d+\.\*)*)")


def _reason_from_log(lines: list[str], exc: BaseException | None = None) -> str:
    """The most useful words for why a provider did not load: the missing library from ONNX
    Runtime's log (e.g. "libcublasLt.so.13: cannot open shared object file"), with the
    requirement it states ("Require cuDNN 9.* and CUDA 13.*"), else the exception's first line."""
    reason = ""
    for line in lines:
        m = _ERROR_LINE.search(line)
        if m:
            text = m.group(1).strip()
            lib = _LIBRARY_ERROR.search(text)
            reason = lib.group(0) if lib else text
            break
    if not reason and exc is not None and str(exc).strip():
        reason = str(exc).strip().splitlines()[0]
    if not reason:
        reason = next(
            (ln.strip() for ln in lines if "error" in ln.lower() or "fail" in ln.lower()), ""
        )
    if not reason:
        return "ONNX Runtime fell back to CPU without saying why"
    for line in lines:
        req = _REQUIREMENT.search(line)
        if req:
            reason = f"{reason} (needs {req.group(1).removeprefix('Require ')})"
            break
    return reason[:300]


class SessionFactory:
    """Creates sessions; remembers which providers failed so each is tried once a process."""

    def __init__(
        self,
        providers: str | Sequence[str] | None = None,
        *,
        intra_op_threads: int | None = None,
        allow_spinning: bool = False,
        cuda_graph: bool | None = None,
    ) -> None:
        self.requested = parse_providers(providers)
        if cuda_graph is None:
            cuda_graph = env_flag(CUDA_GRAPH_ENV, default=True)
        self.cuda_graph = cuda_graph
        cpus = os.cpu_count() or 2
        # Small models (1-5 ms): beyond 2-4 threads the sync cost eats the gain, and camfx runs
        # capture, processing and output threads beside inference.
        self.intra_op_threads = intra_op_threads or max(1, min(4, cpus // 2 if cpus > 4 else cpus))
        # Spinning worker threads burn a core while idle between frames; off by default so a
        # game running beside the call keeps its CPU (the cost is ~0.1 ms of wake-up).
        self.allow_spinning = allow_spinning
        self._refused: dict[str, str] = {}
        self._lock = threading.Lock()
        self.reports: dict[str, ProviderReport] = {}

    def candidates(self) -> list[str]:
        ort = _onnxruntime()

        available = set(ort.get_available_providers())
        # Automatic choice: no GPU provider without its driver (no library errors, no delay).
        wanted = self.requested or [p for p in PREFERENCE if not gpu.skip_reason(p)]
        chosen = [p for p in wanted if p in available]
        return chosen or ["CPUExecutionProvider"]

    def unavailable(self) -> dict[str, str]:
        """Explicitly requested providers this ONNX Runtime build does not have, with why."""
        ort = _onnxruntime()

        available = ort.get_available_providers()
        listed = ", ".join(short_name(p) for p in available)
        return {
            p: f"not in this ONNX Runtime build (it has {listed})"
            for p in self.requested or []
            if p not in available
        }

    def session_options(self) -> Any:
        ort = _onnxruntime()

        so = ort.SessionOptions()
        so.intra_op_num_threads = self.intra_op_threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        spin = "1" if self.allow_spinning else "0"
        so.add_session_config_entry("session.intra_op.allow_spinning", spin)
        # No inter-op pool runs with one inter-op thread and sequential execution; said anyway,
        # so a later change to either cannot bring back threads that spin between frames.
        so.add_session_config_entry("session.inter_op.allow_spinning", spin)
        so.log_severity_level = 3
        return so

    def create(
        self, model_path: str, name: str | None = None, *, fixed_shapes: bool = False
    ) -> tuple[Any, ProviderReport]:
        """A session for ``model_path`` on the first provider that really loads.

        With :attr:`cuda_graph` on, a model whose inputs and outputs all have fixed shapes
        (``fixed_shapes``) is first tried on CUDA as a CUDA graph; if ONNX Runtime will not
        make one (a node it keeps on the CPU), the plain CUDA session is made and the report
        says why.

        Each non-CPU provider is tried alone (with ONNX Runtime's own fallback switched off, so
        it neither prints its "EP Error" banner nor builds a throw-away CPU session); its log
        is captured and turned into the refusal reason. A refused provider is not tried again
        by this factory.
        """
        try:
            ort = _onnxruntime()
        except ImportError as exc:
            raise ModelError(f"{gpu.missing_runtime_message()} ({exc})") from exc

        name = name or os.path.basename(model_path)
        refused: dict[str, str] = dict(self.unavailable())
        # Refusals by exception are remembered only once another provider has loaded this
        # model: a broken model file fails on every provider and says nothing about the GPU.
        pending: dict[str, str] = {}
        with self._lock:
            candidates = self.candidates()
            for index, provider in enumerate(candidates):
                if provider in self._refused:
                    refused[provider] = self._refused[provider]
                    continue
                if gpu.skip_reason(provider):  # asked for by name, but there is no driver
                    refused[provider] = self._refused[provider] = str(gpu.skip_reason(provider))
                    continue
                if provider in gpu.GPU_ONLY_PROVIDERS:
                    _preload_gpu_libraries(ort)
                chain = (
                    [provider]
                    if provider == "CPUExecutionProvider"
                    else [provider, "CPUExecutionProvider"]
                )
                error: Exception | None = None
                lines: list[str] = []
                session: Any = None
                graph_refused = ""
                if (
                    self.cuda_graph
                    and fixed_shapes
                    and provider == "CUDAExecutionProvider"
                    and "CUDAExecutionProvider" not in self._refused
                ):
                    session, graph_refused = self._graph_session(ort, model_path)
                as_graph = session is not None
                if not as_graph:
                    session, error, lines = self._open(
                        ort, model_path, chain, on_gpu=provider in gpu.GPU_ONLY_PROVIDERS
                    )
                if session is None:
                    assert error is not None
                    if provider == "CPUExecutionProvider":
                        why = str(error).strip().splitlines()[0][:300] if str(error) else ""
                        raise ModelError(
                            f"model {name} ({model_path}) could not be loaded: "
                            f"{why or repr(error)}; reinstall camfx or rebuild the models"
                        ) from error
                    refused[provider] = pending[provider] = _reason_from_log(lines, error)
                    continue
                got = session.get_providers()[0]
                if got != provider:
                    # ONNX Runtime fell back to CPU by itself (CUDA whose libraries are missing).
                    refused[provider] = self._refused[provider] = gpu.with_fix(
                        provider, _reason_from_log(lines), ort.__version__
                    )
                    rest = [p for p in candidates[index + 1 :] if p not in self._refused]
                    if rest and rest[0] != got:
                        continue  # a better provider is still to be tried
                self._refused.update(pending)
                note = ""
                if got == "CPUExecutionProvider" and not refused and self.requested is None:
                    note = gpu.cpu_note(ort.get_available_providers())
                report = ProviderReport(name, got, refused, note)
                report.cuda_graph = as_graph
                report.graph_refused = graph_refused
                self.reports[name] = report
                with _process_lock:
                    PROCESS_REPORTS[name] = report
                    new = set(refused.items()) - _warned_refusals
                    _warned_refusals.update(new)
                    repeated_note = bool(note) and ("", note) in _warned_refusals
                    _warned_refusals.add(("", note))
                # Say a refused GPU loudly once per process, not once per model; the CPU's
                # reason ("no NVIDIA GPU driver") is one info line a process, too.
                level = logging.DEBUG if repeated_note else logging.INFO
                log.log(logging.WARNING if new else level, "%s", report.summary())
                return session, report
        raise ModelError(f"model {name}: no inference provider could load it")  # pragma: no cover

    def _open(
        self, ort: Any, model_path: str, chain: list[Any], *, on_gpu: bool
    ) -> tuple[Any, Exception | None, list[str]]:
        """ONNX Runtime's session on ``chain`` (its own fallback off), or None and the error;
        with what it logged. A GPU session being made allocates on the device: never during
        a CUDA graph's capture."""
        session: Any = None
        error: Exception | None = None
        with (
            CAPTURE_GUARD.device_work() if on_gpu else contextlib.nullcontext(),
            captured_native_stderr() as lines,
        ):
            try:
                session = ort.InferenceSession(
                    model_path,
                    sess_options=self.session_options(),
                    providers=chain,
                    enable_fallback=0,
                )
            except Exception as exc:
                error = exc
        # The log's lines are complete only once the capture has ended.
        return session, error, lines

    def _graph_session(self, ort: Any, model_path: str) -> tuple[Any, str]:
        """A CUDA session that captures a CUDA graph, or None and why ONNX Runtime refused.

        Any failure here leaves the plain CUDA session to be tried: a refusal of the graph says
        nothing about CUDA itself."""
        options = {"enable_cuda_graph": "1"}
        chain = [("CUDAExecutionProvider", options), "CPUExecutionProvider"]
        session, error, lines = self._open(ort, model_path, chain, on_gpu=True)
        if session is None:
            return None, _reason_from_log(lines, error)
        if session.get_providers()[0] != "CUDAExecutionProvider":
            return None, "ONNX Runtime put the session on " + short_name(session.get_providers()[0])
        return session, ""


_default: SessionFactory | None = None
_default_lock = threading.Lock()

PROCESS_REPORTS: dict[str, ProviderReport] = {}
"""The latest report per model name, from every factory of this process (bench, GUI status)."""
_warned_refusals: set[tuple[str, str]] = set()
_process_lock = threading.Lock()


def all_reports() -> dict[str, ProviderReport]:
    with _process_lock:
        return dict(PROCESS_REPORTS)


def default_factory() -> SessionFactory:
    """The process-wide factory (providers from $CAMFX_PROVIDERS, default auto)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SessionFactory()
        return _default


def set_default_factory(factory: SessionFactory) -> None:
    global _default
    with _default_lock:
        _default = factory
